"""How one run of the tracker goes, as one typed value: RunOptions, built by the command line (app/cli.py) from
its options and taken by the headless runner (app/runtime/headless.py) and the GUI (app/gui/app.py), so neither
reads argparse's namespace. Imports app foundation and app.sources.spec only.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.errors import InputError
from app.sources.spec import SourceSpec

LAYOUTS = ("standard", "demo")   # the GUI's window layouts (app/gui/window_layout.py arranges them)


@dataclass(frozen=True)
class RunOptions:
    """source: what to open (None: the GUI asks; the GUI also reopens it after Stop); headless: no GUI;
    output: JSONL file ('-' = stdout, headless only); record: session folder to record into from the start;
    max_frames: stop after this many processed frames (exact); realtime: pace recordings by their timestamps;
    benchmark: print the stage timings (headless only); screenshot: PNG of the window after max_frames (GUI
    only); layout: the GUI's window layout (None = the remembered one); explicit_settings: the LIVE_SETTINGS
    keys this run's command line or calibration file set, which the GUI's remembered tuning must not replace."""

    source: SourceSpec | None = None
    headless: bool = False
    output: str | None = None
    record: str | None = None
    max_frames: int | None = None
    realtime: bool = False
    benchmark: bool = False
    screenshot: str | None = None
    layout: str | None = None
    explicit_settings: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(f"--max-frames must be >= 1, got {self.max_frames}")
        if self.output and not self.headless:
            raise InputError("--output needs --headless (the GUI saves results with its own controls)")
        if self.benchmark and not self.headless:
            raise InputError("--benchmark needs --headless")
        if self.screenshot and self.headless:
            raise InputError("--screenshot is for the GUI; leave out --headless")
        if self.layout and self.headless:
            raise InputError("--layout is for the GUI; leave out --headless")
        if self.layout is not None and self.layout not in LAYOUTS:
            raise InputError(f"--layout must be one of {', '.join(LAYOUTS)}, got '{self.layout}'")
        object.__setattr__(self, "explicit_settings", frozenset(self.explicit_settings))

    @property
    def scripted(self) -> bool:
        """A GUI run that ends by itself (after max_frames, or with a screenshot): reproducible, so the remembered
        tuning and window geometry are not used."""
        return bool(self.max_frames or self.screenshot)
