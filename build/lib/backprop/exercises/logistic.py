"""Chapter 4, logistic regression: the gradient of the binary cross-entropy, and one step of
gradient descent.

The reference is ``backprop.logistic.LogisticRegression`` (its hand-derived ``backward``) and
``backprop.optim.SGD``; the check sets their parameters to the learner's inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import stable_sigmoid
from backprop.exercises._core import CheckResult, Mistake, returned, run_check
from backprop.logistic import LogisticRegression
from backprop.optim import SGD

__all__ = ["bce_gradient", "logistic_step"]

BATCH, FEATURES, LR = 6, 4, 0.5


def _inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(BATCH, FEATURES))
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    return x, y, rng.normal(size=FEATURES), 0.3


def _model(w: np.ndarray, b: float) -> LogisticRegression:
    model = LogisticRegression(FEATURES)
    model.weight.data = np.array(w, dtype=np.float64)
    model.bias.data = np.array(b, dtype=np.float64)
    return model


def _reference_gradient(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple:
    model = _model(w, b)
    model.backward(x, y)
    return model.weight.grad, model.bias.grad


def _reference_step(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lr: float) -> tuple:
    model = _model(w, b)
    model.backward(x, y)
    SGD(model.parameters(), lr=lr).step()
    return model.weight.data, model.bias.data


def _gradient_run(solution: Callable[..., Any]) -> dict[str, Any]:
    x, y, w, b = _inputs()
    return returned(solution(x, y, w, b), ("grad_w", "grad_b"))


def _step_run(solution: Callable[..., Any]) -> dict[str, Any]:
    x, y, w, b = _inputs()
    return returned(solution(x, y, w, b, LR), ("new_w", "new_b"))


def _error(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return stable_sigmoid(x @ w + b) - y


GRADIENT_MISTAKES = (
    Mistake("the error must be p - y with p = sigmoid(z) the predicted probability; "
            "z = x . w + b is only the logit.",
            lambda x, y, w, b: (x.T @ (x @ w + b - y) / len(y), np.mean(x @ w + b - y))),
    Mistake("for the cross-entropy the sigmoid's slope p (1 - p) cancels: dL/dz = p - y, with "
            "no extra factor (that factor belongs to the squared error).",
            lambda x, y, w, b: _times_slope(x, y, w, b)),
    Mistake("the bias gradient is one number, the mean of (p - y) over the batch.",
            lambda x, y, w, b: (x.T @ _error(x, y, w, b) / len(y), _error(x, y, w, b) / len(y)),
            ("grad_b",)),
)


GRADIENT_ERRORS = (
    (ValueError, "matmul", "the shapes of a matrix product do not line up. Write them down: "
     "x (batch, features), p - y (batch,); grad_w must come out (features,), one number per "
     "weight, summed over the batch. Which transpose makes that happen?"),
)


def _times_slope(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple:
    p = stable_sigmoid(x @ w + b)
    delta = (p - y) * p * (1 - p)
    return x.T @ delta / len(y), delta.mean()


def bce_gradient(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, y, w, b) -> (grad_w, grad_b)``: the gradient of the MEAN binary
    cross-entropy of p = sigmoid(x @ w + b).

    x (batch 6, 4 features), y of 0s and 1s (6,), w (4,), b a number; grad_w (4,) and grad_b a
    number. Reference: ``backprop.logistic.LogisticRegression.backward``.
    """
    return run_check("Logistic regression: the BCE gradient", solution, _gradient_run,
                     _reference_gradient, mistakes=GRADIENT_MISTAKES, batch=BATCH,
                     error_hints=GRADIENT_ERRORS)


def _stale(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lr: float) -> tuple:
    """Update w first, then compute the bias gradient with the NEW w: a wrong answer."""
    new_w = w - lr * x.T @ _error(x, y, w, b) / len(y)
    return new_w, b - lr * np.mean(_error(x, y, new_w, b))


def _step(scale_w: float, scale_b: float, summed: bool = False) -> Callable[..., tuple]:
    """w - scale_w * grad_w, b - scale_b * grad_b, with the sum instead of the mean if asked."""

    def step(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, lr: float) -> tuple:
        error = _error(x, y, w, b) * (len(y) if summed else 1)
        return w - scale_w * lr * x.T @ error / len(y), b - scale_b * lr * error.mean()

    return step


STEP_MISTAKES = (
    Mistake("the step goes uphill: gradient DESCENT subtracts lr times the gradient.",
            _step(-1.0, -1.0)),
    Mistake("the learning rate is missing: the step is lr times the gradient.",
            lambda x, y, w, b, lr: _step(1 / lr, 1 / lr)(x, y, w, b, lr)),
    Mistake("both gradients must be computed at the OLD parameters before either changes; here "
            "b's gradient used the already updated w.", _stale, ("new_b",)),
    Mistake("the gradient is summed over the batch instead of averaged: the loss is a mean, so "
            "its gradient has a 1/N.", _step(1.0, 1.0, summed=True)),
    Mistake("the bias is not updated: it has a gradient too.", _step(1.0, 0.0), ("new_b",)),
    Mistake("that is the gradient itself; the step returns the UPDATED parameters, the old "
            "ones moved a little against the gradient.",
            lambda x, y, w, b, lr: _reference_gradient(x, y, w, b)),
)


def logistic_step(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, y, w, b, lr) -> (new_w, new_b)``: one step of gradient descent on
    the mean binary cross-entropy, from the same inputs as ``bce_gradient`` and lr = 0.5.

    Reference: ``LogisticRegression.backward`` then ``backprop.optim.SGD(lr).step()``.
    """
    return run_check("Logistic regression: one gradient-descent step", solution, _step_run,
                     _reference_step, mistakes=STEP_MISTAKES)
