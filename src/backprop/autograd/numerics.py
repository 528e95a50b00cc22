"""NumPy formulas that stay finite for any input, shared by the engine and the hand
models.

Nothing here knows about tensors or graphs: these take and return arrays.
"""

from __future__ import annotations

import numpy as np


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) on an array, without overflow for any x.

    The textbook formula computes e^-x, which overflows for x = -1000. Both branches
    below only ever compute e^-|x| <= 1: for x >= 0 use 1 / (1 + e^-x), for x < 0 the
    equal e^x / (1 + e^x).
    """
    small_exp = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + small_exp), small_exp / (1.0 + small_exp))


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-example cross-entropy of integer ``labels`` under softmax(``logits``), and
    its gradient with respect to the logits, softmax(z) - one_hot(y), one row per
    example.

    The log-sum-exp trick: softmax(z) = softmax(z - max(z)), so every exponent is <= 0
    and the sum is at least 1, whose log is safe.
    """
    rows = np.arange(len(labels))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    losses = np.log(sums[:, 0]) - shifted[rows, labels]  # -log softmax(z)[y]
    grad = exps / sums
    grad[rows, labels] -= 1
    return losses, grad
