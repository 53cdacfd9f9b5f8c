"""Headless run (--headless): build the estimator and tracker, run the pipeline over the source, write the
JSONL output, record, stop after --max-frames, print the --benchmark summary. Progress and the provider
actually used go to stderr; stdout carries only --output - and --benchmark JSON.
Imports app code only (no Qt).
"""
from __future__ import annotations

import json
import sys
import time

from app.config import TrackerConfig
from app.errors import TrackerError
from app.runtime.benchmark import BenchmarkCollector
from app.runtime.pipeline import Pipeline, PipelineState
from app.runtime.records import JsonlWriter, run_header
from app.runtime.run_options import RunOptions
from app.sources.base import FrameSource
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker

_PROGRESS_EVERY_S = 5.0


def build_tracker(config: TrackerConfig) -> HandTracker:
    """Estimator + tracker for a configuration; prints the model and the provider actually used."""
    estimator = Estimator(config.model_path, config.provider, config.intra_op_threads)
    note = f" ({estimator.provider_note})" if estimator.provider_note else ""
    print(f"model: {estimator.model_name} ({estimator.info.config_name}, trained on {estimator.info.hand} "
          f"hands); provider: {estimator.provider}{note}", file=sys.stderr)
    return HandTracker(config, estimator)


def run_headless(config: TrackerConfig, source: FrameSource, options: RunOptions, streams=None) -> int:
    """Process the source without a GUI, as options say (output, record, max_frames, realtime, benchmark). streams: started --stream outputs (app.streaming.Streams) to feed, or
    None. Returns the exit code; raises TrackerError for a failed run (the CLI turns it into one line and an
    exit code)."""
    tracker = build_tracker(config)
    realtime, max_frames = options.realtime, options.max_frames
    pipeline = Pipeline(source, tracker, lockstep=False if realtime else None, speed=1.0 if realtime else None,
                        max_frames=max_frames)
    writer = None
    if options.output:
        writer = JsonlWriter(options.output, run_header(tracker, source.info))
        pipeline.add_consumer(writer)
    collector = BenchmarkCollector()
    if options.benchmark:
        pipeline.add_consumer(collector)
    if streams is not None:
        streams.attach(pipeline)
    if options.record:
        pipeline.start_recording(options.record)
    started = time.perf_counter()
    pipeline.start()
    try:
        _wait(pipeline)
    finally:
        pipeline.stop()
        if writer is not None:
            writer.close()
    elapsed = time.perf_counter() - started
    stats = pipeline.stats()
    rec = pipeline.recording_status()
    if stats.state == PipelineState.ERROR:
        failure = pipeline.failure if isinstance(pipeline.failure, TrackerError) else \
            TrackerError(stats.error or "the pipeline failed")
        if rec is not None and not rec.error:   # e.g. the camera was unplugged: what was recorded is complete
            raise type(failure)(f"{failure}; the recording is complete: {rec.frames} frames in {rec.path}")
        raise failure
    if rec is not None and rec.error:
        raise TrackerError(rec.error)
    skipped = source.skipped_frames
    print(f"done: {stats.frames_processed} frames processed ({stats.frames_dropped} dropped) in {elapsed:.1f} s"
          + (f"; recorded {rec.frames} frames to {rec.path}" if rec is not None else "")
          + (f"; {skipped} damaged frames of the input skipped" if skipped else ""), file=sys.stderr)
    if options.benchmark:
        print(json.dumps(collector.summary()), flush=True)
    return 0


def _wait(pipeline: Pipeline) -> None:
    """Until the source is exhausted, --max-frames results exist (the pipeline stops itself there), or the
    pipeline fails; progress to stderr."""
    last_report = time.perf_counter()
    while not pipeline.wait_finished(0.1):
        now = time.perf_counter()
        if now - last_report >= _PROGRESS_EVERY_S:
            s = pipeline.stats()
            total = f"/{s.frame_count}" if s.frame_count else ""
            print(f"  {s.frames_processed}{total} frames, {s.process_fps:.1f} fps", file=sys.stderr)
            last_report = now
