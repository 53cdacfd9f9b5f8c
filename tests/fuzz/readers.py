"""Fuzz every reader of user input through the real command line: mutated and truncated bytes of depth PNGs,
session folders (session.json, frames.jsonl, the depth PNGs), calibration files, model metadata and
RealSense .db3/.bag recordings.

    python -m tests.fuzz.readers --cases 1000                  # every reader, 1,000 cases each
    python -m tests.fuzz.readers --cases 50 --readers db3,bag --seed 7

Each case writes one mutated input next to intact ones and runs app.cli.main on it (headless, in-process, a
small untrained model). It passes when the run either succeeds or prints exactly one 'error: ...' line on stderr
and exits 2; an 'internal error' (what would be a traceback), any other exit code, a second error line, a crash
of the process (the worker is restarted) or a hang (a case over --timeout-s) is a failure. A damaged session
must still replay every complete frame: every frames.jsonl line left intact whose PNG is intact comes out.
Cases are generated from (seed, reader, case number) alone, so a failure is reproduced with --only READER:N.
Mutations: random bytes overwritten, truncation, zeroed or deleted runs, inserted or repeated bytes, and for the
JSON files also structural ones (a value replaced by null, a negative, huge, NaN or wrongly typed value, a key
deleted). Prints a JSON summary per reader (cases, outcomes, failures) and exits 1 if any case failed.
The test suite runs a small sample of the same cases (tests/test_fuzz_readers.py).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

READERS = ("png", "session_json", "frames_jsonl", "session_png", "calibration", "model_metadata", "model_file",
           "db3", "bag")
REPO = Path(__file__).resolve().parents[2]
NASTY = [None, -1, 0, 1e308, -1e308, float("nan"), "x", "", [], {}, [1, 2], True, 2 ** 63, "../../etc/passwd",
         "/etc/passwd", "depth/000000.png", {"width": 1}, 1.5]


# ---- mutations ---------------------------------------------------------------------------------------------
def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.choice(("overwrite", "truncate", "zero", "delete", "insert", "repeat"))
    if not b:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 16)))
    if kind == "overwrite":
        for _ in range(rng.randint(1, 24)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "truncate":
        b = b[:rng.randrange(len(b))]
    elif kind == "zero":
        at, n = rng.randrange(len(b)), rng.randint(1, 2048)
        b[at:at + n] = bytes(len(b[at:at + n]))
    elif kind == "delete":
        at, n = rng.randrange(len(b)), rng.randint(1, 512)
        del b[at:at + n]
    elif kind == "insert":
        at = rng.randrange(len(b) + 1)
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:
        at, n = rng.randrange(len(b)), rng.randint(1, 256)
        b[at:at] = b[at:at + n]
    return bytes(b)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:8]):
            yield from _paths(v, prefix + (i,))


def mutate_json_value(rng: random.Random, obj):
    """A structural mutation: one value replaced by a nasty one, or one key deleted."""
    paths = [p for p in _paths(obj) if p]
    if not paths:
        return rng.choice(NASTY)
    path = rng.choice(paths)
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(NASTY)
    return obj


def mutate_json_text(rng: random.Random, text: str) -> bytes:
    """Half structural (valid JSON, wrong content), half raw bytes."""
    if rng.random() < 0.5:
        try:
            return json.dumps(mutate_json_value(rng, json.loads(text))).encode()
        except ValueError:
            pass
    return mutate_bytes(rng, text.encode())


def mutate_jsonl(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    if rng.random() < 0.5 and len(lines) > 1:
        i = rng.randrange(len(lines) - 1)
        try:
            lines[i] = json.dumps(mutate_json_value(rng, json.loads(lines[i]))).encode()
            return b"\n".join(lines)
        except ValueError:
            pass
    return mutate_bytes(rng, data)


# ---- seed inputs -------------------------------------------------------------------------------------------
class Corpus:
    """The intact inputs every case starts from, made once per run in `root`."""

    def __init__(self, root: Path) -> None:
        from app.camera import Intrinsics
        from tests.tracking_model import random_model_path
        from tests.tracking_scenes import hand_scene

        import cv2

        self.root = root
        self.model = random_model_path()
        self.intr = Intrinsics(320, 240, 237.5, 237.5, 159.5, 119.5, 1.0)
        self.intrinsics_text = f"{self.intr.fx},{self.intr.fy},{self.intr.cx},{self.intr.cy}"
        self.pngs = root / "pngs"
        self.pngs.mkdir()
        for k in range(4):
            depth = hand_scene((-15.0 + 10.0 * k, 0.0, 480.0), intr=self.intr)[0]
            cv2.imwrite(str(self.pngs / f"d{k}.png"), np.round(depth).astype(np.uint16))
        self.session = root / "session"
        self.cli("--source", self.pngs, "--intrinsics", self.intrinsics_text, "--record", self.session, check=True)
        self.calibration = root / "camera.json"
        self.calibration.write_text(json.dumps({
            "format": "awr-hand-calibration", "format_version": 1,
            "intrinsics": {"width": 320, "height": 240, "fx": 237.5, "fy": 237.5, "cx": 159.5, "cy": 119.5},
            "depth_unit_mm": 1.0, "near_mm": 150.0, "far_mm": 1000.0, "cube_mm": None, "min_cutoff_hz": 1.0,
            "beta": 0.02, "d_cutoff_hz": 1.0, "hand": "right", "camera_name": "fuzz", "camera_serial": "1"},
            indent=2))
        import onnx

        self.model_proto = onnx.load(self.model)
        self.metadata = {p.key: p.value for p in self.model_proto.metadata_props}
        self.model_bytes = Path(self.model).read_bytes()
        self.db3 = root / "take.db3"
        self.bag = REPO / "tests" / "fixtures" / "legacy_sdk257.bag"
        self._recording(self.db3)

    def _recording(self, path: Path) -> None:
        from tests.rs_software import SoftwareDepthCamera, known_depth, record

        camera = SoftwareDepthCamera(64, 48, fps=30)
        record(str(path), camera, [(known_depth(k, 64, 48), 100 + k, 1000.0 + 33.3 * k) for k in range(12)])

    def cli(self, *args, check=False) -> tuple[int, str, str]:
        from app.cli import main

        out, err = io.StringIO(), io.StringIO()
        argv = ["--headless", "--model", self.model, *map(str, args)] if "--model" not in args else \
            ["--headless", *map(str, args)]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
        if check and rc != 0:
            raise RuntimeError(f"corpus command failed: {err.getvalue()}")
        return rc, out.getvalue(), err.getvalue()


# ---- one case ------------------------------------------------------------------------------------------------
def _records(path: Path) -> list[dict] | None:
    if not path.is_file():
        return None
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


def run_case(corpus: Corpus, reader: str, case: int, seed: int, work: Path) -> dict:
    """Build the mutated input of (reader, case) in `work`, run the CLI on it, judge the outcome."""
    rng = random.Random(f"{seed}:{reader}:{case}")
    out = work / "out.jsonl"
    expect_frames = None          # frames that must come out of a damaged session
    if reader == "png":
        folder = work / "pngs"
        shutil.copytree(corpus.pngs, folder)
        victim = rng.choice(sorted(folder.iterdir()))
        victim.write_bytes(mutate_bytes(rng, victim.read_bytes()))
        args = ["--source", folder, "--intrinsics", corpus.intrinsics_text]
    elif reader in ("session_json", "frames_jsonl", "session_png"):
        session = work / "session"
        shutil.copytree(corpus.session, session)
        if reader == "session_json":
            f = session / "session.json"
            f.write_bytes(mutate_json_text(rng, f.read_text()))
        elif reader == "frames_jsonl":
            f = session / "frames.jsonl"
            original = f.read_bytes()
            f.write_bytes(mutate_jsonl(rng, original))
            kept = set(f.read_bytes().split(b"\n")[:-1])   # complete lines (text after the last newline is not)
            expect_frames = sum(1 for line in original.split(b"\n")[:-1] if line in kept)
        else:
            pngs = sorted((session / "depth").iterdir())
            victim = rng.choice(pngs)
            victim.write_bytes(mutate_bytes(rng, victim.read_bytes()))
            expect_frames = len(pngs) - 1
        args = ["--source", session]
    elif reader == "calibration":
        f = work / "camera.json"
        f.write_bytes(mutate_json_text(rng, corpus.calibration.read_text()))
        args = ["--source", corpus.pngs, "--calibration", f]
    elif reader == "model_metadata":
        import onnx

        model = onnx.ModelProto()
        model.CopyFrom(corpus.model_proto)
        del model.metadata_props[:]
        for key, value in corpus.metadata.items():
            entry = model.metadata_props.add()
            entry.key = key
            entry.value = mutate_json_text(rng, value).decode("utf-8", "replace") if key == "awr" else value
        path = work / "model.onnx"
        onnx.save(model, str(path))
        args = ["--source", corpus.pngs, "--intrinsics", corpus.intrinsics_text, "--model", path]
    elif reader == "model_file":
        path = work / "model.onnx"
        path.write_bytes(mutate_bytes(rng, corpus.model_bytes))
        args = ["--source", corpus.pngs, "--intrinsics", corpus.intrinsics_text, "--model", path]
    elif reader in ("db3", "bag"):
        src = corpus.db3 if reader == "db3" else corpus.bag
        path = work / src.name
        path.write_bytes(mutate_bytes(rng, src.read_bytes()))
        args = ["--source", path]
    else:
        raise ValueError(f"unknown reader {reader}")
    rc, _, err = corpus.cli(*args, "--output", out)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    result = {"reader": reader, "case": case, "rc": rc}
    if rc == 0 and not errors:
        result["outcome"] = "ok"
        if expect_frames is not None:
            records = _records(out) or []
            if len(records) < expect_frames:
                result.update(outcome="FAIL", why=f"replayed {len(records)} frames, {expect_frames} were complete")
    elif rc == 2 and len(errors) == 1 and "internal error" not in errors[0]:
        result.update(outcome="error", message=errors[0][:160])
        if expect_frames:   # the session was damaged but had complete frames: they must replay
            result.update(outcome="FAIL", why=f"refused a session with {expect_frames} complete frames")
    else:
        result.update(outcome="FAIL", why=f"exit {rc}, {len(errors)} error lines", stderr=err[-400:])
    return result


# ---- driver --------------------------------------------------------------------------------------------------
def worker(seed: int) -> int:
    """Read 'reader case' lines on stdin, answer one JSON line each (the parent watches for crashes/hangs)."""
    root = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
    try:
        corpus = Corpus(root)
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            reader, case = line.split()
            work = Path(tempfile.mkdtemp(prefix="fuzz-case-", dir=root))
            try:
                result = run_case(corpus, reader, int(case), seed, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


class _Worker:
    def __init__(self, seed: int) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), HANDTRACKER_RS_PROBE_TIMEOUT_S="10")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.readers", "--worker", "--seed", str(seed)],
                                     cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        ready = self._read(300.0)
        if not ready or not json.loads(ready).get("ready"):
            raise RuntimeError("the fuzz worker did not start")

    def _read(self, timeout_s: float) -> str | None:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return None
        return self.proc.stdout.readline() or None

    def run(self, reader: str, case: int, timeout_s: float) -> dict:
        self.proc.stdin.write(f"{reader} {case}\n")
        self.proc.stdin.flush()
        line = self._read(timeout_s)
        if line is None:
            alive = self.proc.poll() is None
            self.kill()
            return {"reader": reader, "case": case, "outcome": "FAIL",
                    "why": f"hang (over {timeout_s:g} s)" if alive else f"crash (exit {self.proc.returncode})"}
        return json.loads(line)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


def fuzz(readers, cases: int, seed: int, timeout_s: float, only: list[tuple[str, int]] | None = None,
         progress=None) -> dict:
    plan = only or [(r, c) for r in readers for c in range(cases)]
    summary: dict[str, dict] = {}
    started = time.perf_counter()
    w = _Worker(seed)
    try:
        for reader, case in plan:
            result = w.run(reader, case, timeout_s)
            if w.proc.poll() is not None:
                w = _Worker(seed)
            s = summary.setdefault(reader, {"cases": 0, "ok": 0, "error": 0, "FAIL": 0, "failures": [],
                                            "messages": {}})
            s["cases"] += 1
            s[result["outcome"]] += 1
            if result["outcome"] == "FAIL":
                s["failures"].append(result)
            elif result["outcome"] == "error":
                key = re.sub(r"/\S+/", "", result["message"].removeprefix("error: "))[:60]
                s["messages"][key] = s["messages"].get(key, 0) + 1
            if progress:
                progress(result)
    finally:
        w.close()
    for s in summary.values():
        s["messages"] = dict(sorted(s["messages"].items(), key=lambda kv: -kv[1])[:8])
    return {"seed": seed, "seconds": round(time.perf_counter() - started, 1), "readers": summary}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.readers", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=1000, help="cases per reader")
    p.add_argument("--readers", default=",".join(READERS), help=f"comma-separated subset of {', '.join(READERS)}")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout-s", type=float, default=60.0, help="a case running longer is a hang")
    p.add_argument("--only", help="READER:CASE[,READER:CASE...] to re-run single cases")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.seed)
    readers = [r for r in args.readers.split(",") if r]
    unknown = [r for r in readers if r not in READERS]
    if unknown:
        p.error(f"unknown reader {unknown[0]}")
    only = [(r, int(c)) for r, c in (x.split(":") for x in args.only.split(","))] if args.only else None

    def progress(result):
        if result["outcome"] == "FAIL":
            print(json.dumps(result), file=sys.stderr, flush=True)

    summary = fuzz(readers, args.cases, args.seed, args.timeout_s, only, progress)
    print(json.dumps(summary, indent=1))
    return 1 if any(s["FAIL"] for s in summary["readers"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
