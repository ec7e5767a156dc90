"""Occlusion analysis: visible vs occluded accuracy and annotation-presence precision-recall."""

import numpy as np
import pytest

from hg_keras.evaluation.occlusion import (
    pr_auc,
    precision_recall,
    presence_analysis,
    visibility_masks,
    visibility_tables,
)
from hg_keras.evaluation.pck import pck_per_joint


def test_occluded_joints_are_annotated_but_not_visible():
    masks = visibility_masks([[True, True, False]], [[True, False, False]])
    np.testing.assert_array_equal(masks["all"], [[True, True, False]])
    np.testing.assert_array_equal(masks["visible"], [[True, False, False]])
    np.testing.assert_array_equal(masks["occluded"], [[False, True, False]])


def test_visibility_tables_score_visible_and_occluded_joints_separately():
    gt = np.zeros((2, 2, 2))
    pred = gt.copy()
    pred[:, 1] += [5.0, 0.0]  # joint "b" wrong for both people
    annotated = np.ones((2, 2), bool)
    visible = np.array([[True, True], [False, False]])  # person 1 fully occluded
    pred[1, 0] += [5.0, 0.0]  # ... and wrong on "a" too
    tables = visibility_tables(pck_per_joint, pred, gt, annotated, visible, [10.0, 10.0],
                               threshold=0.2, joint_names=("a", "b"))
    assert tables["all"]["Total"] == 25.0
    assert tables["visible"]["Total"] == 50.0       # person 0: a right, b wrong
    assert tables["occluded"]["Total"] == 0.0       # person 1: both wrong
    assert tables["visible"]["a"] == 100.0 and tables["occluded"]["a"] == 0.0


def test_precision_recall_matches_hand_computed_ranking():
    # Ranked: 0.9 (pos), 0.8 (neg), 0.3 (pos).
    precision, recall, thresholds = precision_recall([True, False, True], [0.9, 0.8, 0.3])
    np.testing.assert_allclose(precision, [1.0, 1.0, 0.5, 2 / 3])
    np.testing.assert_allclose(recall, [0.0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.3])
    # Trapezoids over recall: 0.5 * 1 (first step) + 0 + 0.5 * (0.5 + 2/3) / 2.
    assert pr_auc(precision, recall) == pytest.approx(100 * (0.5 + 0.5 * (0.5 + 2 / 3) / 2))


def test_tied_scores_form_one_threshold():
    precision, recall, thresholds = precision_recall([True, False, True, False],
                                                     [0.9, 0.9, 0.3, 0.3])
    np.testing.assert_allclose(precision, [1.0, 0.5, 0.5])
    np.testing.assert_allclose(recall, [0.0, 0.5, 1.0])
    assert len(thresholds) == 2


def test_no_positive_gives_empty_curve_and_nan_auc():
    precision, recall, _ = precision_recall([False, False], [0.1, 0.2])
    assert len(precision) == 0
    assert np.isnan(pr_auc(precision, recall))


def test_presence_from_a_separating_statistic_has_auc_100():
    annotated = np.array([[True, True], [False, True], [True, False], [False, False]])
    heatmap_max = np.where(annotated, 0.9, 0.1) + np.arange(4)[:, None] * 0.01
    heatmap_mean = np.where(annotated, 0.001, 0.002)  # inverted: annotated ones rank last
    curves = presence_analysis(annotated, heatmap_max, heatmap_mean)
    assert [c.auc for c in curves["max"]] == [100.0, 100.0]
    assert curves["max"][0].positives == 2 and curves["max"][0].negatives == 2
    # Inverted ranking: the two missing joints come first (precision 0 at recall 0), then
    # all four (precision 0.5 at recall 1): area = 1 * (0 + 0.5) / 2.
    assert curves["mean"][0].auc == pytest.approx(25.0)


def test_presence_of_a_joint_never_missing_is_not_measurable():
    curves = presence_analysis(np.ones((3, 1), bool), np.ones((3, 1)), np.ones((3, 1)))
    assert np.isnan(curves["max"][0].auc) and curves["max"][0].negatives == 0


def test_presence_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="heatmap_max"):
        presence_analysis(np.ones((2, 3), bool), np.ones((2, 2)), np.ones((2, 3)))
