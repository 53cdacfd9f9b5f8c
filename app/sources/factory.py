"""Open the frame source a SourceSpec (app/sources/spec.py) describes: the one route from "what the user chose"
to a FrameSource, for the command line, the GUI, the calibration command and the benchmarks.

The source comes back unopened. Camera parameters follow one precedence rule: the command line over the
calibration file (CameraCalibration.with_overrides) over the stream's own (resolve_intrinsics, applied by each
source). Imports app foundation and app.sources modules only. The RealSense modules (and with them
pyrealsense2) are imported only when a live camera or a .bag/.db3 file is asked for (app/sources/rs_sdk.py): the
other sources work where the SDK is not installed.
"""
from __future__ import annotations

from pathlib import Path

from app.camera import Intrinsics
from app.camera_calibration import CameraCalibration
from app.errors import InputError
from app.sources.base import FrameSource
from app.sources.png import PngSource, png_size
from app.sources.rs_sdk import require_sdk, sdk_problem
from app.sources.session import SessionSource
from app.sources.spec import SourceKind, SourceSpec


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


def camera_overrides(spec: SourceSpec, width_px: int | None = None,
                     height_px: int | None = None) -> CameraCalibration | None:
    """The spec's calibration with its command-line overrides on top (None when there is neither).
    width_px / height_px: the image size --intrinsics text is parsed for (None: only a depth scale applies)."""
    intr = None
    if spec.intrinsics_text and width_px is not None:
        intr = Intrinsics.parse(spec.intrinsics_text, width_px, height_px)
    if spec.calibration is None and intr is None and spec.depth_unit_mm is None:
        return None
    return (spec.calibration or CameraCalibration()).with_overrides(intr, spec.depth_unit_mm)


def open_source(spec: SourceSpec) -> FrameSource:
    """Build the source `spec` describes (unopened). InputError / SourceError (one line) when it cannot."""
    realtime = bool(spec.realtime)
    if spec.kind == SourceKind.REALSENSE:
        require_sdk("the live RealSense camera (--source realsense)")
        from app.sources.realsense import LiveRealSenseSource

        return LiveRealSenseSource(serial=spec.serial, width=spec.width_px, height=spec.height_px, fps=spec.fps,
                                   filters=spec.filters,
                                   calibration=camera_overrides(spec, spec.width_px, spec.height_px))
    if spec.kind == SourceKind.SYNTHETIC:
        return _synthetic(spec)
    path = Path(spec.path).expanduser()
    if spec.kind == SourceKind.SESSION:
        return SessionSource(path, realtime=realtime, calibration=camera_overrides(spec))
    if spec.kind == SourceKind.RS_FILE:
        require_sdk(f"playing the RealSense recording {path.name}")
        from app.sources.rsfile import RealSenseFileSource

        return RealSenseFileSource(path, realtime=realtime, filters=spec.filters,
                                   calibration=camera_overrides(spec))
    width, height = png_size(path) if spec.intrinsics_text else (None, None)
    return PngSource(path, calibration=camera_overrides(spec, width, height), realtime=realtime)


def _synthetic(spec: SourceSpec) -> FrameSource:
    from app.sources.synthetic import D435_LIKE, SyntheticSource  # rendering code: imported only when asked for

    cal = spec.calibration
    base = cal.intrinsics if cal is not None and cal.intrinsics is not None else D435_LIKE
    overrides = camera_overrides(spec, base.width, base.height)
    if overrides is not None and overrides.intrinsics is None and overrides.depth_unit_mm is not None:
        raise InputError("--depth-scale with synthetic input needs --intrinsics (or a calibration with "
                         "intrinsics) too")
    intrinsics = overrides.resolve_intrinsics(None) if overrides is not None and overrides.intrinsics else None
    kwargs = {"hand": spec.hand, "frame_count": spec.frame_count, "intrinsics": intrinsics,   # None: D435-like
              "hands": spec.hands}
    if spec.realtime is not None:
        kwargs["realtime"] = bool(spec.realtime)
    return SyntheticSource(**kwargs)
