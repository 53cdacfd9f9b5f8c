"""Per-camera settings stored as small JSON files (calibration/NAME.json; calibration/README.md documents them):
intrinsics and depth-scale overrides, the depth band where a hand is looked for, the crop cube, One Euro
smoothing and the tracked hand. `python -m app.calibration` writes one from a camera or a recording.

The precedence of camera parameters is decided here, once: the command line (--intrinsics, --depth-scale) over
the calibration file (CameraCalibration.with_overrides), over the stream's own (resolve_intrinsics). Loading
validates every field with the tracker's own rules (app.config) and fails with one line naming the file and
the field. Imports app foundation only.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from app.camera import Intrinsics
from app.config import Hand, LocaliserConfig, SmoothingConfig, check_setting, parse_hand
from app.errors import InputError

_LOC, _SMOOTH = LocaliserConfig(), SmoothingConfig()   # the defaults (app.config)

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
    hand: Hand = Hand.RIGHT
    camera_name: str | None = None
    camera_serial: str | None = None

    def __post_init__(self) -> None:
        """The same rules as the tracker's own settings (app.config), so a file is refused on loading."""
        if self.depth_unit_mm is not None and not self.depth_unit_mm > 0:
            raise InputError(f"calibration: depth_unit_mm must be positive, got {self.depth_unit_mm}")
        object.__setattr__(self, "hand", parse_hand(self.hand, "calibration: hand"))
        if self.cube_mm is not None:
            check_setting("cube_mm", self.cube_mm)
        LocaliserConfig(near_mm=self.near_mm, far_mm=self.far_mm)
        SmoothingConfig(min_cutoff_hz=self.min_cutoff_hz, beta=self.beta, d_cutoff_hz=self.d_cutoff_hz)

    def with_overrides(self, intrinsics: Intrinsics | None = None,
                       depth_unit_mm: float | None = None) -> "CameraCalibration":
        """This calibration with the command line's --intrinsics / --depth-scale on top (they win)."""
        changes = {}
        if intrinsics is not None:
            changes["intrinsics"] = intrinsics
        if depth_unit_mm is not None:
            changes["depth_unit_mm"] = float(depth_unit_mm)
        return replace(self, **changes) if changes else self

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
        d["hand"] = str(self.hand)
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
