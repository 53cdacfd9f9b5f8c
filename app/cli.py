"""Command line: arguments -> TrackerConfig -> source -> GUI or headless run; errors -> one line and an exit code.

Exit codes: 0 success; 1 runtime failure (camera lost, recording failed, inference failed); 2 usage or input
error (bad option, missing/unreadable file, bad model, malformed intrinsics); 130 interrupted (Ctrl-C).
Errors are printed as one line "error: ..." on stderr, never a traceback (set HANDTRACKER_DEBUG=1 to see one).
The GUI is imported lazily, so headless runs never import Qt. Imports app code only.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from app.camera_calibration import CameraCalibration, load_calibration
from app.config import (DEFAULT_MODEL_PATH, HANDS, LIVE_SETTINGS, PROVIDERS, Hand, LocaliserConfig, SmoothingConfig,
                        TrackerChange, TrackerConfig)
from app.errors import InputError, TrackerError
from app.streaming.targets import DEFAULT_HOST as _STREAM_HOST, DEFAULT_MAX_CLIENTS as _STREAM_MAX_CLIENTS
from app.runtime.run_options import LAYOUTS, RunOptions
from app.sources.spec import SourceKind, SourceSpec
from app.streaming.targets import check_max_clients, parse_stream_url

_LOC, _SMOOTH, _CONFIG = LocaliserConfig(), SmoothingConfig(), TrackerConfig()   # the defaults, quoted in --help


def _range(key: str) -> str:
    s = LIVE_SETTINGS[key]
    return f"{s.minimum:g}..{s.maximum:g}{s.unit}"

EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130   # 0: success

DESCRIPTION = """\
Real-time 3-D hand tracking on depth cameras (AWR network, ONNX Runtime).

Without --source: the live RealSense camera if one is connected, else the built-in synthetic hand (the choice
is printed). Conventions: joints in millimetres in the camera frame (x right, y down, z forward, away from
the lens); pixel coordinates (u_px, v_px) with integer values at pixel centres; 21 joints in MediaPipe order
(wrist, thumb_cmc ... pinky_tip)."""

EPILOG = """\
--output JSONL: line 1 is a header object {"header": true, "provider", "model", "model_info", "source",
"config", "joint_names", ...}; every further line is one frame: frame (0-based index), frame_number,
timestamp_ms (device clock), status (tracking | low_confidence | at_border | no_hand | too_near | too_far),
hand, joint_names, joints_xyz_mm (21 x [x,y,z], smoothed), joints_xyz_raw_mm, joints_uv_px (21 x [u,v]),
confidence (21 values in [0,1]), overall_confidence, centre_uvz, timings_ms (per stage) and, when the source
has ground truth (synthetic), gt_xyz_mm. Joint fields are null when no hand was found; status says why.

--stream ws://HOST:PORT sends the same header and frame objects, one per WebSocket text message (the newest
frame only, to each client at its own pace); http://HOST:PORT/ is a live 3-D view of the stream.

--benchmark prints one JSON object at the end: {"frames": N, "throughput_fps": F, "stages_ms": {"wait": {"p50",
"p95","p99","mean"}, "localise", "crop", "infer", "postprocess", "smooth", "end_to_end"}} (milliseconds).

exit codes: 0 ok, 1 runtime failure, 2 usage or input error, 130 interrupted."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2 (no usage dump)."""

    def error(self, message: str):   # type: ignore[override]
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run_tracker.py", description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("source")
    src.add_argument("--source", metavar="realsense|synthetic|PATH",
                     help="'realsense' (live camera), 'synthetic' (rendered hand with ground truth), or PATH: a "
                          "session folder, a .bag/.db3 RealSense recording, a 16-bit depth PNG or a folder of them")
    src.add_argument("--intrinsics", metavar="fx,fy,cx,cy",
                     help="pinhole intrinsics in pixels, for sources that lack them (PNG files)")
    src.add_argument("--depth-scale", type=float, metavar="MM_PER_UNIT",
                     help="millimetres per raw depth unit, for sources that lack it (default 1.0 for PNGs)")
    src.add_argument("--calibration", metavar="FILE",
                     help="per-camera settings JSON (intrinsics, depth scale, depth band, cube, smoothing, hand; "
                          "see calibration/README.md); options given here override it")
    src.add_argument("--synthetic-hands", type=int, choices=(1, 2), default=1, metavar="N",
                     help="hands the synthetic source shows: 1 (default, the tracked hand) or 2 (both hands of a "
                          "person, crossing and separating, with ground truth for each)")
    src.add_argument("--realtime", action="store_true",
                     help="pace recordings by their timestamps in real time (frames may be skipped when the "
                          "tracker is slower) instead of processing every frame as fast as possible")
    mdl = p.add_argument_group("model")
    mdl.add_argument("--model", default=_CONFIG.model_path, metavar="PATH",
                     help="ONNX model exported by models/export.py (default: models/awr_lite.onnx)")
    mdl.add_argument("--provider", choices=PROVIDERS, default=_CONFIG.provider,
                     help="ONNX Runtime provider; auto = CUDA when usable, else CPU (the one actually used is "
                          "printed)")
    mdl.add_argument("--threads", type=int, default=_CONFIG.intra_op_threads, metavar="N",
                     help=f"ONNX Runtime CPU threads (default {_CONFIG.intra_op_threads})")
    trk = p.add_argument_group("tracking")
    trk.add_argument("--hand", choices=HANDS, default=None,
                     help=f"hand to track (default {_CONFIG.hand}); the crop is mirrored for the hand the model was not "
                          "trained on. Given, only that one hand is tracked")
    trk.add_argument("--max-hands", type=int, default=None, metavar="N",
                     help=f"track up to N hands, each with its own id, side (left/right, found from the depth: "
                          f"the arm and body around it; {_CONFIG.hand} until known) and smoothing (default "
                          f"{_CONFIG.max_hands}; 1 with --hand)"),
    trk.add_argument("--near-mm", type=float, help=f"nearest hand distance searched, mm (default {_LOC.near_mm:g}; {_range('near_mm')})")
    trk.add_argument("--far-mm", type=float, help=f"farthest hand distance searched, mm (default {_LOC.far_mm:g}; {_range('far_mm')})")
    trk.add_argument("--cube-mm", type=float, help=f"crop cube side, mm (default: the model's; {_range('cube_mm')})")
    trk.add_argument("--min-cutoff", type=float, metavar="HZ",
                     help=f"One Euro minimum cutoff, Hz (default {_SMOOTH.min_cutoff_hz:g}; lower = smoother when still)")
    trk.add_argument("--beta", type=float, metavar="PER_MM",
                     help=f"One Euro speed coefficient, 1/mm (default {_SMOOTH.beta:g}; higher = less lag when moving)")
    trk.add_argument("--d-cutoff", type=float, metavar="HZ", help=f"One Euro speed cutoff, Hz (default {_SMOOTH.d_cutoff_hz:g})")
    trk.add_argument("--no-smoothing", action="store_true", help="report raw joints (no One Euro filter)")
    trk.add_argument("--recentre", action="store_true",
                     help="second network pass on a crop re-centred on the first pass's joints")
    trk.add_argument("--min-confidence", type=float,
                     help=f"overall confidence below which the status is low_confidence (default "
                          f"{_CONFIG.min_confidence:g}; {_range('min_confidence')})")
    run = p.add_argument_group("run")
    run.add_argument("--headless", action="store_true", help="no GUI: process the source and write --output")
    run.add_argument("--output", metavar="FILE.jsonl", help="write one JSON object per frame ('-' = stdout)")
    run.add_argument("--record", metavar="DIR", help="record raw depth and results into a new session folder")
    run.add_argument("--max-frames", type=int, metavar="N", help="stop after N processed frames")
    run.add_argument("--benchmark", action="store_true",
                     help="print per-stage timing percentiles and throughput as one JSON object at the end")
    run.add_argument("--screenshot", metavar="FILE.png",
                     help="(GUI) save a picture of the window after --max-frames frames and exit")
    run.add_argument("--layout", choices=LAYOUTS,
                     help="(GUI) window layout: standard, or demo for presenting (hand inset and 3-D view large, the "
                          "selected finger's weight maps, little chrome; D switches); default: the remembered one")
    out = p.add_argument_group("streaming (to other programs; GUI and headless)")
    out.add_argument("--stream", action="append", default=[], metavar="URL",
                     help="ws://HOST:PORT: a WebSocket server sending the header and then every frame as JSON "
                          "(the --output schema), with a live 3-D view at http://HOST:PORT/; osc://HOST:PORT: one "
                          "OSC bundle per frame over UDP (addresses /hand/<hand>/..., see README). HOST defaults "
                          f"to {_STREAM_HOST} (this machine only); port 0 picks a free ws port. Repeatable")
    out.add_argument("--stream-max-clients", type=int, default=_STREAM_MAX_CLIENTS, metavar="N",
                     help=f"WebSocket clients allowed at once per server (default {_STREAM_MAX_CLIENTS})")
    return p


# Each live setting the command line can set: LIVE_SETTINGS key -> (argparse dest, the CameraCalibration field
# that can set it too). A setting given either way is explicit for this run (RunOptions.explicit_settings).
_SETTING_OPTIONS = {
    "hand": ("hand", "hand"), "smoothing_enabled": ("no_smoothing", None), "min_cutoff_hz": ("min_cutoff", "min_cutoff_hz"),
    "beta": ("beta", "beta"), "d_cutoff_hz": ("d_cutoff", "d_cutoff_hz"), "near_mm": ("near_mm", "near_mm"),
    "far_mm": ("far_mm", "far_mm"), "cube_mm": ("cube_mm", "cube_mm"), "recentre": ("recentre", None),
    "min_confidence": ("min_confidence", None),
}


def _given(args, calibration: CameraCalibration | None, key: str):
    """The value the command line (first) or the calibration file gives a live setting, else None."""
    dest, field_name = _SETTING_OPTIONS[key]
    value = getattr(args, dest, None)
    if key == "smoothing_enabled":
        return False if value else None
    if key == "recentre":
        return True if value else None
    if value is not None:
        return value
    return getattr(calibration, field_name) if calibration is not None and field_name else None


def config_from_args(args, calibration: CameraCalibration | None = None) -> TrackerConfig:
    """TrackerConfig from the options, on top of a calibration file's settings, on top of the defaults (the
    dataclasses' own, app/config.py)."""
    given = {key: _given(args, calibration, key) for key in _SETTING_OPTIONS}
    base = TrackerConfig(model_path=args.model, provider=args.provider, intra_op_threads=args.threads,
                         max_hands=max_hands_from_args(args))
    return base.apply(TrackerChange.of(**given))


def max_hands_from_args(args) -> int:
    """--max-hands, else the default (at least 2 for the two-hand synthetic demo). --hand restricts tracking to
    that one hand (an InputError with --max-hands above 1)."""
    if args.hand is not None:
        if args.max_hands is not None and args.max_hands > 1:
            raise InputError(f"--hand {args.hand} tracks that one hand; leave it out to track up to --max-hands "
                             f"{args.max_hands} hands, each with its side found from the depth")
        return 1
    if args.max_hands is not None:
        if args.max_hands < 1:
            raise InputError(f"--max-hands must be >= 1, got {args.max_hands}")
        return args.max_hands
    return max(2, _CONFIG.max_hands) if args.synthetic_hands == 2 else _CONFIG.max_hands


def explicit_settings(args, calibration: CameraCalibration | None) -> frozenset[str]:
    """The live settings this run sets explicitly (an option given at all, whatever its value: --hand right is
    explicit though right is the default; a calibration file's settings are explicit too)."""
    return frozenset(key for key in _SETTING_OPTIONS if _given(args, calibration, key) is not None)


def source_spec_from_args(args, text: str, calibration: CameraCalibration | None, hand: Hand) -> SourceSpec:
    """The source the options name. hand: the tracked hand, which the synthetic source renders."""
    spec = SourceSpec.parse(text, intrinsics_text=args.intrinsics, depth_unit_mm=args.depth_scale,
                            calibration=calibration, hand=hand, hands=args.synthetic_hands)
    if spec.kind == SourceKind.SYNTHETIC:
        # The synthetic hand runs live-like in the GUI and frame-exact headless unless --realtime; headless with
        # --max-frames renders exactly that many frames.
        return replace(spec, realtime=bool(args.realtime or not args.headless),
                       frame_count=args.max_frames if args.headless else None)
    # Recordings are paced by the pipeline (--realtime, or the GUI's speed control), never by the source itself.
    return replace(spec, realtime=False)


def run_options_from_args(args, spec: SourceSpec | None, calibration: CameraCalibration | None) -> RunOptions:
    """The run's options (RunOptions checks their combinations); spec None: the source is chosen later."""
    return RunOptions(source=spec, headless=args.headless, output=args.output, record=args.record,
                      max_frames=args.max_frames, realtime=args.realtime, benchmark=args.benchmark,
                      screenshot=args.screenshot, layout=args.layout,
                      explicit_settings=explicit_settings(args, calibration))


def _check_args(args) -> None:
    if args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    for url in args.stream:
        parse_stream_url(url)
    check_max_clients(args.stream_max_clients)
    if args.model and not os.path.isfile(args.model):
        raise InputError(f"model file not found: {args.model}"
                         + (" (train and export one, see README)" if args.model == DEFAULT_MODEL_PATH else ""))


def choose_source(text: str | None) -> str:
    """The source to open: the given one, else the live camera when connected, else the synthetic hand."""
    if text:
        return text
    from app.sources.factory import realsense_connected, realsense_unavailable

    chosen = SourceKind.REALSENSE if realsense_connected() else SourceKind.SYNTHETIC
    why_not = realsense_unavailable()
    print("source: " + ("RealSense camera (connected)" if chosen == SourceKind.REALSENSE
                        else f"synthetic hand ({why_not}, so no camera can be used)" if why_not
                        else "synthetic hand (no RealSense camera connected)"), file=sys.stderr)
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except Exception as exc:   # a bug: still one line, unless debugging
        if os.environ.get("HANDTRACKER_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        print(f"error: internal error: {type(exc).__name__}: {text[0] if text else ''} "
              "(HANDTRACKER_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_RUNTIME


def _run(args) -> int:
    _check_args(args)
    calibration = load_calibration(args.calibration) if args.calibration else None
    config = config_from_args(args, calibration)
    options = run_options_from_args(args, None, calibration)   # checked before anything is opened
    streams = None
    if args.stream:   # bound before anything slow, so a port in use fails at once
        from app.streaming import open_streams

        streams = open_streams(args.stream, args.stream_max_clients)
    try:
        spec = source_spec_from_args(args, choose_source(args.source), calibration, config.hand)
        options = replace(options, source=spec)
        from app.sources.factory import open_source

        source = open_source(spec)
        try:
            if not source.info.live:
                # The input the user named is opened before anything else starts (the model, the window), so a
                # missing, unreadable or damaged one is a single error line and exit 2; the capture thread's own
                # open() is then a no-op.
                source.open()
            if not args.headless:
                from app.gui import run_gui   # lazy: headless runs never import Qt

                return int(run_gui(config, source, options, streams=streams))
            from app.runtime.headless import run_headless

            return run_headless(config, source, options, streams=streams)
        finally:
            source.close()
    finally:
        if streams is not None:
            streams.close()


if __name__ == "__main__":   # python -m app.cli
    sys.exit(main())
