"""Each speed target of the benchmark is checked against the ratios of one run."""

from synthetic_results import results

from hg_keras.benchmarks.targets import evaluate_targets


def by_start(targets):
    return {t["target"].split(",")[0].split(":")[0]: t for t in targets}


def test_every_target_is_reported_with_its_measurement_and_verdict():
    targets = by_start(evaluate_targets(results()))
    assert targets["best inference path"] == {
        "target": "best inference path, 8 stacks, batch 1: <= 0.8x PyTorch",
        "measured": "0.50x (TFLite int8); best float path 0.60x (TFLite fp32)",
        "verdict": "met",
    }
    assert targets["TFLite fp32 no slower than Keras tf.function"]["measured"] == (
        "batch 1: 0.60x Keras (TFLite fp32); "
        "batch 8: 0.57x Keras (LiteRT fp32, one-thread interpreters in parallel)"
    )
    assert targets["TFLite fp32 no slower than Keras tf.function"]["verdict"] == "met"
    assert targets["TFLite int8 >= 1.5x faster than fp32"] == {
        "target": "TFLite int8 >= 1.5x faster than fp32, 8 stacks",
        "measured": "batch 1: 1.20x; batch 8: 1.60x; error vs fp32: relative RMS 0.250, "
                    "peaks within 1 px 50%",
        "verdict": "not met",
    }
    assert targets["training step"] == {
        "target": "training step, 2 stacks, batch 8: <= 0.8x PyTorch",
        "measured": "0.75x (Keras train_on_batch)",
        "verdict": "met",
    }
    assert targets["input pipeline >= 2.0x the cv2 reference loader per core"]["verdict"] == "met"


def test_slower_training_and_pipeline_are_not_met():
    targets = by_start(evaluate_targets(results(pipeline_ratio_per_core=1.5, training_ratio=0.9)))
    assert targets["training step"]["verdict"] == "not met"
    pipeline = targets["input pipeline >= 2.0x the cv2 reference loader per core"]
    assert pipeline["verdict"] == "not met"
    assert pipeline["measured"] == "1.50x per core (2.50x wall-clock, 2 pipeline thread(s))"


def test_sections_that_did_not_run_are_not_measured():
    partial = results()
    del partial["training"], partial["pipeline"]
    partial["inference"]["rows"] = []
    rows = evaluate_targets(partial)
    assert [t["verdict"] for t in rows] == ["not measured"] * 5
    # The inference targets are still stated as set, for 8 stacks.
    assert rows[0]["target"] == "best inference path, 8 stacks, batch 1: <= 0.8x PyTorch"
    assert rows[1]["target"] == "TFLite fp32 no slower than Keras tf.function, 8 stacks"
