"""The calibration command: write a per-camera settings file (app/camera_calibration.py) from a connected camera
or a recording, filling intrinsics and depth scale from the device or the file.

    python -m app.calibration --source realsense --out calibration/my_d435.json
    python -m app.calibration --source recording.bag --out calibration/from_bag.json

(.bag/.db3/session folder; PNGs need --intrinsics). Errors are one line and exit code 2. A command: imports
app foundation and app.sources.
"""
from __future__ import annotations

import argparse
import sys

from app.camera_calibration import CameraCalibration, save_calibration
from app.config import HANDS, LocaliserConfig
from app.errors import InputError, TrackerError

_LOC = LocaliserConfig()

def calibration_from_source(spec: str, intrinsics_text: str | None = None, depth_unit_mm: float | None = None,
                            timeout_s: float = 5.0, **settings) -> CameraCalibration:
    """Open a source ('realsense' or a recording path), read one frame, and return a calibration holding its
    intrinsics and depth scale plus `settings` (near_mm, far_mm, cube_mm, hand, smoothing)."""
    from app.sources.factory import open_source  # the sources package is needed only by this command
    from app.sources.spec import SourceSpec

    source = open_source(SourceSpec.parse(spec, intrinsics_text=intrinsics_text, depth_unit_mm=depth_unit_mm,
                                          realtime=False))
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
    parser.add_argument("--near-mm", type=float, help=f"near end of the hand's depth band (default {_LOC.near_mm:g})")
    parser.add_argument("--far-mm", type=float, help=f"far end of the hand's depth band (default {_LOC.far_mm:g})")
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
