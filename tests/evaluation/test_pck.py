"""PCK / PCKh tables: hand-computed cases for every rule, and the real MPII validation set."""

from pathlib import Path

import numpy as np
import pytest

from hg_keras.evaluation.pck import (
    flic_torso_size,
    normalized_distances,
    pck_per_joint,
    pck_table,
    pckh_auc,
    pckh_curve,
    pckh_mean,
    pckh_table,
)

VALID_H5 = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mpii" / "valid.h5"

R_ANKLE, PELVIS, THORAX, NECK, HEAD_TOP, R_WRIST, L_WRIST = 0, 6, 7, 8, 9, 10, 15


def mpii_case():
    """4 people, head size 10 px, every joint exactly on its ground truth unless moved."""
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 500, size=(4, 16, 2)).astype(np.float64)  # exact offsets
    pred = gt.copy()
    annotated = np.ones((4, 16), bool)
    head_size = np.full(4, 10.0)
    return pred, gt, annotated, head_size


def test_joint_exactly_at_the_threshold_counts():
    pred, gt, annotated, head_size = mpii_case()
    pred[:, R_WRIST] += [3.0, 4.0]  # 5 px / 10 px = 0.5 exactly
    assert pckh_table(pred, gt, annotated, head_size)["Wrist"] == 100.0


def test_joint_just_beyond_the_threshold_fails():
    pred, gt, annotated, head_size = mpii_case()
    pred[:, R_WRIST] += [5.01, 0.0]
    table = pckh_table(pred, gt, annotated, head_size)
    assert table["Wrist"] == 50.0  # right wrist 0 %, left wrist 100 %


def test_unannotated_joint_is_not_counted():
    pred, gt, annotated, head_size = mpii_case()
    pred[0, R_ANKLE] += 1000.0
    annotated[0, R_ANKLE] = False
    table = pckh_table(pred, gt, annotated, head_size)
    assert table["Ankle"] == 100.0
    assert table["Total"] == 100.0


def test_pelvis_and_thorax_do_not_change_total():
    pred, gt, annotated, head_size = mpii_case()
    pred[:, [PELVIS, THORAX]] += 1000.0
    assert pckh_table(pred, gt, annotated, head_size)["Total"] == 100.0


def test_pckh_matches_hand_computed_example():
    pred, gt, annotated, head_size = mpii_case()
    pred[:, [PELVIS, THORAX]] += 1000.0          # dropped
    annotated[1:, L_WRIST] = False               # left wrist labelled for person 0 only ...
    pred[:, L_WRIST] += [6.0, 0.0]               # ... and wrong there: 0 %
    pred[0, HEAD_TOP] += [0.0, 5.01]             # head top 3 / 4 = 75 %
    table = pckh_table(pred, gt, annotated, head_size)
    assert table["Head"] == 87.5                 # (upper neck 100 + head top 75) / 2
    assert table["Wrist"] == 50.0                # (right 100 + left 0) / 2
    assert table["Shoulder"] == table["Elbow"] == table["Hip"] == 100.0
    assert table["Knee"] == table["Ankle"] == 100.0
    # UBody pooled over wrists (5 labelled, 4 correct), elbows (8/8), shoulders (8/8).
    assert table["UBody"] == pytest.approx(100 * 20 / 21)
    # Total pooled over 14 joints x 4 people - 3 unlabelled = 53 instances, 2 wrong.
    assert table["Total"] == pytest.approx(100 * 51 / 53)
    assert list(table) == [
        "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "UBody", "Total"
    ]


def test_pytorch_pose_mean_uses_strict_threshold_head_top_and_mean_of_joints():
    pred, gt, annotated, head_size = mpii_case()
    annotated[1:, L_WRIST] = False
    pred[:, L_WRIST] += [6.0, 0.0]
    pred[0, HEAD_TOP] += [0.0, 5.01]
    pred[:, NECK] += [3.0, 4.0]                  # exactly 0.5: wrong under strict <
    table = pckh_mean(pred, gt, annotated, head_size)
    assert table["Head"] == 75.0                 # head top only
    assert table["Wrist"] == 50.0
    # Mean of 14 per-joint values: 11 x 100, left wrist 0, head top 75, neck 0.
    assert table["Mean"] == pytest.approx((1100 + 75) / 14)
    assert pckh_table(pred, gt, annotated, head_size)["Head"] == 87.5  # neck counts with <=


def test_auc_of_perfect_predictions_is_100():
    pred, gt, annotated, head_size = mpii_case()
    assert pckh_auc(pred, gt, annotated, head_size) == pytest.approx(100.0)


def test_auc_matches_hand_computed_step_curve():
    pred, gt, annotated, head_size = mpii_case()
    pred += [2.5, 0.0]  # every joint at 0.25 head sizes: wrong below t = 0.25, right from it
    curve = pckh_curve(pred, gt, annotated, head_size)
    assert curve["Total"][24] == 0.0 and curve["Total"][25] == 100.0
    # Trapezoids on x in [0, 1] with step 0.02: one half step (1) + 25 full steps (50).
    assert pckh_auc(pred, gt, annotated, head_size) == pytest.approx(51.0)


def test_pckh_table_rejects_other_joint_counts():
    with pytest.raises(ValueError, match="16 MPII joints"):
        pckh_table(np.zeros((1, 11, 2)), np.zeros((1, 11, 2)), np.ones((1, 11), bool), [1.0])


def test_zero_head_size_is_an_error_naming_the_person():
    pred, gt, annotated, head_size = mpii_case()
    head_size[2] = 0.0
    with pytest.raises(ValueError, match="person 2"):
        pckh_table(pred, gt, annotated, head_size)


def test_normalized_distance_is_nan_for_unannotated_joints():
    d = normalized_distances(
        [[[3.0, 4.0], [9.0, 9.0]]], [[[0.0, 0.0], [0.0, 0.0]]], [[True, False]], [10.0]
    )
    assert d[0, 0] == 0.5 and np.isnan(d[0, 1])


def test_flic_pck_averages_left_and_right_elbows_and_wrists():
    # FLIC order: l_shoulder, l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist, l_hip, r_hip,
    # l_eye, r_eye, nose.
    gt = np.zeros((2, 11, 2))
    pred = gt.copy()
    annotated = np.ones((2, 11), bool)
    torso = np.array([100.0, 50.0])
    pred[0, 1] += [12.0, 16.0]    # l_elbow 20 px / 100 = 0.2 exactly: correct
    pred[0, 4] += [21.0, 0.0]     # r_elbow 0.21: wrong
    pred[1, 1] += [11.0, 0.0]     # l_elbow 11 / 50 = 0.22: wrong
    pred[0, 5] += [30.0, 0.0]     # r_wrist 0.3: wrong
    pred[1, 2] += [1000.0, 0.0]   # l_wrist unannotated for person 1
    annotated[1, 2] = False
    table = pck_table(pred, gt, annotated, torso)
    assert table["Elbow"] == 50.0              # (l 50 + r 50) / 2
    assert table["Wrist"] == 75.0              # (l 100 + r 50) / 2
    assert table["l_elbow"] == table["r_elbow"] == 50.0
    assert table["l_wrist"] == 100.0 and table["nose"] == 100.0
    assert table["Total"] == pytest.approx(100 * 18 / 21)
    assert list(table)[:2] == ["Elbow", "Wrist"]


def test_flic_torso_size_protocols():
    joints = np.zeros((1, 11, 2))
    joints[0, 3], joints[0, 6] = [0.0, 0.0], [30.0, 40.0]   # r_shoulder, l_hip
    joints[0, 0], joints[0, 7] = [0.0, 0.0], [6.0, 8.0]     # l_shoulder, r_hip
    assert flic_torso_size(joints)[0] == 50.0
    assert flic_torso_size(joints, "lsho_rhip")[0] == 10.0


def test_generic_pck_names_every_joint_and_pools_total():
    pred = np.array([[[0.0, 0.0], [5.0, 0.0], [0.0, 0.0]]])
    gt = np.zeros_like(pred)
    table = pck_per_joint(pred, gt, [[True, True, False]], [10.0], 0.2, ("a", "b", "c"))
    assert table["a"] == 100.0 and table["b"] == 0.0 and np.isnan(table["c"])
    assert table["Total"] == 50.0


def load_valid_h5():
    if not VALID_H5.exists():
        pytest.skip(f"{VALID_H5} not found (the shared MPII validation annotations)")
    h5py = pytest.importorskip("h5py")
    with h5py.File(VALID_H5, "r") as f:
        gt = f["part"][()]
        head_size = f["normalize"][()]
    annotated = np.any(gt != 0, axis=-1)
    return gt, annotated, head_size


def test_valid_h5_ground_truth_scored_against_itself_is_100():
    gt, annotated, head_size = load_valid_h5()
    assert gt.shape == (2958, 16, 2)
    table = pckh_table(gt, gt, annotated, head_size)
    assert all(value == 100.0 for value in table.values())
    assert pckh_auc(gt, gt, annotated, head_size) == pytest.approx(100.0)
    assert pckh_mean(gt, gt, annotated, head_size)["Mean"] == 100.0


def test_valid_h5_perturbed_copy_gives_hand_checkable_numbers():
    gt, annotated, head_size = load_valid_h5()
    pred = gt.astype(np.float64).copy()
    even = np.arange(len(gt)) % 2 == 0
    # Even rows move 0.4 head sizes (correct at 0.5), odd rows 0.6 (wrong), along x.
    pred[even, :, 0] += 0.4 * head_size[even, None]
    pred[~even, :, 0] += 0.6 * head_size[~even, None]
    table = pckh_table(pred, gt, annotated, head_size)
    scored = [j for j in range(16) if j not in (PELVIS, THORAX)]
    expected_total = 100 * annotated[even][:, scored].sum() / annotated[:, scored].sum()
    assert table["Total"] == pytest.approx(expected_total)
    expected_r_ankle = 100 * annotated[even, R_ANKLE].sum() / annotated[:, R_ANKLE].sum()
    expected_l_ankle = 100 * annotated[even, 5].sum() / annotated[:, 5].sum()
    assert table["Ankle"] == pytest.approx((expected_r_ankle + expected_l_ankle) / 2)
    # At threshold 0.3 nothing is correct, at 0.6 (inclusive) everything is.
    assert pckh_table(pred, gt, annotated, head_size, threshold=0.3)["Total"] == 0.0
    assert pckh_table(pred, gt, annotated, head_size, threshold=0.61)["Total"] == 100.0
