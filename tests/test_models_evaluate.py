"""The whole-runtime evaluation (models/evaluate.py): errors in mm on rendered frames, a cache per model file
(two models evaluated in one folder do not share predictions), and resuming from that cache."""
import numpy as np

from app.config import DEFAULT_MODEL_PATH
from models import evaluate
from models.evaluate import evaluate_runtime
from tests.tracking_model import random_model_path

SEED = 7771   # no training run used it


def test_runtime_evaluation_caches_per_model_and_resumes(tmp_path, monkeypatch):
    shipped = evaluate_runtime(DEFAULT_MODEL_PATH, 4, SEED, str(tmp_path), quiet=True)
    assert shipped["frames"] == 4 and shipped["frames_with_pose"] >= 3
    assert 5.0 < shipped["mean_mm"] < 40.0                     # the shipped model: tens of mm at worst
    random = evaluate_runtime(random_model_path(), 4, SEED, str(tmp_path), quiet=True)
    assert random["mean_mm"] > shipped["mean_mm"] + 10.0       # its own predictions, not the shipped model's
    assert len(list(tmp_path.glob("runtime_seed*.npz"))) == 2
    rendered = []
    render = evaluate.render_test_frame
    monkeypatch.setattr(evaluate, "render_test_frame", lambda seed, i: rendered.append(i) or render(seed, i))
    again = evaluate_runtime(DEFAULT_MODEL_PATH, 6, SEED, str(tmp_path), quiet=True)   # 4 from the cache
    assert rendered == [4, 5]
    again = evaluate_runtime(DEFAULT_MODEL_PATH, 4, SEED, str(tmp_path), quiet=True)
    assert np.isclose(again["mean_mm"], shipped["mean_mm"]) and again["status_counts"] == shipped["status_counts"]
