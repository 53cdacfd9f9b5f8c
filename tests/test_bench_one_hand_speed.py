"""bench_one_hand_speed: every variant runs in a process of its own on the same rendered clips and reports its
throughput, frames with a pose and its change against the reference (no speed is asserted: benchmarks print)."""
from app.runtime import bench_one_hand_speed as bench


def test_the_benchmark_times_this_and_another_checkout_on_the_same_clips(tmp_path, capsys):
    report = bench.measure([str(bench.HERE)], rounds=1, sequences=1, frames=12, seed=3,
                           model=str(bench.HERE / "models" / "awr_lite.onnx"))
    variants = report["variants"]
    assert set(variants) == {f"against:{bench.HERE}", "this:max_hands_1", "this:default"}
    assert report["reference"] == f"against:{bench.HERE}"
    for row in variants.values():
        assert row["fps_median"] > 0 and row["frames_with_pose"] >= 10          # the same 12 frames, hand found
    assert variants[report["reference"]]["change_vs_reference_pct_median"] == 0.0
    capsys.readouterr()
    assert bench.main(["--against", str(tmp_path)]) == 2                          # not a checkout: one line
    assert capsys.readouterr().err.strip().startswith("error: not a checkout")
