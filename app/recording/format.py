"""The session format: what a recording folder holds, and the helpers that read and write its pieces.

A session is a FOLDER (format "awr-hand-session", version 1):

    session.json          metadata, one JSON object (rewritten only by atomic rename)
    frames.jsonl          one JSON object per completed frame, appended in order
    depth/000000.png      the raw depth of each frame: 16-bit single-channel PNG, lossless

session.json keys: format, format_version, created_utc (ISO 8601), closed_utc (null until the writer closed it
cleanly), frame_count (null until closed), intrinsics {width, height, fx, fy, cx, cy (px), depth_unit_mm} of the
first frame, depth_unit_mm (copy of intrinsics.depth_unit_mm: millimetres per raw depth unit), and whatever the
caller passed, conventionally: source {kind, name, fps, ...}, device {name, serial, firmware, ...},
model {...}, tracker {...}, app {...}.

frames.jsonl: one line per frame, keys
    index          0-based position in the recording run (gaps where the live pipeline dropped frames)
    frame_number   the device's / recording's own frame counter
    timestamp_ms   device clock, ms
    arrival_s      host arrival time, seconds since the writer started
    depth          file name relative to the session folder, e.g. "depth/000042.png"
    intrinsics     only when this frame's intrinsics differ from session.json's
    gt_xyz_mm, gt_hand   only for sources with ground truth (synthetic)
    gt_hands       only for sources showing several hands with ground truth (two-hand synthetic scenes):
                   [{hand: 'right' | 'left', xyz_mm: J x 3}, ...]
    result         the caller's per-frame dict or null, conventionally: status, hand, joint_names,
                   joints_xyz_mm (J x 3, camera frame x right, y down, z forward), joints_uv_px (J x 2),
                   confidence (J), timings_ms {stage: ms}
Depth PNGs hold the raw sensor units unchanged (mm = value * depth_unit_mm; 0 = no depth); any tool that
reads 16-bit PNG opens them (OpenCV IMREAD_UNCHANGED, PIL mode "I;16", ImageMagick).

Crash safety: each PNG is written to a temporary name, fsynced and renamed BEFORE its JSONL line is appended and
flushed, so a line never names a missing or partial PNG. A process killed at any moment leaves a session whose
frames.jsonl may end in a partial line (ignored by the reader) and possibly one orphan PNG (unlisted, ignored):
it replays up to its last completed frame. docs/session_format.md is the user-facing copy of this description.
Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import os
from pathlib import Path

import cv2
import numpy as np


FORMAT_NAME = "awr-hand-session"
FORMAT_VERSION = 1
SESSION_JSON = "session.json"
FRAMES_JSONL = "frames.jsonl"
DEPTH_DIR = "depth"

# zlib level 1 with run-length strategy and the Sub filter: ~11 ms for a 640x480 frame on one core, ~250 KB,
# within ~1 % of the size that level 3 and adaptive filters reach at 3x the cost (measured on noisy depth).
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
               cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]


def depth_file_name(index: int) -> str:
    """Relative path of frame `index`'s depth PNG (at least six digits; more for very long sessions)."""
    return f"{DEPTH_DIR}/{index:06d}.png"


def encode_depth_png(depth_raw: np.ndarray) -> bytes:
    """H x W uint16 raw depth -> lossless 16-bit PNG bytes."""
    if depth_raw.dtype != np.uint16 or depth_raw.ndim != 2:
        raise ValueError(f"depth must be an H x W uint16 image, got {depth_raw.dtype} {depth_raw.shape}")
    ok, buf = cv2.imencode(".png", depth_raw, _PNG_PARAMS)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def decode_depth_png(path: str | Path) -> np.ndarray | None:
    """A 16-bit depth PNG -> H x W uint16, or None when missing, unreadable or not 16-bit single-channel."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None or img.dtype != np.uint16 or img.ndim != 2:
        return None
    return img


def jsonable(obj):
    """Numbers, arrays, enums, dataclasses, tuples -> plain JSON types (NaN/inf become null: JSON has none)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, enum.Enum):
        return jsonable(obj.value)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if np.isfinite(value) else None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def dumps_line(obj: dict) -> str:
    """One JSONL line (compact, no newline inside, ends with a newline)."""
    return json.dumps(jsonable(obj), separators=(",", ":"), allow_nan=False) + "\n"


def write_json_atomic(path: Path, obj: dict) -> None:
    """Write a JSON file so that readers see either the old or the new content, never a partial one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make renames inside `directory` durable (no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(str(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
