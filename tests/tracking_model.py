"""A real ONNX hand-tracker model for the tracking/runtime/CLI tests: the 'tiny' network, untrained (seeded),
exported by `python -m models.export --random-init` exactly as users would.

The export takes a few seconds, so the file is cached in the system temp folder under a name that hashes the
exporter and network sources: any change to them makes a fresh one. Written to a temporary name and renamed,
so parallel test runs never see half a file.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
_SOURCES = ("models/export.py", "models/network.py", "models/awr.py", "app/model_info.py")
CONFIG = "tiny"


def random_model_path(config: str = CONFIG) -> str:
    return cached_export(f"{config}-random", _SOURCES,
                         ["-m", "models.export", "--config", config, "--random-init"])


def cached_export(name: str, sources: tuple[str, ...], command: list[str]) -> str:
    """Path of the ONNX file `python COMMAND --out FILE` writes (run at the repository root, one thread), cached
    in the system temp folder as NAME-HASH.onnx, HASH of the sources' contents (paths from the repository
    root): any change to them makes a fresh one."""
    digest = hashlib.sha1()
    for rel in sources:
        digest.update((REPO / rel).read_bytes())
    folder = Path(tempfile.gettempdir()) / "handtracker-test-models"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}-{digest.hexdigest()[:12]}.onnx"
    if not path.exists():
        tmp = folder / f".{path.name}.{os.getpid()}.tmp.onnx"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.run([sys.executable, *command, "--out", str(tmp)], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} model export failed: {proc.stderr.strip()[-500:]}")
        os.replace(tmp, path)
    return str(path)


def model_with_metadata(src: str, dst: str, metadata: dict[str, str] | None) -> str:
    """Copy of a model with its metadata replaced (None = no metadata at all), for the refusal tests."""
    import onnx

    model = onnx.load(src)
    del model.metadata_props[:]
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, dst)
    return dst


def hand_crop(size: int = 128, seed: int = 0) -> np.ndarray:
    """An asymmetric hand-like normalised crop (palm ellipse and finger bars on +1 background)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] * (2.0 / size) - 1.0
    hand = ((xx + 0.1) / 0.4) ** 2 + ((yy - 0.2) / 0.3) ** 2 < 1.0
    for k in range(4):
        hand |= (np.abs(xx - (-0.35 + 0.18 * k)) < 0.05) & (yy < 0.1) & (yy > -0.7 + 0.1 * k)
    hand |= (np.abs(yy - 0.1) < 0.05) & (xx > 0.2) & (xx < 0.6)           # a thumb to one side
    d = 0.25 * xx + 0.1 * yy + rng.normal(0.0, 0.01, (size, size))
    d[~hand] = 1.0
    return np.clip(d, -1.0, 1.0).astype(np.float32)
