"""Chapter 8, optimisers: one Adam step, by hand.

The reference is ``backprop.optim.Adam``: the check gives it the learner's state (the step count
so far and the two running averages) and one gradient, and reads back the parameter and the
averages after its ``step()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import Tensor
from backprop.exercises._core import (Case, CheckResult, Mistake, library, run_cases,
                                      run_check)
from backprop.optim import Adam, Optimizer

__all__ = ["adam_update"]

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
NAMES = ("new_theta", "new_m", "new_v")


def _state(shape: tuple[int, ...], t: int, lr: float, seed: int, grad_scale: float = 1.0,
           fresh: bool = False) -> Callable[[], tuple]:
    """``(theta, g, m, v, t, lr)``: a parameter, its gradient and the averages after t - 1 steps
    (zeros before the first; otherwise averages of gradients of the same scale as g)."""

    def args() -> tuple:
        rng = np.random.default_rng(seed)
        theta = rng.normal(size=shape)
        g = grad_scale * rng.normal(size=shape)
        if fresh:
            m, v = np.zeros(shape), np.zeros(shape)
        else:
            m = (1 - BETA1**(t - 1)) * grad_scale * rng.normal(size=shape)
            v = (1 - BETA2**(t - 1)) * grad_scale**2 * rng.uniform(0.5, 2.0, size=shape)
        return theta, g, m, v, t, lr
    return args


CASES = (
    Case("step 1", _state((5,), 1, 0.01, seed=1, fresh=True), None,
         "the first step, from m = v = 0"),
    Case("step 4", _state((5,), 4, 0.01, seed=2), None,
         "step 4, with averages left by three earlier steps"),
    Case("step 1000, 3x4", _state((3, 4), 1000, 0.003, seed=3), None,
         "a 3 x 4 weight at step 1000 and another learning rate: by then 1 - beta1^t is "
         "almost 1 but 1 - beta2^t is still about 0.63"),
    Case("tiny gradients", _state((5,), 2, 0.01, seed=4, grad_scale=1e-6), None,
         "gradients near 1e-6, so sqrt(v_hat) is near 1e-6 and epsilon (1e-8) is no longer "
         "negligible: where exactly is it added?"),
)


def _reference(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
               lr: float) -> tuple:
    param = Tensor(theta.copy(), requires_grad=True)
    param.grad = g.copy()
    adam = Adam([param], lr=lr, betas=(BETA1, BETA2), eps=EPS)
    adam.steps[0] = t - 1
    adam.first_moments[0], adam.second_moments[0] = m.copy(), v.copy()
    adam.step()
    return param.data, adam.first_moments[0], adam.second_moments[0]


def _run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, CASES, NAMES)


def _adam(*, correct: bool = True, square: bool = True, eps_inside: bool = False,
          t_shift: int = 0, scale_new: bool = True, correct_v: bool = True,
          ) -> Callable[..., tuple]:
    """Adam with one thing changed: the mistakes below."""

    def step(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
             lr: float) -> tuple:
        m = BETA1 * m + ((1 - BETA1) if scale_new else 1.0) * g
        v = BETA2 * v + ((1 - BETA2) if scale_new else 1.0) * (g * g if square else np.abs(g))
        steps = t + t_shift
        m_hat = m / (1 - BETA1**steps) if correct else m
        v_hat = v / (1 - BETA2**steps) if correct and correct_v else v
        denominator = np.sqrt(v_hat + EPS) if eps_inside else np.sqrt(v_hat) + EPS
        return theta - lr * m_hat / denominator, m, v
    return step


def _corrected_returned(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                        t: int, lr: float) -> tuple:
    new_theta, new_m, new_v = _reference(theta, g, m, v, t, lr)
    return new_theta, new_m / (1 - BETA1**t), new_v / (1 - BETA2**t)


MISTAKES = (
    Mistake("no bias correction: m and v start at 0, so early on they are too small; divide "
            "by 1 - beta^t (each beta to the power of the step number) before the step.",
            _adam(correct=False)),
    Mistake("only m is corrected: v is biased towards 0 in the same way, by 1 - beta2^t.",
            _adam(correct_v=False)),
    Mistake("the step number in the correction is off by one: t counts from 1, and the first "
            "step divides by 1 - beta (not 1 - beta^0 = 0, nor 1 - beta^2).",
            _adam(t_shift=-1)),
    Mistake("the step number in the correction is off by one: t counts from 1, and the first "
            "step divides by 1 - beta (not 1 - beta^2).", _adam(t_shift=1)),
    Mistake("epsilon goes outside the square root, sqrt(v_hat) + eps: inside, it weighs "
            "far more when gradients are small.", _adam(eps_inside=True), ("new_theta",)),
    Mistake("v averages the SQUARED gradient, g * g, not |g| or g.", _adam(square=False)),
    Mistake("the new gradient enters each average with weight 1 - beta, so that a constant "
            "gradient g leaves m at g (not g / (1 - beta)).", _adam(scale_new=False)),
    Mistake("the function returns the bias-corrected m_hat and v_hat as the new averages: "
            "the correction is for this step only; the averages the next step builds on are "
            "the uncorrected m and v.", _corrected_returned, ("new_m", "new_v")),
    Mistake("the step goes uphill: the parameter moves AGAINST m_hat, theta - lr * ...",
            lambda theta, g, m, v, t, lr: (2 * theta - _reference(theta, g, m, v, t, lr)[0],
                                           *_reference(theta, g, m, v, t, lr)[1:]),
            ("new_theta",)),
    Mistake("that is the step, not the new parameter: return theta minus the step.",
            lambda theta, g, m, v, t, lr: (theta - _reference(theta, g, m, v, t, lr)[0],
                                           *_reference(theta, g, m, v, t, lr)[1:]),
            ("new_theta",)),
)


FORBID = library((Adam, "step", "backprop.optim.Adam.step"),
                 (Adam, "_update_moments", "backprop.optim.Adam._update_moments"),
                 (Optimizer, "step", "backprop.optim.Optimizer.step"))
ALLOWED = "NumPy"


def adam_update(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(theta, g, m, v, t, lr) -> (new_theta, new_m, new_v)``: one Adam step
    with beta1 = 0.9, beta2 = 0.999 and eps = 1e-8, for step number t (counted from 1).

    Checked at the first step from zeros, at step 4 with earlier averages, on a 3 x 4 weight at
    step 1000 with another learning rate, and with gradients near 1e-6 (where epsilon's place
    matters), against ``backprop.optim.Adam``. The arrays given must be left unchanged (return
    new ones). Allowed: NumPy; not the library's ``Adam``.
    """
    return run_check("Optimisers: one Adam step", solution, _run, _reference,
                     mistakes=MISTAKES, forbid=FORBID, allowed=ALLOWED, products=False,
                     gradient=False,
                     changed_hint="`m *= beta1` or `theta -= ...` writes into the caller's "
                     "array: the caller's old state is gone. `m = beta1 * m + ...` makes a "
                     "new array, which is what the function returns.")
