"""The one home of every setting (app/config.py): defaults inside their ranges, one range rule shared by the
command line, the GUI's fields, calibration files and live changes, and a typed change validated once."""
from __future__ import annotations

from dataclasses import fields

import pytest

from app.camera_calibration import calibration_from_dict
from app.config import (DEFAULT_CUBE_MM, LIVE_SETTINGS, Hand, LocaliserConfig, SmoothingConfig, TrackerChange,
                        TrackerConfig, check_setting)
from app.errors import InputError
from tests.cli_runs import run_tracker


def test_every_default_lies_inside_its_range_and_every_live_setting_is_a_config_field():
    values = TrackerConfig().live_values(DEFAULT_CUBE_MM)
    assert set(values) == set(LIVE_SETTINGS)
    for key, setting in LIVE_SETTINGS.items():
        assert check_setting(key, values[key]) == values[key], key
        if setting.kind is float:
            assert setting.minimum <= values[key] <= setting.maximum and setting.step > 0
    assert LocaliserConfig().cube_mm == DEFAULT_CUBE_MM == 280.0
    # The live keys are real fields of the three dataclasses (or the smoothing switch).
    names = {f.name for cls in (TrackerConfig, LocaliserConfig, SmoothingConfig) for f in fields(cls)}
    assert set(LIVE_SETTINGS) - names == {"smoothing_enabled"}


def test_a_change_is_validated_once_when_built_and_applied_whole():
    change = TrackerChange.of(hand="left", beta=0.5, near_mm=200, smoothing_enabled=False)
    assert change.values() == {"hand": Hand.LEFT, "smoothing_enabled": False, "beta": 0.5, "near_mm": 200.0}
    config = TrackerConfig().apply(change)
    assert (config.hand, config.smoothing.beta, config.localiser.near_mm, config.smoothing.enabled) == \
        ("left", 0.5, 200.0, False)
    assert not TrackerChange.of() and TrackerChange.of(beta=None).values() == {}
    for bad, message in [({"cube_mm": 20.0}, "cube_mm must be 100..500 mm, got 20"),
                         ({"beta": "fast"}, "beta must be a number"), ({"recentre": 1}, "recentre must be true or false"),
                         ({"hand": "both"}, "hand must be right or left"), ({"model_path": "x"}, "cannot change"),
                         ({"min_confidence": 1.5}, "min_confidence must be 0..1")]:
        with pytest.raises(InputError, match=message):
            TrackerChange.of(**bad)
    with pytest.raises(InputError, match="need near_mm < far_mm"):   # the cross-field rule, when applied
        TrackerConfig().apply(TrackerChange.of(near_mm=1200.0))


def test_the_effective_cube_is_the_configured_one_else_the_models():
    assert TrackerConfig().effective_cube_mm(250.0) == 250.0
    assert TrackerConfig(cube_mm=300.0).effective_cube_mm(250.0) == 300.0


def test_calibration_files_and_the_command_line_use_the_same_ranges(tmp_path):
    with pytest.raises(InputError, match="cube_mm must be 100..500 mm, got 50"):
        calibration_from_dict({"cube_mm": 50})
    with pytest.raises(InputError, match="min_cutoff_hz must be 0.01..30 Hz"):
        calibration_from_dict({"min_cutoff_hz": 0.0})
    done = run_tracker("--headless", "--source", "synthetic", "--cube-mm", "50", "--max-frames", "1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: cube_mm must be 100..500 mm, got 50"]


def test_the_gui_fields_take_their_ranges_labels_and_units_from_the_table(qapp):
    from app.gui.tracker_controls import TrackerControls

    controls = TrackerControls()
    for key, spin in controls.spins.items():
        setting = LIVE_SETTINGS[key]
        assert (spin.minimum(), spin.maximum(), spin.suffix()) == (setting.minimum, setting.maximum, setting.unit)
    got = []
    controls.changed.connect(got.append)
    controls.spins["cube_mm"].setValue(320.0)
    controls.toggle_hand()
    assert [c.values() for c in got] == [{"cube_mm": 320.0}, {"hand": Hand.LEFT}]
    assert all(isinstance(c, TrackerChange) for c in got)
