"""Chapter 1, the chain rule: the four deltas and the eight dE/dw of the 2-2-2 network.

The learner writes ``tinynet_backward(weights, inputs, targets)`` returning a dict with the keys
``delta_o1, delta_o2, delta_h1, delta_h2`` (each dE/d of that unit's weighted sum) and
``grads`` (the eight dE/dw1 ... dE/dw8, in order). The reference is ``backprop.tinynet.gradient``;
the deltas, which that function keeps to itself, are the same two lines it starts with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backprop import gradcheck, manual, tinynet
from backprop.gradcheck import numerical_grad
from backprop.exercises import _core
from backprop.exercises._core import (BadReturn, Case, CheckResult, InputChanged, Mistake, NotDone,
                                      autograd_engines, library, note_case, run_cases,
                                      run_check, then_harder)

__all__ = ["tinynet_backward", "central_differences"]

DELTAS = ("delta_o1", "delta_o2", "delta_h1", "delta_h2")
# Backward order: the output deltas, the weights they reach, then the hidden layer.
ORDER = ("delta_o1", "delta_o2", "dE/dw5", "dE/dw6", "dE/dw7", "dE/dw8",
         "delta_h1", "delta_h2", "dE/dw1", "dE/dw2", "dE/dw3", "dE/dw4")


def _reference(weights: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    f = tinynet.forward(weights, inputs, targets)
    (t1, t2), w = targets, weights
    delta_o1 = (f.a_o1 - t1) * f.a_o1 * (1 - f.a_o1)
    delta_o2 = (f.a_o2 - t2) * f.a_o2 * (1 - f.a_o2)
    delta_h1 = (delta_o1 * w[4] + delta_o2 * w[6]) * f.a_h1 * (1 - f.a_h1)
    delta_h2 = (delta_o1 * w[5] + delta_o2 * w[7]) * f.a_h2 * (1 - f.a_h2)
    return {"delta_o1": delta_o1, "delta_o2": delta_o2, "delta_h1": delta_h1,
            "delta_h2": delta_h2, "grads": tinynet.gradient(weights, inputs, targets)}


# A second point, checked once the chapter's passes: an answer with the chapter's numbers typed
# in (or read from tinynet.WEIGHTS instead of the arguments) is right there and nowhere else.
OTHER_WEIGHTS = np.array([-0.3, 0.8, 0.6, -0.5, 1.2, -0.7, 0.4, 0.9])
OTHER_INPUTS = np.array([0.7, -0.2])
OTHER_TARGETS = np.array([0.9, 0.2])


def _run(solution: Callable[..., Any], weights: np.ndarray = tinynet.WEIGHTS,
         inputs: np.ndarray = tinynet.INPUTS, targets: np.ndarray = tinynet.TARGETS,
         ) -> dict[str, Any]:
    note_case("the chapter's numbers" if weights is tinynet.WEIGHTS else "other numbers")
    args = (weights.copy(), inputs.copy(), targets.copy())
    result = solution(*args)
    for given, original, what in zip(args, (weights, inputs, targets),
                                     ("weights", "inputs", "targets")):
        if not np.array_equal(given, original):
            raise InputChanged(_core._PROGRESS[-1].case.label
                               if _core._PROGRESS[-1].case else "", what)
    if result is None or result is Ellipsis:
        raise NotDone
    if not isinstance(result, dict) or not set(DELTAS + ("grads",)) <= set(result):
        missing = (", ".join(k for k in DELTAS + ("grads",) if k not in result)
                   if isinstance(result, dict) else None)
        raise BadReturn("must return a dict with the keys delta_o1, delta_o2, delta_h1, "
                        "delta_h2 and grads (the eight dE/dw, in order).",
                        (f"your dict lacks {missing}: every one of the five keys must be there, "
                         "spelled as listed." if missing else
                         f"you returned a {type(result).__name__}: build a dict, "
                         "{'delta_o1': ..., 'delta_o2': ..., 'delta_h1': ..., 'delta_h2': ..., "
                         "'grads': [dE/dw1, ..., dE/dw8]}, and return it."))
    out = {name: result[name] for name in DELTAS}
    grads = result["grads"]
    if grads is None or grads is Ellipsis:
        grads = [None] * 8
    grads = list(np.asarray(grads, dtype=object).ravel()) if not isinstance(grads, list) else grads
    if len(grads) != 8:
        raise BadReturn(f"returned {len(grads)} values under 'grads'; expected eight, "
                        "dE/dw1 ... dE/dw8.")
    out.update({f"dE/dw{k + 1}": g for k, g in enumerate(grads)})
    return {name: out[name] for name in ORDER}


def _variant(output_delta: Callable, hidden: Callable, value_of: Callable) -> Callable:
    """A wrong solution built from the right one with one piece swapped: the mistake catalogue."""

    def solution(weights: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        f = tinynet.forward(weights, inputs, targets)
        w, (i1, i2) = weights, inputs
        d_o1 = output_delta(f.a_o1, targets[0])
        d_o2 = output_delta(f.a_o2, targets[1])
        d_h1, d_h2 = hidden(d_o1, d_o2, w, f)
        a_h1, a_h2 = value_of(f)
        grads = [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2,
                 d_o1 * a_h1, d_o1 * a_h2, d_o2 * a_h1, d_o2 * a_h2]
        return {"delta_o1": d_o1, "delta_o2": d_o2, "delta_h1": d_h1, "delta_h2": d_h2,
                "grads": grads}

    return solution


def _right_delta(a: float, t: float) -> float:
    return (a - t) * a * (1 - a)


def _right_hidden(d_o1: float, d_o2: float, w: np.ndarray, f: Any) -> tuple[float, float]:
    return ((d_o1 * w[4] + d_o2 * w[6]) * f.a_h1 * (1 - f.a_h1),
            (d_o1 * w[5] + d_o2 * w[7]) * f.a_h2 * (1 - f.a_h2))


def _right_values(f: Any) -> tuple[float, float]:
    return f.a_h1, f.a_h2


def _slope_at_net_input(output: bool) -> Callable:
    """The sigmoid's slope taken at the weighted sum (o or h) instead of at the activation."""

    def solution(weights: np.ndarray, inputs: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        f = tinynet.forward(weights, inputs, targets)
        w, (i1, i2), (t1, t2) = weights, inputs, targets
        if output:
            d_o1, d_o2 = (f.a_o1 - t1) * f.o1 * (1 - f.o1), (f.a_o2 - t2) * f.o2 * (1 - f.o2)
            s_h1, s_h2 = f.a_h1 * (1 - f.a_h1), f.a_h2 * (1 - f.a_h2)
        else:
            d_o1, d_o2 = _right_delta(f.a_o1, t1), _right_delta(f.a_o2, t2)
            s_h1, s_h2 = f.h1 * (1 - f.h1), f.h2 * (1 - f.h2)
        d_h1, d_h2 = (d_o1 * w[4] + d_o2 * w[6]) * s_h1, (d_o1 * w[5] + d_o2 * w[7]) * s_h2
        return {"delta_o1": d_o1, "delta_o2": d_o2, "delta_h1": d_h1, "delta_h2": d_h2,
                "grads": [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2, d_o1 * f.a_h1,
                          d_o1 * f.a_h2, d_o2 * f.a_h1, d_o2 * f.a_h2]}

    return solution


_NET_INPUT = ("the sigmoid's slope a (1 - a) is written with its OUTPUT a: here it is evaluated "
              "at another quantity. Which of the unit's two numbers, its weighted sum or its "
              "activation, does the formula take?")

MISTAKES = (
    Mistake(_NET_INPUT, _slope_at_net_input(output=True)),
    Mistake(_NET_INPUT, _slope_at_net_input(output=False)),
    Mistake("every value is twice the expected one: E_total = 1/2 (t - a_o)^2, and its 1/2 "
            "cancels the 2 that differentiating the square brings down.",
            _variant(lambda a, t: 2 * (a - t) * a * (1 - a), _right_hidden, _right_values)),
    Mistake("dE/da_o is right but da_o/do is not: the derivative of the sigmoid is "
            "a_o (1 - a_o), not a_o itself.",
            _variant(lambda a, t: (a - t) * a, _right_hidden, _right_values)),
    Mistake("the factor da_o/do, the sigmoid's slope, is missing: a delta is dE/d(weighted "
            "sum), so it goes through the sigmoid.",
            _variant(lambda a, t: a - t, _right_hidden, _right_values)),
    Mistake("the sigmoid's slope is missing in the hidden delta: after summing what comes "
            "back from the outputs, multiply by da_h/dh = a_h (1 - a_h).",
            _variant(_right_delta, lambda d1, d2, w, f: (d1 * w[4] + d2 * w[6],
                                                         d1 * w[5] + d2 * w[7]), _right_values)),
    Mistake("the hidden delta goes through the HIDDEN unit's own sigmoid: after summing what "
            "comes back from the outputs, multiply by a_h (1 - a_h) of that hidden unit, not by "
            "an output unit's slope a_o (1 - a_o), which is already inside delta_o.",
            _variant(_right_delta, lambda d1, d2, w, f: (
                (d1 * w[4] + d2 * w[6]) * f.a_o1 * (1 - f.a_o1),
                (d1 * w[5] + d2 * w[7]) * f.a_o2 * (1 - f.a_o2)), _right_values)),
    Mistake("a hidden unit reaches E_total through BOTH outputs: its delta sums two paths, "
            "one through o1 and one through o2.",
            _variant(_right_delta, lambda d1, d2, w, f: (d1 * w[4] * f.a_h1 * (1 - f.a_h1),
                                                         d2 * w[7] * f.a_h2 * (1 - f.a_h2)),
                     _right_values)),
    Mistake("the right paths with the wrong weights: h1 reaches o1 through w5 and o2 through w7 "
            "(the weights are transposed). Look at which weight connects which pair of units.",
            _variant(_right_delta, lambda d1, d2, w, f: (
                (d1 * w[4] + d2 * w[5]) * f.a_h1 * (1 - f.a_h1),
                (d1 * w[6] + d2 * w[7]) * f.a_h2 * (1 - f.a_h2)), _right_values)),
    Mistake("dE/dw is the delta of the unit the weight feeds times the value the weight "
            "multiplies: that is the hidden unit's output a_h, not its weighted sum h.",
            _variant(_right_delta, _right_hidden, lambda f: (f.h1, f.h2))),
)


TINYNET_FORBID = {**library((tinynet, "gradient", "backprop.tinynet.gradient"),
                            (tinynet, "sgd_step", "backprop.tinynet.sgd_step"),
                            (gradcheck, "numerical_grad", "backprop.gradcheck.numerical_grad"),
                            (manual.Sequential, "backward",
                             "backprop.manual.Sequential.backward")),
                  **autograd_engines()}
TINYNET_ALLOWED = "NumPy, and `tinynet.forward` (the forward pass, which the skeleton calls)"


TINYNET_CHANGED = ("your function writes into an array it was given (`weights[0] = ...`, "
                   "`weights -= ...`, or an update of a slice of it): those are the caller's "
                   "numbers, and a backward pass only reads them. Compute the gradients into new "
                   "variables, and leave weights, inputs and targets as they were.")


def tinynet_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(weights, inputs, targets) -> dict`` for the 2-2-2 network of chapter 1.

    The dict holds ``delta_o1, delta_o2, delta_h1, delta_h2`` (dE/do1, dE/do2, dE/dh1, dE/dh2)
    and ``grads``, the eight dE/dw1 ... dE/dw8. Checked at the chapter's weights, inputs and
    targets (``backprop.tinynet``), against ``tinynet.gradient``, and then at a second set, so
    that only a function of its arguments passes. Allowed: NumPy and ``tinynet.forward``; not
    ``tinynet.gradient``, finite differences or an autograd engine.
    """
    name = "Chain rule: the 2-2-2 network's backward pass"
    result = run_check(name, solution, _run, _reference, mistakes=MISTAKES,
                       explain=_explain(_run), forbid=TINYNET_FORBID, allowed=TINYNET_ALLOWED,
                       products=False, changed_hint=TINYNET_CHANGED)
    if not result.passed:
        return result
    other = lambda f: _run(f, OTHER_WEIGHTS, OTHER_INPUTS, OTHER_TARGETS)  # noqa: E731
    second = run_check(name, solution, other, _reference, mistakes=MISTAKES,
                       explain=_explain(other), forbid=TINYNET_FORBID, allowed=TINYNET_ALLOWED,
                       products=False, changed_hint=TINYNET_CHANGED)
    if second.passed:
        return result
    if second.status == "failed" and second.rows:
        second.message = ("right at the chapter's numbers, but at other weights, inputs and "
                          "targets " + second.message)
        # Right at the chapter's numbers and wrong elsewhere is the mark of a number written
        # in: a value-based guess (a constant factor, a sign) at the other numbers only
        # describes what a typed-in value happens to be there, and misleads.
        if second.hint is None or second.hint.startswith(_VALUE_GUESSES):
            second.hint = (
                "does your function compute everything from its arguments, weights, inputs and "
                "targets? Numbers copied from the chapter (an input, a weight, a target), or "
                "read from tinynet.WEIGHTS, are right at the chapter's numbers only.")
    return second


_VALUE_GUESSES = ("every value is", "the sign is flipped", "it is transposed")


def _explain(run: Callable[..., dict[str, Any]]) -> Callable[[Callable[..., Any]], str | None]:
    """The eight dE/dw are the right values in the wrong places."""

    def explain(solution: Callable[..., Any]) -> str | None:
        try:
            mine = run(solution)
        except Exception:
            return None
        want = run(_reference)
        names = [f"dE/dw{k}" for k in range(1, 9)]
        try:
            mine_grads = np.array([float(mine[n]) for n in names])
        except (TypeError, ValueError):
            return None
        want_grads = np.array([float(want[n]) for n in names])
        if np.allclose(mine_grads, want_grads, rtol=1e-6, atol=0):
            return None
        if np.allclose(np.sort(mine_grads), np.sort(want_grads), rtol=1e-6, atol=1e-12):
            return ("your eight dE/dw are the right values in the wrong places: grads must list "
                    "dE/dw1, dE/dw2, ..., dE/dw8 in that order. Check which weight is w1 ... w8 "
                    "in the chapter's figure.")
        return None

    return explain


# ----------------------------------------------------------------------------- finite differences

EPS = 1e-3  # large enough that a one-sided difference is visibly less accurate than a central one


def _cubic(x: np.ndarray) -> float:
    """A test function with a large second derivative: sum(x^3) + x[0] * x[-1]."""
    return float(np.sum(x**3) + x.flat[0] * x.flat[-1])


def _cubic_tenth(x: np.ndarray) -> float:
    """The cubic over 10: at whole numbers its gradient has fractions (a result held in an
    integer array loses them)."""
    return _cubic(x) / 10


def _point(values: list, dtype: Any = np.float64, f: Callable = _cubic) -> Callable[[], tuple]:
    def args() -> tuple:
        return (f, np.array(values, dtype=dtype), EPS)
    return args


NUMERICAL_CASES = (
    Case("2 x 3", _point([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])),
    Case("one element", _point([1.5]),
         note="a single element, shape (1,): does something assume a matrix (two indices)?"),
    Case("2 x 2 x 2", _point([[[0.5, -1.0], [2.0, 0.1]], [[-0.3, 1.2], [0.7, -2.0]]]),
         note="an array of 3 dimensions: loop over every element whatever the shape "
              "(np.ndindex(x.shape), or x.flat / x.reshape(-1) on a copy)."),
    Case("integers", _point([[1, -2], [3, 0]], np.int64, _cubic_tenth),
         note="x holds integers here (the derivative at whole numbers): an integer array "
              "cannot hold x + eps, so a nudge written into it, or into a copy of the same "
              "dtype, is rounded away, and np.zeros_like(x) cannot hold a fraction. Which "
              "dtype should the working copy and the result have?"),
)


def _numerical_run(solution: Callable[..., Any]) -> dict[str, Any]:
    """The gradient of each case; ``x`` must come back as it was given (``run_cases`` checks)."""
    return run_cases(solution, NUMERICAL_CASES, ("grad",))


def _forward_difference(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[index] += eps
        grad[index] = (f(bumped) - f(x)) / eps
    return grad


def _nudged_in_dtype(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    """Right for floats; on integers every nudge is rounded away (the result all zeros)."""
    point, grad = x.copy(), np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        original = point[index]
        point[index] = original + eps
        plus = f(point)
        point[index] = original - eps
        minus = f(point)
        point[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _not_restored(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = f(x)
        x[index] -= 2 * eps
        grad[index] = (plus - f(x)) / (2 * eps)
    return grad


def _rows_only(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    """Nudges x[i], a whole row (or slab) at a time, and writes its one number across it."""
    point, grad = np.array(x, dtype=np.float64), np.zeros(np.shape(x))
    for i in range(point.shape[0]):
        original = point[i].copy()
        point[i] = original + eps
        plus = f(point)
        point[i] = original - eps
        minus = f(point)
        point[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


_ROWS_ONLY = ("x[i] with a single index is a whole ROW of a matrix (a slab of a 3-D array), so "
              "each nudge moves a whole row at once and measures the sum of its partial "
              "derivatives. Loop over every ELEMENT, whatever the shape: "
              "`for index in np.ndindex(x.shape)`, then x[index].")

NUMERICAL_MISTAKES = (
    Mistake(_ROWS_ONLY, _rows_only, ("grad",)),
    Mistake("every element must be nudged ALONE: x + eps moves all of them at once, which "
            "measures how f changes along the diagonal (the sum of the partial derivatives), "
            "not each one.",
            lambda f, x, eps: np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps)), ("grad",)),
    Mistake("that is a one-sided difference (f(x + eps) - f(x)) / eps, whose error shrinks only "
            "like eps. The central difference (f(x + eps) - f(x - eps)) / (2 eps) is exact for "
            "quadratics and errs like eps^2.", _forward_difference, ("grad",)),
    Mistake("the two evaluations are 2 eps apart, so divide by 2 * eps.",
            lambda f, x, eps: 2 * numerical_grad(f, x, eps), ("grad",)),
    Mistake("each element must be put back after its two evaluations; here every later element "
            "is measured at a point shifted by the earlier ones.", _not_restored),
    Mistake("x holds integers here, and so does a copy of it: x[i] + eps written into an "
            "integer array is cut to a whole number, so the nudge is lost (or becomes a whole "
            "step). Nudge a float copy of x instead.", _nudged_in_dtype, ("grad",)),
)


NUMERICAL_FORBID = {**library((gradcheck, "numerical_grad", "backprop.gradcheck.numerical_grad"),
                              (gradcheck, "gradcheck", "backprop.gradcheck.gradcheck"),
                              (manual, "_numeric_grad_of", "backprop.manual's numeric gradient")),
                    **autograd_engines()}


def central_differences(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(f, x, eps) -> grad``, central differences for every element of ``x``.

    ``grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, shaped like ``x``, computed with
    ``eps = 1e-3`` on a cubic, where a one-sided difference is visibly worse: at a 2 x 3 point,
    at a single element, at a 2 x 2 x 2 point and at an integer point (an int64 ``x``, of the
    cubic over 10: its gradient is float64 all the same). ``x`` must be left as it was. The reference
    is ``backprop.gradcheck.numerical_grad``. Allowed: NumPy and calls of f (not the
    library's ``numerical_grad`` or ``gradcheck``).
    """

    def reference(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
        return numerical_grad(f, x, eps)

    name = "Central differences"
    options = dict(mistakes=NUMERICAL_MISTAKES, products=False, forbid=NUMERICAL_FORBID,
                   allowed="NumPy, and calling f", explain=_explain_eps,
                   changed_hint="each element must be put back after its two evaluations "
                   "(x[i] = original), or each nudge made on a copy of x: the caller's x must "
                   "come back as it was, and every later element be measured at the true x.")
    # Once the cases at eps = 1e-3 pass: other eps, where the central difference's own error
    # (eps^2 here) is far above the rule, so an answer that uses its own eps fails.
    return then_harder(run_check(name, solution, _numerical_run, reference, **options),
                       lambda: run_check(name, solution, _other_eps_run, reference, **options),
                       "right at eps = 1e-3, but not at other values of eps: ")


OTHER_EPS_CASES = (
    Case("2 x 3, eps 0.1", lambda: (_cubic, np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]),
                                    0.1)),
    Case("one element, eps 0.03", lambda: (_cubic, np.array([1.5]), 0.03)),
)


def _other_eps_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, OTHER_EPS_CASES, ("grad",))


_EPS_IGNORED = ("your result does not change when eps does: the eps your function uses is not "
                "the one passed in (a number written in, or a default used instead of the "
                "argument). Use the argument eps: the check tries other values, and the central "
                "difference's error grows like eps^2, so another eps gives other numbers.")


def _explain_eps(solution: Callable[..., Any]) -> str | None:
    """The answer gives the same numbers at two quite different eps: it ignores its eps."""
    results = []
    for eps in (0.1, 0.02):
        x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
        try:
            with np.errstate(all="ignore"):
                results.append(np.asarray(solution(_cubic, x, eps), dtype=np.float64))
        except Exception:
            return None
    a, b = results
    if a.shape != b.shape or a.size == 0 or not np.all(np.isfinite(a)) or not np.any(a):
        return None
    # at these eps the right numbers differ by up to 0.01 (eps^2): equal ones ignore eps
    return _EPS_IGNORED if np.allclose(a, b, rtol=1e-7, atol=0) else None
