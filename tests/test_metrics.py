"""Confusion matrix, precision and recall for a yes/no classifier."""

import numpy as np
import pytest

from backprop.metrics import confusion_matrix, precision_recall, precision_recall_curve

TARGETS = np.array([1, 1, 1, 0, 0, 0, 0, 0])
PREDICTIONS = np.array([1, 1, 0, 1, 0, 0, 0, 0])


def test_confusion_matrix_counts_each_cell():
    assert confusion_matrix(TARGETS, PREDICTIONS).tolist() == [[4, 1], [1, 2]]
    assert confusion_matrix(TARGETS.astype(bool), PREDICTIONS.astype(float)).sum() == 8


def test_precision_and_recall():
    assert precision_recall(TARGETS, PREDICTIONS) == pytest.approx((2 / 3, 2 / 3))
    assert precision_recall(TARGETS, np.zeros(8)) == (1.0, 0.0)  # never says yes
    assert precision_recall(TARGETS, np.ones(8)) == (3 / 8, 1.0)  # always says yes


def test_curve_recall_falls_as_the_threshold_rises():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, size=200)
    scores = np.clip(0.3 * targets + rng.uniform(size=200) * 0.7, 0, 1)
    thresholds = np.linspace(0, 1, 21)
    precision, recall = precision_recall_curve(targets, scores, thresholds)
    assert precision.shape == recall.shape == thresholds.shape
    assert np.all(np.diff(recall) <= 0) and recall[0] == 1.0
    assert precision[-5] > precision[0]


@pytest.mark.parametrize("targets, predictions, message", [
    (np.array([0, 2]), np.array([0, 1]), "only 0 and 1"),
    (np.array([[0, 1]]), np.array([0, 1]), "vector"),
    (np.array([0, 1, 1]), np.array([0, 1]), "differ in length"),
])
def test_bad_inputs_are_refused(targets, predictions, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(targets, predictions)
