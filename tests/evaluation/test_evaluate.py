"""The evaluation report end to end: a tiny model on a few synthetic images."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hg_keras.evaluation.evaluate import build_parser, evaluate, main
from hg_keras.evaluation.predictions_io import load_predictions

pytestmark = pytest.mark.slow

MODEL_FILES = [
    "accuracy.csv", "accuracy.md", "accuracy_pytorch_pose.csv", "accuracy_pytorch_pose.md",
    "per_joint.csv", "per_joint.md", "occlusion.csv", "occlusion.md", "per_stack.csv",
    "per_stack.md", "presence.csv", "presence.md", "curves.png", "occlusion_curves.png",
    "per_stack.png", "presence_pr.png", "examples_best.png", "examples_worst.png",
    "heatmaps.png", "preds_valid.h5", "preds_valid.mat", "report.md", "summary.json",
]


@pytest.fixture(scope="module")
def synthetic_valid(tmp_path_factory):
    from hg_keras.datasets import synthetic

    root = synthetic.ensure(tmp_path_factory.mktemp("data") / "synthetic", num_images=20,
                            seed=0, progress=False)
    return synthetic.load(root, split="valid"), synthetic.SYNTHETIC_INFO


@pytest.fixture(scope="module")
def model_report(synthetic_valid, tmp_path_factory):
    import hg_keras

    records, info = synthetic_valid
    folder = tmp_path_factory.mktemp("run")
    model = hg_keras.build_stacked_hourglass(num_stacks=2, num_joints=16, num_features=16,
                                             depth=2, input_shape=(64, 64, 3))
    model.save(folder / "tiny.keras")
    result = evaluate("synthetic", weights=folder / "tiny.keras", records=records, info=info,
                      out_dir=folder / "report", batch_size=2, progress=False,
                      num_examples=2, verbose=False)
    return result, records, info


def test_model_report_holds_every_table_and_figure(model_report):
    result = model_report[0]
    written = {p.name for p in result.out_dir.iterdir()}
    assert set(MODEL_FILES) <= written
    assert all((result.out_dir / name).stat().st_size > 0 for name in MODEL_FILES)


def test_model_report_tables_have_the_expected_rows_and_columns(model_report):
    result, records, _ = model_report
    accuracy = pd.read_csv(result.out_dir / "accuracy.csv", index_col="model")
    assert list(accuracy.index) == ["tiny"]
    assert list(accuracy.columns) == ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee",
                                      "Ankle", "UBody", "Total", "AUC"]
    assert list(result.tables["per_stack"].index) == ["stack_1", "stack_2"]
    assert result.tables["per_stack"].loc["stack_2", "Total"] == pytest.approx(
        result.tables["accuracy"].loc["tiny", "Total"])
    assert list(result.tables["occlusion"].columns) == ["all", "visible", "occluded"]
    assert len(result.tables["presence"]) == 16 and len(result.tables["per_joint"]) == 16
    assert result.tables["per_joint"]["annotated"].sum() == np.stack(records.annotated).sum()


def test_saved_predictions_are_the_scored_ones_in_split_order(model_report):
    result, records, _ = model_report
    coords = load_predictions(result.out_dir / "preds_valid.h5", num_joints=16)
    assert coords.shape == (len(records), 16, 2)
    np.testing.assert_allclose(coords, result.coords)
    np.testing.assert_allclose(load_predictions(result.out_dir / "preds_valid.mat"), coords)


def test_cli_scores_a_predictions_file_without_a_model_and_compares(
        model_report, tmp_path, monkeypatch):
    result, records, info = model_report
    from hg_keras.datasets import registry

    monkeypatch.setattr(registry, "load_dataset", lambda *args, **kwargs: (records, info))
    preds_file = result.out_dir / "preds_valid.h5"
    out = tmp_path / "scored"
    assert main(["--dataset", "synthetic", "--predictions", str(preds_file),
                 "--compare", str(result.out_dir / "preds_valid.mat"), "--out", str(out),
                 "--no-progress"]) == 0
    scored = pd.read_csv(out / "accuracy.csv", index_col="model")
    assert list(scored.index) == ["preds_valid", "preds_valid.mat"]
    ours = result.tables["accuracy"].loc["tiny"].to_numpy()
    np.testing.assert_allclose(scored.to_numpy(), [ours, ours], atol=1e-4)  # CSV: 4 decimals
    written = {p.name for p in out.iterdir()}
    assert {"curves.png", "occlusion_curves.png", "per_joint.csv", "report.md"} <= written
    assert "per_stack.csv" not in written  # needs heatmaps, so a model


def test_cli_requires_weights_or_predictions():
    with pytest.raises(SystemExit):
        main(["--dataset", "synthetic"])


def test_flip_flag_defaults_on_and_turns_off():
    assert build_parser().parse_args([]).flip_test is True
    assert build_parser().parse_args(["--no-flip"]).flip_test is False


def test_mpii_test_split_writes_predictions_and_the_submission_without_scoring(
        model_report, tmp_path):
    from hg_keras.datasets.records import MPII_INFO
    from hg_keras.evaluation.predictions_io import (
        load_mpii_submission,
        save_predictions,
    )

    result, records, _ = model_report
    test = records.copy()
    test["annotated"] = [np.zeros(16, bool)] * len(test)   # test labels are private
    test["visible"] = test["annotated"]
    test["split"] = "test"
    test["image_index"] = [4, 2][:len(test)] + list(range(10, 10 + len(test) - 2))
    test["person_index"] = 1
    preds_file = save_predictions(tmp_path / "test_preds.h5", result.coords)
    out = evaluate("mpii", predictions=preds_file, split="test", records=test, info=MPII_INFO,
                   out_dir=tmp_path / "test_report", root=tmp_path / "no_datasets",
                   verbose=False)
    assert "accuracy" not in out.tables
    people = load_mpii_submission(out.files["mpii_submission"])
    # Without the official .mat, pred has one entry per predicted test image, sorted.
    order = np.argsort(test["image_index"].to_numpy())
    for position, row in enumerate(order):
        np.testing.assert_allclose(people[(position, 1)], result.coords[row])


def test_scoring_the_real_valid_h5_ground_truth_as_a_predictions_file(tmp_path):
    shared = Path(__file__).resolve().parents[2] / ".." / "shared"
    valid_h5 = shared / "data" / "mpii" / "valid.h5"
    if not valid_h5.exists():
        pytest.skip(f"{valid_h5} not found (the shared MPII validation annotations)")
    from hg_keras.datasets import mpii
    from hg_keras.datasets.records import MPII_INFO
    from hg_keras.evaluation.predictions_io import save_predictions

    records = mpii.load(valid_h5, split="valid", image_root=tmp_path / "no_images")
    gt = np.stack(records["joints"].to_numpy())
    shifted = gt.copy()
    shifted[1::2, :, 0] += 0.6 * records["norm_size"].to_numpy()[1::2, None]  # odd rows wrong
    exact = save_predictions(tmp_path / "gt.h5", gt)
    moved = save_predictions(tmp_path / "moved.mat", shifted)
    result = evaluate("mpii", predictions=exact, compare=[moved], records=records,
                      info=MPII_INFO, out_dir=tmp_path / "report", verbose=False)
    table = result.tables["accuracy"]
    assert (table.loc["gt"] == 100.0).all()
    scored = [0, 1, 2, 3, 4, 5, *range(8, 16)]  # pelvis and thorax dropped
    annotated = np.stack(records["annotated"].to_numpy())[:, scored]
    expected = 100 * annotated[0::2].sum() / annotated.sum()
    assert table.loc["moved", "Total"] == pytest.approx(expected)
