"""Scores for a yes/no classifier: the confusion matrix and what it says beyond accuracy.

When one answer is rare (one MNIST digit in ten is a 9), accuracy alone flatters: a model that
always says "no" is right 90% of the time and useless. Precision asks "when it says yes, how
often is it right?", recall "of the real yeses, how many did it find?".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["confusion_matrix", "precision_recall", "precision_recall_curve"]


def _binary(values: ArrayLike, name: str) -> np.ndarray:
    """A vector of 0s and 1s (booleans allowed), or a clear error."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be a vector, got shape {values.shape}")
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(f"{name} must hold only 0 and 1 (or False and True)")
    return values.astype(bool)


def confusion_matrix(targets: ArrayLike, predictions: ArrayLike) -> np.ndarray:
    """The 2x2 counts [[true neg., false pos.], [false neg., true pos.]].

    Rows are the true class (0, 1), columns the predicted class, as in scikit-learn.
    """
    t = _binary(targets, "targets")
    p = _binary(predictions, "predictions")
    if t.shape != p.shape:
        raise ValueError(f"targets {t.shape} and predictions {p.shape} differ in length")
    return np.array([[np.sum(~t & ~p), np.sum(~t & p)],
                     [np.sum(t & ~p), np.sum(t & p)]])


def precision_recall(targets: ArrayLike, predictions: ArrayLike) -> tuple[float, float]:
    """(precision, recall) = (TP / (TP + FP), TP / (TP + FN)).

    Precision is 1.0 by convention when the model predicts no positive at all (it made no
    false claim); recall is 1.0 when there is no positive to find.
    """
    (_, fp), (fn, tp) = confusion_matrix(targets, predictions)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return float(precision), float(recall)


def precision_recall_curve(
    targets: ArrayLike, scores: ArrayLike, thresholds: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of the rule "positive if score >= threshold", for each threshold.

    Raising the threshold makes the model say yes less often: precision tends to rise and
    recall can only fall. Returns two arrays shaped like ``thresholds``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    pairs = [precision_recall(targets, scores >= t) for t in np.asarray(thresholds, dtype=float)]
    precision, recall = np.array(pairs).reshape(-1, 2).T
    return precision, recall
