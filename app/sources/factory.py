"""Pick and build the frame source a command-line input names.

spec: 'realsense' (live camera), 'synthetic' (rendered hand), or a PATH: a session folder (holds session.json),
a .bag/.db3 RealSense recording, a 16-bit depth .png, or a folder of them. The source comes back unopened.
Imports app foundation and app.sources modules only. The RealSense modules (and with them pyrealsense2) are
imported only when a live camera or a .bag/.db3 file is asked for (app/sources/rs_sdk.py): the other sources
work where the SDK is not installed.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.camera_calibration import CameraCalibration
from app.camera import Intrinsics
from app.errors import InputError
from app.recording.reader import is_session
from app.sources.base import FrameSource
from app.sources.png import PngSource, png_size
from app.sources.rs_index import RECORDING_SUFFIXES
from app.sources.rs_sdk import require_sdk, sdk_problem
from app.sources.session import SessionSource

_SPEC_HELP = ("'realsense', 'synthetic', a session folder, a .bag/.db3 recording, a 16-bit depth .png or a folder "
              "of them")


def realsense_connected() -> bool:
    """True when at least one RealSense camera is plugged in (False too when the SDK cannot enumerate, or is not
    installed: realsense_unavailable() says so)."""
    if sdk_problem() is not None:
        return False
    from app.sources.realsense import connected_serials

    try:
        return bool(connected_serials())
    except RuntimeError:
        return False


def realsense_unavailable() -> str | None:
    """Why no RealSense camera can be used at all (the SDK is missing), or None when it can."""
    return sdk_problem()


def _with_overrides(calibration: CameraCalibration | None, intrinsics: Intrinsics | None,
                    depth_unit_mm: float | None) -> CameraCalibration | None:
    """The calibration with command-line overrides applied on top (None when there is nothing to apply)."""
    if intrinsics is None and depth_unit_mm is None:
        return calibration
    base = calibration or CameraCalibration()
    changes = {}
    if intrinsics is not None:
        changes["intrinsics"] = intrinsics
    if depth_unit_mm is not None:
        changes["depth_unit_mm"] = float(depth_unit_mm)
    return replace(base, **changes)


def _check_unit(depth_unit_mm: float | None) -> None:
    if depth_unit_mm is not None and not depth_unit_mm > 0:
        raise InputError(f"--depth-scale must be a positive number of mm per raw unit, got {depth_unit_mm}")


def open_source(spec: str, *, intrinsics_text: str | None = None, depth_unit_mm: float | None = None,
                calibration: CameraCalibration | None = None, realtime: bool | None = None,
                synthetic_kwargs: dict | None = None, realsense_kwargs: dict | None = None) -> FrameSource:
    """Build the source `spec` names (unopened).

    intrinsics_text: 'fx,fy,cx,cy' px (PNG input needs it or a calibration with intrinsics; for a live camera
    or synthetic input it overrides the stream's; recordings carry their own and refuse it);
    depth_unit_mm: mm per raw depth unit, overriding the stream's/calibration's; calibration: per-camera file;
    realtime: pace recordings by their timestamps (None = the source's default: recordings frame-exact as fast as
    read, synthetic real time); synthetic_kwargs: extra SyntheticSource arguments; realsense_kwargs: serial,
    width, height, fps, filters for the live camera (filters also apply to .bag/.db3 playback)."""
    _check_unit(depth_unit_mm)
    spec = str(spec).strip()
    rs_kwargs = dict(realsense_kwargs or {})
    if spec == "realsense":
        require_sdk("the live RealSense camera (--source realsense)")
        from app.sources.realsense import LiveRealSenseSource

        width, height = int(rs_kwargs.get("width", 640)), int(rs_kwargs.get("height", 480))
        intr = Intrinsics.parse(intrinsics_text, width, height) if intrinsics_text else None
        return LiveRealSenseSource(**rs_kwargs, calibration=_with_overrides(calibration, intr, depth_unit_mm))
    if spec == "synthetic":
        return _synthetic(intrinsics_text, depth_unit_mm, calibration, realtime, synthetic_kwargs)
    if not spec:
        raise InputError(f"no input given: expected {_SPEC_HELP}")
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"input not found: {spec} (expected {_SPEC_HELP})")
    if path.is_dir() and is_session(path):
        _refuse_intrinsics(intrinsics_text, path)
        return SessionSource(path, realtime=bool(realtime),
                             calibration=_with_overrides(calibration, None, depth_unit_mm))
    if path.is_file() and path.suffix.lower() in RECORDING_SUFFIXES:
        _refuse_intrinsics(intrinsics_text, path)
        require_sdk(f"playing the RealSense recording {path.name}")
        from app.sources.rsfile import RealSenseFileSource

        return RealSenseFileSource(path, realtime=bool(realtime), filters=rs_kwargs.get("filters", ()),
                                   calibration=_with_overrides(calibration, None, depth_unit_mm))
    if path.is_dir() or path.suffix.lower() == ".png":
        if path.is_dir() and not any(p.suffix.lower() == ".png" for p in path.iterdir()):
            raise InputError(f"{path} is neither a session folder (no session.json) nor a folder of depth PNGs")
        intr = None
        if intrinsics_text:
            width, height = png_size(path)
            intr = Intrinsics.parse(intrinsics_text, width, height)
        return PngSource(path, intrinsics=intr, calibration=calibration, depth_unit_mm=depth_unit_mm,
                         realtime=bool(realtime))
    raise InputError(f"unsupported input file {path.name}: expected {_SPEC_HELP}")


def _refuse_intrinsics(intrinsics_text: str | None, path: Path) -> None:
    if intrinsics_text:
        raise InputError(f"--intrinsics cannot be used with {path.name}: recordings carry the camera's own "
                         f"intrinsics (a --calibration file can override them)")


def _synthetic(intrinsics_text, depth_unit_mm, calibration, realtime, synthetic_kwargs) -> FrameSource:
    from app.sources.synthetic import SyntheticSource  # rendering code: imported only when asked for

    kwargs = dict(synthetic_kwargs or {})
    base = kwargs.get("intrinsics") or (calibration.intrinsics if calibration is not None else None)
    if intrinsics_text:
        width, height = (base.width, base.height) if base is not None else (640, 480)
        base = Intrinsics.parse(intrinsics_text, width, height)
    unit = depth_unit_mm if depth_unit_mm is not None else (
        calibration.depth_unit_mm if calibration is not None else None)
    if unit is not None:
        if base is None:
            raise InputError("--depth-scale with synthetic input needs --intrinsics (or a calibration with "
                             "intrinsics) too")
        base = replace(base, depth_unit_mm=float(unit))
    if base is not None:
        kwargs["intrinsics"] = base
    if realtime is not None:
        kwargs["realtime"] = bool(realtime)
    return SyntheticSource(**kwargs)
