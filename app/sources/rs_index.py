"""Count the depth frames in a RealSense recording without decoding it (librealsense does not expose a count).

.db3 (rosbag2, SDK >= 2.58) is an SQLite file: count the messages of the depth image topic.
.bag (ROS1 bag v2.0, RealSense Viewer / SDK <= 2.57): read the bag's index at its end (connection records name
the topics; chunk-info records hold per-connection message counts). Both return None when the file has no index
(a recording that was cut off) or is not what it claims; the caller then reports the count as unknown.
Imports the standard library only.
"""
from __future__ import annotations

import re
import sqlite3
import struct
from pathlib import Path

RECORDING_SUFFIXES = (".bag", ".db3")   # the RealSense recordings (app/sources/rsfile.py plays them)

# The first device's depth image stream: ".../Depth_0/image/data", in .db3 with a "/compressedDepth" suffix.
_DEPTH_TOPIC = re.compile(r"^/device_0/sensor_\d+/Depth_0/image/data(/compressedDepth)?$")
_BAG_MAGIC = b"#ROSBAG V2.0\n"
_OP_BAG_HEADER, _OP_CONNECTION, _OP_CHUNK_INFO = 0x03, 0x07, 0x06


def count_depth_frames(path: str | Path) -> int | None:
    """Number of depth frames of the first device in a .bag or .db3 recording, or None when unknown."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".db3":
            return _count_db3(path)
        if path.suffix.lower() == ".bag":
            return _count_bag(path)
    except (OSError, sqlite3.Error, struct.error, ValueError, KeyError, TypeError, OverflowError, MemoryError):
        return None   # damaged: the count is unknown (playing it tells the user what is wrong)
    return None


def _count_db3(path: Path) -> int | None:
    con = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    con.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        topics = con.execute("SELECT id, name FROM topics").fetchall()
        ids = [tid for tid, name in topics if isinstance(name, str) and _DEPTH_TOPIC.match(name)]
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        (count,) = con.execute(f"SELECT COUNT(*) FROM messages WHERE topic_id IN ({marks})", ids).fetchone()
        return int(count)
    finally:
        con.close()


def _read_record(f) -> tuple[dict[str, bytes], bytes] | None:
    """One ROS1 bag record: header fields (name -> raw bytes) and data; None at the end of the file."""
    raw = f.read(4)
    if len(raw) < 4:
        return None
    (header_len,) = struct.unpack("<I", raw)
    header = f.read(header_len)
    (data_len,) = struct.unpack("<I", f.read(4))
    data = f.read(data_len)
    if len(header) != header_len or len(data) != data_len:
        raise ValueError("truncated bag record")
    fields, i = {}, 0
    while i < len(header):
        (field_len,) = struct.unpack_from("<I", header, i)
        name, _, value = header[i + 4:i + 4 + field_len].partition(b"=")
        fields[name.decode("ascii")] = value
        i += 4 + field_len
    return fields, data


def _count_bag(path: Path) -> int | None:
    with open(path, "rb") as f:
        if f.read(len(_BAG_MAGIC)) != _BAG_MAGIC:
            return None
        rec = _read_record(f)
        if rec is None or rec[0].get("op") != bytes([_OP_BAG_HEADER]):
            return None
        (index_pos,) = struct.unpack("<Q", rec[0]["index_pos"])
        if index_pos == 0:  # the recorder never wrote its index (killed mid-recording)
            return None
        f.seek(index_pos)
        depth_conns: set[int] = set()
        count = 0
        while (rec := _read_record(f)) is not None:
            fields, data = rec
            op = fields.get("op")
            if op == bytes([_OP_CONNECTION]):
                if _DEPTH_TOPIC.match(fields["topic"].decode("utf-8", "replace")):
                    depth_conns.add(struct.unpack("<I", fields["conn"])[0])
            elif op == bytes([_OP_CHUNK_INFO]):
                for k in range(len(data) // 8):
                    conn, n = struct.unpack_from("<II", data, 8 * k)
                    if conn in depth_conns:
                        count += n
        return count if depth_conns else None
