"""Chapter 8, optimisers: one Adam step, and one step of SGD with momentum, by hand.

The reference is ``backprop.optim.Adam``: the check gives it the learner's state (the step count
so far and the two running averages) and one gradient, and reads back the parameter and the
averages after its ``step()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import Tensor
from backprop.exercises._core import (Case, CheckResult, Mistake, is_float32, library,
                                      returned, run_cases, run_check)
from backprop.optim import SGD, Adam, Optimizer

__all__ = ["adam_update", "momentum_step"]

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


def _efficient_reference(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                         t: int, lr: float) -> tuple:
    """Kingma & Ba's "efficient" ordering of the same step (their section 2):
    alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t), theta - alpha_t m / (sqrt(v) + eps).
    It adds eps to sqrt(v) before the correction, not to sqrt(v_hat): an epsilon
    1 / sqrt(1 - beta2^t) times larger. The same step wherever eps is negligible, a
    slightly shorter one on gradients near eps (the case "tiny gradients")."""
    m = BETA1 * m + (1 - BETA1) * g
    v = BETA2 * v + (1 - BETA2) * g * g
    alpha = lr * np.sqrt(1 - BETA2**t) / (1 - BETA1**t)
    return theta - alpha * m / (np.sqrt(v) + EPS), m, v


EFFICIENT_NOTE = ("this is Kingma & Ba's \"efficient\" form, eps added to sqrt(v) "
                  "before the bias correction: on tiny gradients its step is slightly "
                  "shorter than optim.Adam's (and PyTorch's), which add eps to "
                  "sqrt(v_hat); both are Adam, and the check compared yours with that "
                  "form.")


def _state_first(names: tuple[str, ...]) -> Callable[[Any, Any], dict[str, Any]]:
    """Read the returned tuple, then list the state (the averages, the buffer) before the
    parameter: the parameter's step is built from them, so when both are wrong the first
    wrong row, the one the hint is about, is the cause rather than its consequence."""

    def read(result: Any, given: Any) -> dict[str, Any]:
        values = returned(result, given)
        return {name: values[name] for name in names}
    return read


def _run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, CASES, NAMES, read=_state_first(("new_m", "new_v", "new_theta")))


def _adam(*, correct: bool = True, square: bool = True, eps_inside: bool = False,
          t_shift: int = 0, scale_new: bool = True, correct_v: bool = True,
          v_plain: bool = False, root: bool = True, swap_betas: bool = False,
          m_weights: tuple[float, float] = (BETA1, 1 - BETA1),
          v_weights: tuple[float, float] = (BETA2, 1 - BETA2), v_from_m: bool = False,
          times: bool = False, linear_t: bool = False, root_outside: bool = False,
          m_twice: bool = False,
          ) -> Callable[..., tuple]:
    """Adam with one thing changed: the mistakes below. ``m_weights`` and ``v_weights`` are
    (weight of the old average, weight of the new gradient)."""

    def step(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int,
             lr: float) -> tuple:
        m = m_weights[0] * m + (m_weights[1] if scale_new else 1.0) * g
        new = m if v_from_m else g
        v = v_weights[0] * v + (v_weights[1] if scale_new else 1.0) * (
            new if v_plain else new * new if square else np.abs(new))
        steps = t + t_shift
        b1, b2 = (BETA2, BETA1) if swap_betas else (BETA1, BETA2)
        c1, c2 = (1 - b1 * steps, 1 - b2 * steps) if linear_t else (
            1 - b1**steps, 1 - b2**steps)
        if times:  # multiplied by the corrections instead of divided
            c1, c2 = 1 / c1, 1 / c2
        m_hat = m / c1 if correct else m
        if m_twice:
            m_hat = m_hat / c1
        v_hat = v / c2 if correct and correct_v else v
        sqrt = np.sqrt if root else (lambda a: a)
        denominator = sqrt(v_hat + EPS) if eps_inside else sqrt(v_hat) + EPS
        if root_outside:  # sqrt(v) / (1 - beta2^t): the correction left outside the root
            denominator = np.sqrt(v) / c2 + EPS
        return theta - lr * m_hat / denominator, m, v
    return step


def _corrected_returned(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                        t: int, lr: float) -> tuple:
    new_theta, new_m, new_v = _reference(theta, g, m, v, t, lr)
    return new_theta, new_m / (1 - BETA1**t), new_v / (1 - BETA2**t)


MISTAKES = (
    Mistake("no bias correction: m and v start at 0, so early on they are too small. Run "
            "the average by hand for a constant gradient g: what is m after t steps, as a "
            "fraction of g? Undo that fraction before the step.",
            _adam(correct=False)),
    Mistake("only m is corrected: v starts at 0 too, and is biased towards 0 in the same "
            "way, with its own beta.",
            _adam(correct_v=False)),
    Mistake("the step number in the correction is off by one: t counts from 1 (the first "
            "call has t = 1), and after one step m holds one share of g, not none.",
            _adam(t_shift=-1)),
    Mistake("the step number in the correction is off by one: t counts from 1 (the first "
            "call has t = 1), and after one step m holds one share of g, not two.",
            _adam(t_shift=1)),
    Mistake("the corrections multiply m and v: they undo the shrinking towards 0, so they "
            "DIVIDE, m_hat = m / (1 - beta1^t): work out m after one step for a constant g.",
            _adam(times=True), ("new_theta",)),
    Mistake("m is corrected twice: m_hat = m / (1 - beta1^t) once; the step then uses m_hat "
            "as it is.", _adam(m_twice=True), ("new_theta",)),
    Mistake("the correction uses beta * t, not beta to the power t: after t steps of the "
            "average, the weight that fell on the zeros it started from is beta^t, so "
            "m_hat = m / (1 - beta1**t). (With beta * t, 1 - beta2 * t soon turns negative, "
            "and its square root is nan.)", _adam(linear_t=True), ("new_theta",)),
    Mistake("v's correction is outside the square root: v_hat = v / (1 - beta2^t) first, "
            "then its root, sqrt(v_hat), whose correction is the root of v's.",
            _adam(root_outside=True), ("new_theta",)),
    Mistake("epsilon goes outside the square root, sqrt(v_hat) + eps: inside, it weighs "
            "far more when gradients are small.", _adam(eps_inside=True), ("new_theta",)),
    Mistake("v averages the SQUARED gradient, g * g, not |g| or g.", _adam(square=False)),
    Mistake("v averages the SQUARED gradient, not the gradient itself: built from g, v can be "
            "negative, and its square root is then nan.", _adam(v_plain=True)),
    Mistake("the step divides by the SQUARE ROOT of v_hat (plus eps): v holds squared "
            "gradients, so its root is on the gradient's scale; without it the step size "
            "depends on the gradient's size again.", _adam(root=False), ("new_theta",)),
    Mistake("the betas are swapped in the bias correction: m_hat is corrected with beta1's "
            "power (m is averaged with beta1), v_hat with beta2's.", _adam(swap_betas=True),
            ("new_theta",)),
    Mistake("the new gradient enters each average with weight 1 - beta, so that a constant "
            "gradient g leaves m at g (not g / (1 - beta)).", _adam(scale_new=False)),
    Mistake("v is built from the new m, squared: v averages the squared GRADIENT, g * g, "
            "element by element, not the square of m (m is already an average of gradients; "
            "its square is not the average of their squares).", _adam(v_from_m=True)),
    Mistake("the betas are swapped in the running averages: m keeps beta1 = 0.9 of its old "
            "value (it follows the gradient over about 10 steps), v keeps beta2 = 0.999 "
            "(over about 1000).",
            _adam(m_weights=(BETA2, 1 - BETA2), v_weights=(BETA1, 1 - BETA1))),
    Mistake("beta and 1 - beta are swapped in the running averages: the OLD average keeps "
            "the weight beta (close to 1) and the new gradient gets 1 - beta (small), so that "
            "the average changes slowly.",
            _adam(m_weights=(1 - BETA1, BETA1), v_weights=(1 - BETA2, BETA2))),
    Mistake("beta1 and 1 - beta1 are swapped in m's average: the OLD m keeps the weight "
            "beta1 = 0.9 and the new gradient gets 1 - beta1 = 0.1.",
            _adam(m_weights=(1 - BETA1, BETA1))),
    Mistake("beta2 and 1 - beta2 are swapped in v's average: the OLD v keeps the weight "
            "beta2 = 0.999 and the new squared gradient gets 1 - beta2 = 0.001.",
            _adam(v_weights=(1 - BETA2, BETA2))),
    Mistake("v is built with beta1's weight: the new squared gradient enters v with "
            "1 - beta2 = 0.001 (v has its own beta, beta2), not 1 - beta1.",
            _adam(v_weights=(BETA2, 1 - BETA1))),
    Mistake("v is built with beta1: v has its own beta, beta2 = 0.999 (old v) and "
            "1 - beta2 = 0.001 (new squared gradient).",
            _adam(v_weights=(BETA1, 1 - BETA1))),
    Mistake("the function returns the bias-corrected m_hat and v_hat as the new averages: "
            "the correction is for this step only; the averages the next step builds on are "
            "the uncorrected m and v.", _corrected_returned, ("new_m", "new_v")),
    Mistake("the step goes uphill: the parameter moves AGAINST m_hat, theta - lr * ...",
            lambda theta, g, m, v, t, lr: (2 * theta - _reference(theta, g, m, v, t, lr)[0],
                                           *_reference(theta, g, m, v, t, lr)[1:]),
            ("new_theta",)),
    Mistake("that is a step along m_hat alone: Adam divides it, element by element, by "
            "sqrt(v_hat) + eps, the running size of the gradient (that is what makes each "
            "element's step about lr).",
            lambda theta, g, m, v, t, lr: (
                theta - lr * (BETA1 * m + (1 - BETA1) * g) / (1 - BETA1**t),
                *_reference(theta, g, m, v, t, lr)[1:]), ("new_theta",)),
    Mistake("that is the step, not the new parameter: return theta minus the step.",
            lambda theta, g, m, v, t, lr: (theta - _reference(theta, g, m, v, t, lr)[0],
                                           *_reference(theta, g, m, v, t, lr)[1:]),
            ("new_theta",)),
)


FORBID = library((Adam, "step", "backprop.optim.Adam.step"),
                 (Adam, "_update_moments", "backprop.optim.Adam._update_moments"),
                 (Optimizer, "step", "backprop.optim.Optimizer.step"))
ALLOWED = "NumPy"


def _explain_adam_lr(solution: Callable[..., Any]) -> str | None:
    """The same new theta at two learning rates: lr is not the one passed in."""
    thetas = []
    for lr in (0.01, 0.003):
        theta, g, m, v, t, _ = CASES[1].args()
        try:
            thetas.append(np.asarray(solution(theta, g, m, v, t, lr)[0], dtype=np.float64))
        except Exception:
            return None
    theta = CASES[1].args()[0]
    if thetas[0].shape != theta.shape or thetas[1].shape != theta.shape:
        return None
    if not np.allclose(thetas[0], theta) and np.allclose(thetas[0], thetas[1], rtol=1e-9,
                                                         atol=0):
        return ("your step does not depend on lr: the check tries another learning rate, and "
                "your new theta is the same whatever lr is passed in (a number written in?). "
                "Use the argument lr.")
    return None


_ELSEWHERE = "right up to float32 rounding only, and your"


def _float32_returned(solution: Callable[..., Any], cases: tuple[Case, ...]) -> bool:
    """Whether the learner's function returns a float32 value in any case (an exception
    counts as yes: then nothing is known, and the hint stays as it is)."""
    for case in cases:
        try:
            with np.errstate(all="ignore"):
                result = solution(*case.args())
        except Exception:
            return True
        values = result if isinstance(result, (tuple, list)) else (result,)
        if any(is_float32(value) for value in values):
            return True
    return False


def _no_float32_guess(result: CheckResult, solution: Callable[..., Any],
                      cases: tuple[Case, ...],
                      locate: Callable[[str], str]) -> CheckResult:
    """The check's last resort names float32 when other rows are right only to about 4
    digits; with float64 values throughout that is a coincidence of sizes (a wrong v whose
    error is small next to theta), not float32: say where the mistake lies instead."""
    if result.hint and _ELSEWHERE in result.hint and not _float32_returned(solution, cases):
        wrong = next(row.name for row in result.rows if row.done and not row.ok)
        result.hint = ("your values are float64 throughout, so no float32 rounding is to "
                       "blame: " + locate(wrong.split(",")[0]))
    return result


def _adam_locate(name: str) -> str:
    return {
        "new_m": "the first wrong quantity is the new m: m = beta1 * (old m) + (1 - beta1) "
                 "* g. Which weights, which gradient?",
        "new_v": "m is right and v is not: v averages the SQUARED gradient with its own "
                 "beta, beta2. Which values are squared, with which weights?",
    }.get(name, "m and v are right, so the mistake is in the step built from them: the "
                "bias corrections (each average with its own beta, t counted from 1), the "
                "square root of v_hat, eps's place, the sign and lr.")


def adam_update(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(theta, g, m, v, t, lr) -> (new_theta, new_m, new_v)``: one Adam step
    with beta1 = 0.9, beta2 = 0.999 and eps = 1e-8, for step number t (counted from 1).

    Checked at the first step from zeros, at step 4 with earlier averages, on a 3 x 4 weight at
    step 1000 with another learning rate, and with gradients near 1e-6 (where epsilon's place
    matters), against ``backprop.optim.Adam``; Kingma & Ba's "efficient" form, which
    adds eps to sqrt(v) rather than to sqrt(v_hat), passes too (checked against that
    form). The table lists each case's new m and v before
    its new theta (the step is built from them). The inputs are float64, and a float32 answer
    fails. The arrays given must be left unchanged (return
    new ones). Allowed: NumPy; not the library's ``Adam``.
    """
    result = run_check("Optimisers: one Adam step", solution, _run, _reference,
                       mistakes=MISTAKES, forbid=FORBID, allowed=ALLOWED, products=False,
                       gradient=False, explain=_explain_adam_lr,
                       locate=lambda name, got, want: _adam_locate(name.split(",")[0]),
                       changed_hint="`m *= beta1` or `theta -= ...` writes into the caller's "
                       "array: the caller's old state is gone. `m = beta1 * m + ...` makes a "
                       "new array, which is what the function returns.")
    result = _no_float32_guess(result, solution, CASES, _adam_locate)
    if result.status == "failed" and _only_theta_wrong(result):
        efficient = run_check("Optimisers: one Adam step", solution, _run,
                              _efficient_reference, forbid=FORBID, allowed=ALLOWED,
                              products=False, gradient=False)
        if efficient.passed:  # the other placement of epsilon: valid, so it passes
            efficient.note = EFFICIENT_NOTE
            return efficient
    return result


def _only_theta_wrong(result: CheckResult) -> bool:
    """Every average right, and some new theta wrong: the only place where the efficient
    form can differ from the reference (it computes m and v as Adam does)."""
    wrong = [row.name for row in result.rows if row.done and not row.ok]
    return bool(wrong) and all(name.startswith("new_theta") for name in wrong)


# ----------------------------------------------------------------------------- SGD with momentum

MOMENTUM_NAMES = ("new_theta", "new_buffer")


def _momentum_state(shape: tuple[int, ...], lr: float, mu: float, seed: int,
                    first: bool = False) -> Callable[[], tuple]:
    """``(theta, g, buffer, lr, mu)``: a parameter, its gradient, and the buffer left by earlier
    steps (zeros before the first, as chapter 8 starts it: then the buffer becomes g)."""

    def args() -> tuple:
        rng = np.random.default_rng(seed)
        theta, g = rng.normal(size=shape), rng.normal(size=shape)
        buffer = np.zeros(shape) if first else 2.0 * rng.normal(size=shape)
        return theta, g, buffer, lr, mu
    return args


MOMENTUM_CASES = (
    Case("first step", _momentum_state((5,), 0.1, 0.9, seed=11, first=True), None,
         "the first step: the buffer is zeros, so the new buffer is the gradient itself"),
    Case("step with a buffer", _momentum_state((5,), 0.1, 0.9, seed=12), None,
         "a later step, with the buffer left by earlier ones"),
    Case("3x4, lr 0.01, mu 0.5", _momentum_state((3, 4), 0.01, 0.5, seed=13), None,
         "a 3 x 4 weight, another learning rate and another momentum"),
    Case("lr 0.3, mu 0.99", _momentum_state((4,), 0.3, 0.99, seed=14), None,
         "a large momentum (0.99) and learning rate (0.3)"),
)


def _momentum_reference(theta: np.ndarray, g: np.ndarray, buffer: np.ndarray | None,
                        lr: float, mu: float) -> tuple:
    param = Tensor(np.array(theta, dtype=np.float64), requires_grad=True)
    param.grad = np.array(g, dtype=np.float64)
    sgd = SGD([param], lr=lr, momentum=mu)
    if buffer is not None:
        sgd.momentum_buffers[0] = np.array(buffer, dtype=np.float64)
    sgd.step()
    return param.data, sgd.momentum_buffers[0]


def _momentum_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, MOMENTUM_CASES, MOMENTUM_NAMES,
                     read=_state_first(("new_buffer", "new_theta")))


def _momentum(*, weight_new: bool = False, along_g: bool = False, sign: float = 1.0,
              return_old: bool = False, return_g: bool = False,
              lr_inside: bool = False, no_lr: bool = False,
              mu_on_g: bool = False, along_old: bool = False,
              nesterov: bool = False) -> Callable[..., tuple]:
    """SGD with momentum with one thing changed: the mistakes below."""

    def step(theta: np.ndarray, g: np.ndarray, buffer: np.ndarray | None, lr: float,
             mu: float) -> tuple:
        old = np.zeros_like(g) if buffer is None else buffer
        if lr_inside:  # Sutskever's form: the buffer holds lr-scaled steps
            new = mu * old + lr * g
            return theta - new, new
        if weight_new:
            new = mu * old + (1 - mu) * g
        elif mu_on_g:
            new = old + mu * g
        else:
            new = mu * old + g
        direction = g if along_g else new
        if along_old:
            direction = old
        if nesterov:
            direction = g + mu * new
        moved = theta - sign * (1.0 if no_lr else lr) * direction
        if return_g:
            return moved, g.copy()
        return moved, (old.copy() if return_old else new)
    return step


MOMENTUM_MISTAKES = (
    Mistake("your new buffer drops mu * (old buffer): it starts afresh at every call (new "
            "buffer = g), so it carries none of the earlier steps and this is plain gradient "
            "descent. The buffer keeps mu times its old value and adds g to it. Only before the first step is the buffer "
            "zeros, and then mu * buffer + g is g.",
            lambda theta, g, buffer, lr, mu: (theta - lr * g, g.copy())),
    Mistake("the gradient enters the buffer with weight 1 - mu: that is an exponential moving "
            "AVERAGE (Adam's m). PyTorch's momentum adds the whole gradient, "
            "buffer = mu * buffer + g, and the first buffer is g itself.",
            _momentum(weight_new=True)),
    Mistake("the parameter moves along the gradient g, not along the updated buffer: momentum "
            "steps along the buffer, theta - lr * buffer (that is what carries the earlier "
            "gradients into this step).", _momentum(along_g=True), ("new_theta",)),
    Mistake("the step goes uphill: the parameter moves AGAINST the buffer, theta - lr * ...",
            _momentum(sign=-1.0), ("new_theta",)),
    Mistake("the buffer returned is the one given, not the updated one: the next step must "
            "build on mu * buffer + g, so return that.", _momentum(return_old=True),
            ("new_buffer",)),
    Mistake("the buffer returned is this step's gradient, not the updated buffer "
            "mu * buffer + g, which is what the next step builds on.",
            _momentum(return_g=True), ("new_buffer",)),
    Mistake("the learning rate is missing from the step: theta moves by lr times the buffer.",
            _momentum(no_lr=True), ("new_theta",)),
    Mistake("mu multiplies the old buffer, not the new gradient: the buffer decays by mu at "
            "every step and gains the whole new gradient.", _momentum(mu_on_g=True)),
    Mistake("that is the classic (Sutskever) form, buffer = mu * buffer + lr * g and "
            "theta - buffer: with a constant lr its steps are the same, but its buffer holds "
            "lr-scaled steps, so the two part as soon as lr changes (a schedule). This "
            "exercise asks for PyTorch's form, with lr outside the buffer: "
            "buffer = mu * buffer + g, theta - lr * buffer.", _momentum(lr_inside=True)),
    Mistake("the step uses the buffer as it was BEFORE this step's gradient came in: update "
            "the buffer first, then move along the updated one.", _momentum(along_old=True),
            ("new_theta",)),
    Mistake("that is Nesterov's momentum (the step looks ahead, adding mu times the new buffer "
            "to the gradient): this exercise asks for plain momentum, a step along the "
            "updated buffer itself.", _momentum(nesterov=True), ("new_theta",)),
    Mistake("that is the velocity form (CS231n's notes): v = mu * v - lr * g, theta + v. Its "
            "v holds steps, lr folded in, where this exercise's buffer holds gradients, as "
            "PyTorch's does: buffer = mu * buffer + g, theta - lr * buffer.",
            lambda theta, g, buffer, lr, mu: (
                theta + (mu * (np.zeros_like(g) if buffer is None else buffer) - lr * g),
                mu * (np.zeros_like(g) if buffer is None else buffer) - lr * g)),
    Mistake("that is the step, not the new parameter: return theta minus lr times the new "
            "buffer.", lambda theta, g, buffer, lr, mu: (
                _momentum()(theta, g, buffer, lr, mu)[0] - theta,
                _momentum()(theta, g, buffer, lr, mu)[1]), ("new_theta",)),
)

MOMENTUM_ERRORS = (
    (TypeError, "NoneType", "the buffer is given as an array, zeros before the first step; "
     "does your function return a buffer in every case?"),
)

MOMENTUM_FORBID = library((SGD, "step", "backprop.optim.SGD.step"),
                          (SGD, "_update_buffer", "backprop.optim.SGD._update_buffer"),
                          (Optimizer, "step", "backprop.optim.Optimizer.step"))


def momentum_step(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(theta, g, buffer, lr, mu) -> (new_theta, new_buffer)``: one step of
    SGD with momentum, PyTorch's form: ``buffer = mu * buffer + g``, then
    ``theta - lr * buffer``; before the first step the buffer is zeros (PyTorch starts it at
    ``g`` itself, the same).

    Checked at the first step (buffer zeros), at a later step with a buffer, on a 3 x 4 weight
    with lr 0.01 and mu 0.5, and with lr 0.3 and mu 0.99, against
    ``backprop.optim.SGD(momentum=mu)``; the table lists each case's new buffer before its
    new theta (the step is built from it). The buffer is PyTorch's, without lr in it: the classic
    form ``buffer = mu * buffer + lr * g``, ``theta - buffer`` (same steps while lr is constant)
    returns another buffer and fails, with a hint saying so. The arrays given must be left
    unchanged (return new ones). Allowed: NumPy; not the library's ``SGD``.
    """
    result = run_check("Optimisers: one step of SGD with momentum", solution, _momentum_run,
                     _momentum_reference, mistakes=MOMENTUM_MISTAKES, forbid=MOMENTUM_FORBID,
                     error_hints=MOMENTUM_ERRORS, allowed=ALLOWED, products=False,
                     gradient=False,
                     locate=lambda name, got, want: _momentum_locate(name.split(",")[0]),
                     changed_hint="`buffer *= mu`, `buffer += g` or `theta -= ...` writes into "
                     "the caller's array (the optimiser's own SGD does, on its own state; this "
                     "function returns new arrays instead): `new_buffer = mu * buffer + g` "
                     "makes a new one.")
    return _no_float32_guess(result, solution, MOMENTUM_CASES, _momentum_locate)


def _momentum_locate(name: str) -> str:
    if name == "new_buffer":
        return ("the first wrong quantity is the new buffer: it keeps mu times the old "
                "buffer and adds this step's gradient. Which weights, which gradient?")
    return ("the buffer is right, so the mistake is in the step built from it: the "
            "parameter moves against the NEW buffer, by lr times it.")
