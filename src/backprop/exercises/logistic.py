"""Chapter 6, logistic regression: the gradient of the binary cross-entropy, and one step of
gradient descent.

The reference is ``backprop.logistic.LogisticRegression`` (its hand-derived ``backward``) and
``backprop.optim.SGD``; the check sets their parameters to the learner's inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop import logistic as logistic_module
from backprop.autograd import stable_sigmoid
from backprop.exercises._core import (Case, CheckResult, Mistake, autograd_engines, library,
                                      run_cases, run_check, then_harder)
from backprop.logistic import LogisticRegression
from backprop.optim import SGD, Optimizer

__all__ = ["bce_gradient", "logistic_step"]

BATCH, FEATURES, LR = 6, 4, 0.5


def _inputs(batch: int = BATCH, features: int = FEATURES, seed: int = 4, scale: float = 1.0,
            y: tuple[float, ...] | None = None) -> Callable[[], tuple]:
    def args() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        rng = np.random.default_rng(seed)
        x = scale * rng.normal(size=(batch, features))
        labels = (np.array(y, dtype=np.float64) if y is not None
                  else rng.integers(0, 2, size=batch).astype(np.float64))
        return x, labels, rng.normal(size=features), 0.3
    return args


CASES = (
    Case("batch 6", _inputs(y=(1.0, 0.0, 0.0, 1.0, 1.0, 0.0)), BATCH),
    Case("batch 1", _inputs(1, FEATURES, 5, y=(1.0,)), 1,
         "a batch of ONE example: does something assume several rows?"),
    Case("batch 9, 2 features", _inputs(9, 2, 6), 9,
         "another batch size and 2 features: is a size of the first case (6 examples, 4 "
         "features) written in, instead of read from the arguments?"),
    Case("large logits", _inputs(5, FEATURES, 7, scale=400.0, y=(1.0, 0.0, 1.0, 0.0, 1.0)), 5,
         "logits in the hundreds: 1 / (1 + e^-z) overflows in e^-z for z below about -709 "
         "(the value is still right, 0, but with a warning); what else breaks there?"),
)


def _model(w: np.ndarray, b: float) -> LogisticRegression:
    model = LogisticRegression(len(w))
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
    return run_cases(solution, CASES, ("grad_w", "grad_b"))


STEP_CASES = tuple(Case(case.label, (lambda args=case.args: (*args(), LR)), case.batch, case.note)
                   for case in CASES[:3])


def _step_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, STEP_CASES, ("new_w", "new_b"))


def _error(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return stable_sigmoid(x @ w + b) - y


GRADIENT_MISTAKES = (
    Mistake("the error must be p - t with p = sigmoid(z) the predicted probability; "
            "z = x . w + b is only the logit.",
            lambda x, y, w, b: (x.T @ (x @ w + b - y) / len(y), np.mean(x @ w + b - y))),
    Mistake("your error term carries the sigmoid's slope p (1 - p): that is how the SQUARED "
            "error's gradient looks. For the binary cross-entropy the log's derivative cancels "
            "that slope: derive dL/dz again for this loss.",
            lambda x, y, w, b: _times_slope(x, y, w, b)),
    Mistake("that is the gradient of the squared error (p - t)², through the sigmoid's slope "
            "(the 2 and the p (1 - p)): this exercise's loss is the binary CROSS-ENTROPY, "
            "whose log cancels the sigmoid's slope. Derive dL/dz for it.",
            lambda x, y, w, b: _times_slope(x, y, w, b, 2.0)),
    Mistake("the sign is flipped: the gradient points where the loss GROWS; with p the "
            "predicted probability, check the order of the subtraction in your error term.",
            lambda x, y, w, b: (-x.T @ _error(x, y, w, b) / len(y),
                                -np.mean(_error(x, y, w, b)))),
    Mistake("p is computed from a logit that leaves out one of the model's parameters: which "
            "of them does your z use?",
            lambda x, y, w, b: (x.T @ _error(x, y, w, 0.0) / len(y),
                                np.mean(_error(x, y, w, 0.0)))),
    Mistake("the gradient is divided by the number of FEATURES (x.shape[1]): the loss is a "
            "mean over the batch, so its 1/N is over the examples, len(y).",
            lambda x, y, w, b: (x.T @ _error(x, y, w, b) / x.shape[1],
                                np.mean(_error(x, y, w, b))), ("grad_w",)),
    Mistake("that is dL/dp, the gradient with respect to the PROBABILITY: the chain rule "
            "goes on, through the sigmoid (dp/dz = p (1 - p)) and the logit z = x . w + b. "
            "Multiply and simplify: what is left of dL/dz?",
            lambda x, y, w, b: _per_probability(x, y, w, b)),
    Mistake("b's gradient is the mean of the ERRORS p - t over the batch, not of grad_w: b is "
            "added to every logit as it is, so dz/db = 1 (no x in it).",
            lambda x, y, w, b: (x.T @ _error(x, y, w, b) / len(y),
                                np.mean(x.T @ _error(x, y, w, b) / len(y))), ("grad_b",)),
    Mistake("the bias gradient is one number (b is a single parameter, added to every "
            "example): reduce the per-example errors over the batch.",
            lambda x, y, w, b: (x.T @ _error(x, y, w, b) / len(y), _error(x, y, w, b) / len(y)),
            ("grad_b",)),
)


GRADIENT_ERRORS = (
    (ValueError, "matmul", "the shapes of a matrix product do not line up. Write them down: "
     "x (batch, features), p - t (batch,); grad_w must come out (features,), one number per "
     "weight, summed over the batch. Which transpose makes that happen?"),
)


def _per_probability(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> tuple:
    # clipped so that it stays finite on large logits: an answer with nan there is an
    # overflow (told so), whatever this mistake would give
    p = np.clip(stable_sigmoid(x @ w + b), 1e-12, 1 - 1e-12)
    d = (-y / p + (1 - y) / (1 - p)) / len(y)
    return x.T @ d, d.sum()


def _times_slope(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float,
                 factor: float = 1.0) -> tuple:
    p = stable_sigmoid(x @ w + b)
    delta = factor * (p - y) * p * (1 - p)
    return x.T @ delta / len(y), delta.mean()


GRADIENT_FORBID = {**library(
    (LogisticRegression, "backward", "backprop.logistic.LogisticRegression.backward"),
    (logistic_module, "bce_with_logits", "backprop.logistic.bce_with_logits")),
    **autograd_engines()}
STEP_FORBID = {**GRADIENT_FORBID, **library((SGD, "step", "backprop.optim.SGD.step"),
                                            (Optimizer, "step", "backprop.optim.Optimizer.step"))}
ALLOWED = "NumPy, `stable_sigmoid` (backprop.autograd), and your own functions from above"


def bce_gradient(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, y, w, b) -> (grad_w, grad_b)``: the gradient of the MEAN binary
    cross-entropy of p = sigmoid(x @ w + b).

    x (batch, features), y of 0s and 1s (batch,), w (features,), b a number; grad_w
    (features,) and grad_b a number. Checked at batch 6 x 4, at a batch of 1, at batch 9 x 2
    and on logits in the hundreds, against ``backprop.logistic.LogisticRegression.backward``;
    the arguments must be left unchanged. Allowed: NumPy and ``stable_sigmoid``; not the
    library's ``LogisticRegression.backward`` or an autograd engine.
    """
    return run_check("Logistic regression: the BCE gradient", solution, _gradient_run,
                     _reference_gradient, mistakes=GRADIENT_MISTAKES, batch=BATCH,
                     error_hints=GRADIENT_ERRORS, forbid=GRADIENT_FORBID, allowed=ALLOWED)


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
    Mistake("the gradient is DIVIDED by the learning rate: the step is lr TIMES the gradient "
            "(a small lr makes a small step; dividing by it makes the step huge).",
            lambda x, y, w, b, lr: _step(1 / lr**2, 1 / lr**2)(x, y, w, b, lr)),
    Mistake("both gradients must be computed at the OLD parameters before either changes; here "
            "b's gradient used the already updated w.", _stale, ("new_b",)),
    Mistake("the gradient is summed over the batch instead of averaged: the loss is a mean, so "
            "its gradient has a 1/N.", _step(1.0, 1.0, summed=True)),
    Mistake("the bias is not updated: it has a gradient too.", _step(1.0, 0.0), ("new_b",)),
    Mistake("b's gradient is the mean of the ERRORS p - t over the batch, not of grad_w (the "
            "weights' gradient): each parameter moves along its own gradient.",
            lambda x, y, w, b, lr: (w - lr * _reference_gradient(x, y, w, b)[0],
                                    b - lr * np.mean(_reference_gradient(x, y, w, b)[0])),
            ("new_b",)),
    Mistake("that is the gradient itself; the step returns the UPDATED parameters, the old "
            "ones moved a little against the gradient.",
            lambda x, y, w, b, lr: _reference_gradient(x, y, w, b)),
)


def logistic_step(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, y, w, b, lr) -> (new_w, new_b)``: one step of gradient descent on
    the mean binary cross-entropy, from the same inputs as ``bce_gradient`` and lr = 0.5.

    Checked at batch 6 x 4, at a batch of 1 and at batch 9 x 2, then (shown only if it fails) at
    lr = 0.05. The inputs are float64, so the answer must be float64: a float32 answer
    fails, with a hint saying so (the same rule as ``bce_gradient``). The arrays given must be left alone: an update in place (``w -= ...``) fails. Reference: ``LogisticRegression.backward``
    then ``backprop.optim.SGD(lr).step()``. Allowed: NumPy, ``stable_sigmoid`` and your own
    ``bce_gradient``; not the library's model or optimiser.
    """
    name = "Logistic regression: one gradient-descent step"
    options = dict(mistakes=STEP_MISTAKES, forbid=STEP_FORBID, allowed=ALLOWED, products=False,
                   explain=_explain_lr,
                   changed_hint="`w -= lr * grad_w` (or `w[:] = ...`) writes into the "
                   "caller's array, so the old parameters are gone when the caller still "
                   "needs them (to compare, to retry a step); `new_w = w - lr * grad_w` "
                   "makes a new one.")
    # Once lr = 0.5 passes: another learning rate, so that a step with 0.5 written in fails.
    return then_harder(run_check(name, solution, _step_run, _reference_step, **options),
                       lambda: run_check(name, solution, _other_lr_run, _reference_step,
                                         **options),
                       "right at lr = 0.5, but not at lr = 0.05: ")


def _other_lr_run(solution: Callable[..., Any]) -> dict[str, Any]:
    cases = (Case(f"{STEP_CASES[0].label}, lr 0.05",
                  lambda: (*STEP_CASES[0].args()[:4], 0.05), STEP_CASES[0].batch),)
    return run_cases(solution, cases, ("new_w", "new_b"))


_LR_IGNORED = ("the learning rate is missing, or is not the one passed in: your step is the same "
               "whatever lr is passed in (a number written in, or a global variable used instead of the "
               "argument). Use the argument lr: new_w = w - lr * grad_w.")


def _explain_lr(solution: Callable[..., Any]) -> str | None:
    """The answer moves the parameters, by the same step for two different lr."""
    steps = []
    for lr in (0.5, 0.05):
        x, y, w, b, _ = STEP_CASES[0].args()
        try:
            with np.errstate(all="ignore"):
                new_w, new_b = solution(x, y, w, b, lr)
            steps.append(np.concatenate([np.ravel(np.asarray(new_w, dtype=np.float64)),
                                         np.ravel(np.asarray(new_b, dtype=np.float64))]))
        except Exception:
            return None
    x, y, w, b, _ = STEP_CASES[0].args()
    old = np.concatenate([np.ravel(w), np.ravel(np.asarray(b, dtype=np.float64))])
    if steps[0].shape != old.shape or steps[1].shape != old.shape:
        return None
    gw, gb = _reference_gradient(x, y, w, b)
    if np.allclose(steps[0], np.concatenate([np.ravel(gw), np.ravel(gb)]), rtol=1e-4):
        return None  # the gradient itself, returned as the step: a mistake of its own
    moved = not np.allclose(steps[0], old)
    return _LR_IGNORED if moved and np.allclose(steps[0], steps[1], rtol=1e-9, atol=0) else None
