"""Per-camera settings stored as small JSON files (calibration/NAME.json; calibration/README.md documents them):
intrinsics and depth-scale overrides, the depth band where a hand is looked for, the crop cube, One Euro
smoothing and the tracked hand.

    python -m app.calibration --source realsense --out calibration/my_d435.json
    python -m app.calibration --source recording.bag --out calibration/from_bag.json

writes one from a connected camera or a recording (.bag/.db3/session folder; PNGs need --intrinsics), filling
intrinsics and depth scale from the device or the file. Loading validates every field and fails with one line
naming the file and the field. Imports app foundation only (the __main__ command also uses app.sources).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from app.camera import Intrinsics
from app.config import HANDS
from app.errors import InputError, TrackerError
from app.tracking.localise import LocaliserConfig
from app.tracking.smoothing import SmoothingConfig

_LOC, _SMOOTH = LocaliserConfig(), SmoothingConfig()   # the defaults live with the stages that use them

CALIBRATION_FORMAT = "awr-hand-calibration"
CALIBRATION_VERSION = 1
_INTRINSIC_KEYS = ("width", "height", "fx", "fy", "cx", "cy")


@dataclass(frozen=True)
class CameraCalibration:
    """intrinsics: pinhole override (size px, fx, fy, cx, cy px; None = the stream's own, which is right for a
    RealSense camera); depth_unit_mm: mm per raw depth unit (None = the stream's); near_mm / far_mm: depth band
    searched for the hand; cube_mm: crop cube side (None = the model's); min_cutoff_hz, beta (1/mm),
    d_cutoff_hz: One Euro smoothing; hand: 'right' | 'left'; camera_name / camera_serial: where it came from."""

    intrinsics: Intrinsics | None = None
    depth_unit_mm: float | None = None
    near_mm: float = _LOC.near_mm
    far_mm: float = _LOC.far_mm
    cube_mm: float | None = None
    min_cutoff_hz: float = _SMOOTH.min_cutoff_hz
    beta: float = _SMOOTH.beta
    d_cutoff_hz: float = _SMOOTH.d_cutoff_hz
    hand: str = "right"
    camera_name: str | None = None
    camera_serial: str | None = None

    def __post_init__(self) -> None:
        if self.depth_unit_mm is not None and not self.depth_unit_mm > 0:
            raise InputError(f"calibration: depth_unit_mm must be positive, got {self.depth_unit_mm}")
        if not 0 <= self.near_mm < self.far_mm:
            raise InputError(f"calibration: need 0 <= near_mm < far_mm, got {self.near_mm} and {self.far_mm}")
        if self.cube_mm is not None and not self.cube_mm > 0:
            raise InputError(f"calibration: cube_mm must be positive, got {self.cube_mm}")
        if not (self.min_cutoff_hz > 0 and self.d_cutoff_hz > 0 and self.beta >= 0):
            raise InputError("calibration: need min_cutoff_hz > 0, d_cutoff_hz > 0 and beta >= 0")
        if self.hand not in HANDS:
            raise InputError(f"calibration: hand must be 'right' or 'left', got '{self.hand}'")

    def resolve_intrinsics(self, stream: Intrinsics | None) -> Intrinsics:
        """The intrinsics to use for a stream: this calibration's overrides on top of the stream's own.
        stream None (e.g. PNG files) needs the calibration to carry intrinsics."""
        if stream is None:
            if self.intrinsics is None:
                raise InputError("the calibration file has no intrinsics, and the source provides none")
            base = self.intrinsics
        else:
            base = self.intrinsics if self.intrinsics is not None else stream
            if (base.width, base.height) != (stream.width, stream.height):
                raise InputError(f"calibration intrinsics are for {base.width}x{base.height} images but the "
                                 f"stream is {stream.width}x{stream.height}")
        unit = self.depth_unit_mm if self.depth_unit_mm is not None else (
            stream.depth_unit_mm if stream is not None else base.depth_unit_mm)
        if stream is not None and base == stream and unit == stream.depth_unit_mm:
            return stream
        return Intrinsics(base.width, base.height, base.fx, base.fy, base.cx, base.cy, unit)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["intrinsics"] = ({k: getattr(self.intrinsics, k) for k in _INTRINSIC_KEYS}
                           if self.intrinsics is not None else None)
        return {"format": CALIBRATION_FORMAT, "format_version": CALIBRATION_VERSION, **d}


def _number(name: str, value, where: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: '{name}' must be a number{' or null' if allow_none else ''}, got {value!r}")
    return float(value)


def calibration_from_dict(data, where: str = "calibration") -> CameraCalibration:
    """Validate a parsed calibration JSON object; errors are one line starting with `where`."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if data.get("format", CALIBRATION_FORMAT) != CALIBRATION_FORMAT:
        raise InputError(f"{where}: not a calibration file (format '{data.get('format')}')")
    version = data.get("format_version", CALIBRATION_VERSION)
    if not isinstance(version, int) or version > CALIBRATION_VERSION:
        raise InputError(f"{where}: format_version {version!r} is newer than this program understands "
                         f"({CALIBRATION_VERSION})")
    known = {f.name for f in fields(CameraCalibration)} | {"format", "format_version"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    kwargs: dict = {}
    unit = _number("depth_unit_mm", data.get("depth_unit_mm"), where, allow_none=True)
    kwargs["depth_unit_mm"] = unit
    intr = data.get("intrinsics")
    if intr is not None:
        if not isinstance(intr, dict) or set(intr) != set(_INTRINSIC_KEYS):
            raise InputError(f"{where}: 'intrinsics' must be null or an object with exactly "
                             f"{', '.join(_INTRINSIC_KEYS)}")
        values = {k: _number(f"intrinsics.{k}", intr[k], where) for k in _INTRINSIC_KEYS}
        if not (values["width"].is_integer() and values["height"].is_integer()):
            raise InputError(f"{where}: intrinsics width and height must be whole pixels")
        try:
            kwargs["intrinsics"] = Intrinsics(int(values["width"]), int(values["height"]), values["fx"],
                                              values["fy"], values["cx"], values["cy"], unit or 1.0)
        except InputError as e:
            raise InputError(f"{where}: {e}") from None
    for name in ("near_mm", "far_mm", "min_cutoff_hz", "beta", "d_cutoff_hz"):
        if name in data:
            kwargs[name] = _number(name, data[name], where)
    if "cube_mm" in data:
        kwargs["cube_mm"] = _number("cube_mm", data["cube_mm"], where, allow_none=True)
    for name in ("hand", "camera_name", "camera_serial"):
        if name in data and data[name] is not None:
            if not isinstance(data[name], str):
                raise InputError(f"{where}: '{name}' must be a string, got {data[name]!r}")
            kwargs[name] = data[name]
    try:
        return CameraCalibration(**kwargs)
    except InputError as e:
        raise InputError(f"{where}: {str(e).removeprefix('calibration: ')}") from None


def load_calibration(path: str | Path) -> CameraCalibration:
    """Read and validate a calibration file. InputError (one line) when missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"calibration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read calibration file {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"calibration file {path}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
                         ) from None
    return calibration_from_dict(data, f"calibration file {path}")


def save_calibration(calibration: CameraCalibration, path: str | Path) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(calibration.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write calibration file {path}: {e.strerror or e}") from None


def calibration_from_source(spec: str, intrinsics_text: str | None = None, depth_unit_mm: float | None = None,
                            timeout_s: float = 5.0, **settings) -> CameraCalibration:
    """Open a source ('realsense' or a recording path), read one frame, and return a calibration holding its
    intrinsics and depth scale plus `settings` (near_mm, far_mm, cube_mm, hand, smoothing)."""
    from app.sources.factory import open_source  # the sources package is needed only by this command

    source = open_source(spec, intrinsics_text=intrinsics_text, depth_unit_mm=depth_unit_mm, calibration=None,
                         realtime=False, synthetic_kwargs=None)
    with source:
        frame = source.read(timeout_s)
        info = source.info
    if frame is None:
        raise InputError(f"{spec}: the source has no frames to read intrinsics from")
    intr = frame.intrinsics
    return CameraCalibration(intrinsics=intr, depth_unit_mm=intr.depth_unit_mm,
                             camera_name=info.device.get("name") or info.name,
                             camera_serial=info.device.get("serial"), **settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.calibration",
                                     description="Write a calibration file from a camera or a recording.")
    parser.add_argument("--source", required=True, help="'realsense' or a .bag/.db3/session/PNG path")
    parser.add_argument("--out", required=True, help="calibration JSON to write, e.g. calibration/my_d435.json")
    parser.add_argument("--intrinsics", help="fx,fy,cx,cy in pixels (needed for PNG sources)")
    parser.add_argument("--depth-scale", type=float, metavar="MM_PER_UNIT",
                        help="millimetres per raw depth unit (PNG sources; default 1.0)")
    parser.add_argument("--hand", choices=HANDS, help="the tracked hand (default right)")
    parser.add_argument("--near-mm", type=float, help="near end of the hand's depth band (default 150)")
    parser.add_argument("--far-mm", type=float, help="far end of the hand's depth band (default 1000)")
    parser.add_argument("--cube-mm", type=float, help="crop cube side (default: the model's)")
    args = parser.parse_args(argv)
    settings = {name: getattr(args, name) for name in ("hand", "near_mm", "far_mm", "cube_mm")
                if getattr(args, name) is not None}
    try:
        calibration = calibration_from_source(args.source, args.intrinsics, args.depth_scale, **settings)
        save_calibration(calibration, args.out)
    except TrackerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    intr = calibration.intrinsics
    print(f"wrote {args.out}: {intr.width}x{intr.height} fx={intr.fx:g} fy={intr.fy:g} cx={intr.cx:g} "
          f"cy={intr.cy:g}, {calibration.depth_unit_mm:g} mm per depth unit ({calibration.camera_name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
