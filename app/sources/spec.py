"""What source to open, as one typed value: SourceSpec. The command line, the GUI's source chooser, the
calibration command and the benchmarks all describe their input with it, and app.sources.factory.open_source
is the one function that opens it.

    spec = SourceSpec.parse("recording.bag")                        # classified now: kind SourceKind.RS_FILE
    spec = SourceSpec(SourceKind.SYNTHETIC, hand=Hand.LEFT, frame_count=100)

Camera parameters follow one precedence rule (app/camera_calibration.py): the command line (intrinsics_text,
depth_unit_mm) over the calibration file over the stream's own. Imports app foundation and the standard
library, app.recording's session test and rs_index (plain Python) only; nothing is opened here.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from app.camera_calibration import CameraCalibration
from app.config import Hand, parse_hand
from app.errors import InputError
from app.recording.reader import is_session
from app.sources.rs_index import RECORDING_SUFFIXES

SPEC_HELP = ("'realsense', 'synthetic', a session folder, a .bag/.db3 recording, a 16-bit depth .png or a folder "
             "of them")


class SourceKind(enum.StrEnum):
    """The kinds of frame source (also SourceInfo.kind, written into recordings and JSONL headers)."""

    REALSENSE = "realsense"     # a live RealSense camera
    SYNTHETIC = "synthetic"     # the built-in rendered hand, with ground truth
    SESSION = "session"         # a session folder this program recorded (session.json + frames)
    RS_FILE = "rs-file"         # a RealSense recording (.bag / .db3)
    PNG = "png"                 # a 16-bit depth PNG, or a folder of them

    @property
    def is_file(self) -> bool:
        return self in (SourceKind.SESSION, SourceKind.RS_FILE, SourceKind.PNG)


@dataclass(frozen=True)
class SourceSpec:
    """kind and path (the file or folder, for the file kinds); intrinsics_text: --intrinsics 'fx,fy,cx,cy' in
    px (PNG input needs it or a calibration with intrinsics; overrides a camera's or the synthetic hand's;
    recordings refuse it); depth_unit_mm: --depth-scale, mm per raw depth unit; calibration: the per-camera
    file's contents; realtime: pace recordings by their timestamps (None = the source's default: files
    frame-exact as fast as read, the synthetic hand in real time); hand / frame_count: the synthetic hand's
    handedness and length (None = endless); hands: how many hands the synthetic source shows (1, or 2: both
    hands of a person, hand then ignored); serial, width_px, height_px, fps: the live camera's stream;
    filters: RealSense post-processing filters (live camera and .bag/.db3 playback)."""

    kind: SourceKind
    path: str | None = None
    intrinsics_text: str | None = None
    depth_unit_mm: float | None = None
    calibration: CameraCalibration | None = None
    realtime: bool | None = None
    hand: Hand = Hand.RIGHT
    frame_count: int | None = None
    hands: int = 1
    serial: str | None = None
    width_px: int = 640
    height_px: int = 480
    fps: float = 30.0
    filters: tuple[str, ...] | str = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SourceKind(self.kind))
        object.__setattr__(self, "hand", parse_hand(self.hand))
        if self.kind.is_file and not self.path:
            raise InputError(f"no input given: expected {SPEC_HELP}")
        if self.depth_unit_mm is not None and not self.depth_unit_mm > 0:
            raise InputError(f"--depth-scale must be a positive number of mm per raw unit, got {self.depth_unit_mm}")
        if self.hands not in (1, 2):
            raise InputError(f"--synthetic-hands must be 1 or 2, got {self.hands}")
        if self.hands != 1 and self.kind != SourceKind.SYNTHETIC:
            raise InputError("--synthetic-hands applies to --source synthetic only")
        if self.frame_count is not None and self.frame_count < 1:
            raise InputError(f"the synthetic hand's frame count must be >= 1, got {self.frame_count}")
        if self.intrinsics_text and self.kind in (SourceKind.SESSION, SourceKind.RS_FILE):
            raise InputError(f"--intrinsics cannot be used with {Path(self.path).name}: recordings carry the "
                             f"camera's own intrinsics (a --calibration file can override them)")

    @staticmethod
    def parse(text: str, **options) -> "SourceSpec":
        """The spec a command-line input names: 'realsense', 'synthetic' or a path (classified by what is
        there: a session folder, a .bag/.db3 file, a .png or a folder of PNGs). options: the other fields.
        InputError (one line) for a missing or unsupported input."""
        text = str(text).strip()
        if text in (SourceKind.REALSENSE, SourceKind.SYNTHETIC):
            return SourceSpec(SourceKind(text), **options)
        return SourceSpec(classify_path(text), path=text, **options)


def classify_path(text: str) -> SourceKind:
    """The file kind a path holds; InputError (one line) when there is nothing usable."""
    if not text:
        raise InputError(f"no input given: expected {SPEC_HELP}")
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(f"input not found: {text} (expected {SPEC_HELP})")
    if path.is_dir() and is_session(path):
        return SourceKind.SESSION
    if path.is_file() and path.suffix.lower() in RECORDING_SUFFIXES:
        return SourceKind.RS_FILE
    if path.is_dir():
        try:
            has_png = any(p.suffix.lower() == ".png" for p in path.iterdir())
        except OSError as exc:
            raise InputError(f"cannot read the folder {path}: {exc.strerror or exc}") from None
        if not has_png:
            raise InputError(f"{path} is neither a session folder (no session.json) nor a folder of depth PNGs")
        return SourceKind.PNG
    if path.suffix.lower() == ".png":
        return SourceKind.PNG
    raise InputError(f"unsupported input file {path.name}: expected {SPEC_HELP}")
