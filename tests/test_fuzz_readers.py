"""A small sample of the reader fuzzing (tests/fuzz/readers.py, which runs 1,000 cases per reader): mutated and
truncated PNGs, session files, calibration files, model metadata and files, .db3 and .bag recordings through the
real command line. Every case succeeds, or prints exactly one error line and exits 2; a damaged session replays
every complete frame; no case crashes or hangs the process."""
import pytest

from tests.fuzz.readers import READERS, fuzz

CASES_PER_READER = 4


@pytest.mark.slow
def test_a_sample_of_fuzzed_inputs_never_breaks_the_readers():
    summary = fuzz(READERS, CASES_PER_READER, seed=20261202, timeout_s=120.0)
    readers = summary["readers"]
    assert set(readers) == set(READERS)
    failures = [f for s in readers.values() for f in s["failures"]]
    assert failures == []
    for name, s in readers.items():
        assert s["cases"] == CASES_PER_READER and s["ok"] + s["error"] == CASES_PER_READER, name
