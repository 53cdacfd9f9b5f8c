"""SessionReader: random access to a recorded session folder (format.py), including one whose writer was killed.

Frames are the complete lines of frames.jsonl whose depth PNG exists; a partial last line, a line that is not
JSON, a line whose fields have the wrong types (or name a file outside the session folder), or a line naming a
missing PNG is skipped (counted in `skipped`), so a session cut off or damaged anywhere replays every complete
frame. A PNG that exists but does not decode is found when its frame is read (SourceError; SessionSource skips
it). Imports numpy, cv2 (through format.py) and app foundation only.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path, PurePosixPath

import numpy as np

from app.camera import Intrinsics
from app.errors import InputError, SourceError
from app.recording.format import FORMAT_NAME, FORMAT_VERSION, FRAMES_JSONL, SESSION_JSON, decode_depth_png
from app.types import DepthFrame, HandGroundTruth, readonly

_REQUIRED = ("index", "frame_number", "timestamp_ms", "depth")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _usable(entry, folder: Path) -> bool:
    """A frames.jsonl entry whose fields can be used as they are (the checks a damaged line fails)."""
    if not isinstance(entry, dict) or any(k not in entry for k in _REQUIRED):
        return False
    if not all(isinstance(entry[k], int) and not isinstance(entry[k], bool) for k in ("index", "frame_number")):
        return False
    if not _number(entry["timestamp_ms"]) or not isinstance(entry["depth"], str):
        return False
    name = PurePosixPath(entry["depth"])
    if name.is_absolute() or ".." in name.parts or not name.parts or "\\" in entry["depth"]:
        return False          # only files inside the session folder
    if "intrinsics" in entry:
        try:
            Intrinsics.from_dict(entry["intrinsics"])
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError, InputError):
            return False
    gt = entry.get("gt_xyz_mm")
    if gt is not None:
        try:
            arr = np.asarray(gt, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        if arr.ndim != 2 or arr.shape[1] != 3 or not np.all(np.isfinite(arr)):
            return False
    if entry.get("gt_hand") not in (None, "right", "left"):
        return False
    if "gt_hands" in entry and _hand_truths(entry["gt_hands"]) is None:
        return False
    return (folder / entry["depth"]).is_file()


def _hand_truths(value) -> tuple[HandGroundTruth, ...] | None:
    """A line's gt_hands ([{hand, xyz_mm: 21 x 3}, ...]) as HandGroundTruths, None when malformed."""
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if not isinstance(item, dict) or item.get("hand") not in ("right", "left"):
            return None
        try:
            arr = np.asarray(item.get("xyz_mm"), dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if arr.ndim != 2 or arr.shape[1] != 3 or not np.all(np.isfinite(arr)):
            return None
        out.append(HandGroundTruth(item["hand"], readonly(arr)))
    return tuple(out)


def is_session(path: str | Path) -> bool:
    """True when `path` is a folder that holds a session.json."""
    path = Path(path)
    return path.is_dir() and (path / SESSION_JSON).is_file()


def _load_meta(directory: Path) -> dict:
    try:
        meta = json.loads((directory / SESSION_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{directory} is not a recorded session (no {SESSION_JSON})") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise InputError(f"{directory / SESSION_JSON} is unreadable: {(str(e).splitlines() or ['damaged'])[0]}"
                         ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise InputError(f"{directory / SESSION_JSON} is not an {FORMAT_NAME} file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"{directory} was written in session format {version!r}; this program reads up to "
                         f"{FORMAT_VERSION}")
    return meta


class SessionReader:
    """meta: session.json as a dict; len(reader): usable frames; frame(i): DepthFrame i (index = i, 0-based
    position in the session); result(i): the stored per-frame result dict or None; entry(i): the raw line;
    intrinsics: the session's (from session.json); skipped: lines ignored (partial, corrupt, PNG missing)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory)
        if not self.path.exists():
            raise InputError(f"session folder not found: {self.path}")
        if not self.path.is_dir():
            raise InputError(f"{self.path} is not a session folder")
        self.meta = _load_meta(self.path)
        intr = self.meta.get("intrinsics")
        try:
            self.intrinsics: Intrinsics | None = Intrinsics.from_dict(intr) if intr else None
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError, InputError) as e:
            raise InputError(f"{self.path / SESSION_JSON}: bad intrinsics ({e})") from None
        self.skipped = 0
        self._entries = self._load_entries()

    def _load_entries(self) -> list[dict]:
        try:
            raw = (self.path / FRAMES_JSONL).read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise InputError(f"cannot read {self.path / FRAMES_JSONL}: {e.strerror or e}") from None
        entries = []
        lines = raw.split(b"\n")
        # The text after the last newline is a line the writer had not finished (or nothing at all).
        complete, tail = lines[:-1], lines[-1]
        if tail.strip():
            self.skipped += 1
        for line in complete:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):   # not JSON (UnicodeDecodeError is a ValueError)
                self.skipped += 1
                continue
            if not _usable(entry, self.path) or ("intrinsics" not in entry and self.intrinsics is None):
                self.skipped += 1
                continue
            entries.append(entry)
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, i: int) -> dict:
        if not 0 <= i < len(self._entries):
            raise InputError(f"session {self.path.name}: frame {i} out of range (0..{len(self._entries) - 1})")
        return self._entries[i]

    def result(self, i: int) -> dict | None:
        return self.entry(i).get("result")

    def frame_intrinsics(self, i: int) -> Intrinsics:
        entry = self.entry(i)
        if "intrinsics" in entry:
            return Intrinsics.from_dict(entry["intrinsics"])
        if self.intrinsics is None:
            raise SourceError(f"session {self.path.name} has no intrinsics in {SESSION_JSON}")
        return self.intrinsics

    def frame(self, i: int, arrival_s: float | None = None) -> DepthFrame:
        """Frame i with its recorded frame number and timestamp; arrival_s = now (perf_counter) unless given."""
        entry = self.entry(i)
        depth = decode_depth_png(self.path / entry["depth"])
        if depth is None:
            raise SourceError(f"session {self.path.name}: {entry['depth']} is not a readable 16-bit PNG")
        intr = self.frame_intrinsics(i)
        if depth.shape != (intr.height, intr.width):
            raise SourceError(f"session {self.path.name}: {entry['depth']} is {depth.shape[1]}x{depth.shape[0]}, "
                              f"intrinsics say {intr.width}x{intr.height}")
        gt = entry.get("gt_xyz_mm")
        return DepthFrame(index=i, frame_number=int(entry["frame_number"]),
                          timestamp_ms=float(entry["timestamp_ms"]),
                          arrival_s=time.perf_counter() if arrival_s is None else arrival_s,
                          depth_raw=readonly(depth), intrinsics=intr,
                          gt_xyz_mm=readonly(np.asarray(gt, dtype=np.float64)) if gt is not None else None,
                          gt_hand=entry.get("gt_hand"), gt_hands=_hand_truths(entry.get("gt_hands", [])) or ())

    def nominal_fps(self) -> float:
        """The source's fps from session.json, else the median frame interval's, else 30."""
        source = self.meta.get("source")
        if isinstance(source, dict) and _number(source.get("fps")) and source["fps"] > 0:
            return float(source["fps"])
        stamps = np.array([e["timestamp_ms"] for e in self._entries[:300]], dtype=np.float64)
        steps = np.diff(stamps)
        steps = steps[steps > 0]
        return float(1000.0 / np.median(steps)) if steps.size else 30.0
