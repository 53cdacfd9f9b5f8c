"""The hand-presence model (app/tracking/presence.py, models/hand_presence.onnx) and what it does for several hands:
numbers on rendered data it never saw, the finder's use of it, the tracker's, and its training pipeline."""
from __future__ import annotations

import numpy as np
import pytest

from app.config import DEFAULT_MODEL_PATH, DEFAULT_PRESENCE_MODEL_PATH, LocaliserConfig, TrackerConfig
from app.errors import InputError
from app.sources.synthetic import D435_LIKE
from app.synth.motion import HandAnimator
from app.synth.two_hand_motion import TwoHandAnimator
from app.tracking.estimator import Estimator
from app.tracking.localise import HandLocaliser, centre_mm
from app.tracking.presence import HandPresence, PresenceInfo
from app.tracking.tracker import HandTracker
from app.types import DepthFrame
from models import presence_data


@pytest.fixture(scope="module")
def presence():
    return HandPresence(DEFAULT_PRESENCE_MODEL_PATH)


@pytest.fixture(scope="module")
def estimator():
    return Estimator(DEFAULT_MODEL_PATH, "cpu", 1)


@pytest.fixture(scope="module")
def fresh_units(tmp_path_factory):
    """One unit of each kind with an index never rendered for training (>= 1000)."""
    out = tmp_path_factory.mktemp("presence")
    for kind in presence_data.KINDS:
        presence_data.render_unit(str(out), kind, 1000)
    return presence_data.load_units(out)


def test_the_shipped_model_reads_its_constants(presence):
    info = presence.info
    assert (info.input_size, info.crop_px, info.cube_mm) == (32, 64, 300.0)
    assert 0 < info.threshold < 1 and "rendered" in info.trained_on


@pytest.mark.parametrize("kind, kept, rejected", [("one", 0.97, 0.97), ("two", 0.95, 0.97), ("scene", 0.95, 0.85)])
def test_on_rendered_places_it_never_saw_hands_are_kept_and_arms_rejected(presence, fresh_units, kind, kept,
                                                                          rejected):
    # Measured when written (units 1000): one 1.000 / 1.000, two 0.970 / 1.000, scene 0.982 / 0.893.
    m = fresh_units["kind"] == kind
    p = presence.score_crops(fresh_units["crops"][m].astype(np.float32))
    label = fresh_units["label"][m]
    assert (label == 1).sum() > 100 and (label == 0).sum() > 40
    assert (p[label == 1] >= 0.5).mean() >= kept
    assert (p[label == 0] < 0.5).mean() >= rejected


def test_a_file_that_is_no_presence_model_is_refused_in_one_line(tmp_path):
    with pytest.raises(InputError, match="no 'hand_presence' metadata") as e:
        HandPresence(DEFAULT_MODEL_PATH)
    assert "\n" not in str(e.value)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(InputError, match="not a presence model"):
        HandPresence(bad)
    with pytest.raises(InputError, match="not found"):
        HandPresence(tmp_path / "missing.onnx")
    with pytest.raises(InputError, match="implausible"):
        PresenceInfo.from_json('{"input_size": 64, "crop_px": 32}')


def test_a_place_that_is_no_hand_does_not_hide_the_hand_at_its_arms_end(presence):
    # Frame 0 of this sequence: the finder's first place is the left forearm; claimed with its whole arm, it
    # hid the left hand. Scored as no hand, it claims only what is near it.
    sample = TwoHandAnimator(7000, D435_LIKE).frame(0.0)
    depth = DepthFrame(0, 0, 0.0, 0.0, sample.depth_raw, D435_LIKE).depth_mm()
    localiser = HandLocaliser(LocaliserConfig())
    truths = [t.joints_xyz_mm.mean(axis=0) for t in sample.ground_truths()]

    def hands_found(locations):
        return sum(any(np.linalg.norm(centre_mm(loc.centre_uvz, D435_LIKE) - t) < 60 for loc in locations
                       if loc.centre_uvz) for t in truths)

    plain = localiser.locate_hands(depth, D435_LIKE, 2)
    assert hands_found(plain) == 1 and all(loc.presence is None for loc in plain)
    scored = localiser.locate_hands(depth, D435_LIKE, 2, presence=lambda c: presence.scores(depth, D435_LIKE, [c])[0])
    assert hands_found(scored) == 2
    assert sum(loc.presence >= 0.5 for loc in scored) == 2 and any(loc.presence < 0.5 for loc in scored)


@pytest.mark.parametrize("seed", [8, 15])
def test_one_hand_with_max_hands_2_shows_no_second_hand_on_its_arm(estimator, seed):
    # Without the presence model these sequences showed a second hand (an elbow, an upper arm's end) in 26-43 %
    # (seed 8) and 76 % (seed 15) of their frames; measured with it: 0 of 150 each.
    animator = HandAnimator(seed, D435_LIKE)
    tracker = HandTracker(TrackerConfig(model_path=DEFAULT_MODEL_PATH, max_hands=2), estimator)
    two = shown = 0
    for k in range(150):
        result = tracker.process(DepthFrame(k, k, k * 1000 / 30, 0.0, animator.next_frame(k / 30).depth_raw,
                                            D435_LIKE))
        two += len(result.hands) >= 2
        shown += len(result.hands) >= 1
    assert two <= 2 and shown >= 140


def test_the_training_pipeline_renders_trains_resumes_and_exports(tmp_path, monkeypatch):
    from models import train_presence
    monkeypatch.setattr(presence_data, "FRAMES_PER_UNIT", 12)
    data = tmp_path / "data"
    assert presence_data.main(["--out", str(data), "--units", "5", "--kinds", "one,scene"]) == 0
    assert presence_data.main(["--out", str(data), "--units", "5", "--kinds", "one,cube"]) == 2
    run, out = tmp_path / "run", tmp_path / "p.onnx"
    first = train_presence.train(str(data), str(run), 1, str(out), quiet=True)
    assert first["export"]["max_abs_diff"] < 1e-5
    again = train_presence.train(str(data), str(run), 2, str(out), quiet=True)   # resumes at epoch 1
    lines = (run / "log.jsonl").read_text().splitlines()
    assert [int(line.split('"epoch": ')[1].split(",")[0]) for line in lines] == [1, 2]
    assert again["held_out"]["all"]["hands"] > 0
    model = HandPresence(out)
    crops = presence_data.load_units(data)["crops"][:3].astype(np.float32)
    assert model.score_crops(crops).shape == (3,)
