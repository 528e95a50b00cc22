"""Chapter 4, AutoGrad: the backward of a broadcasting multiply and of ``sum(axis)`` (on plain
arrays: the backward functions of ``Tensor.__mul__`` and ``Tensor.sum``), a new op
``sqrt`` written as a ``Tensor`` op, and the reverse topological order of a graph.

The references are the engine itself (``backprop.autograd.Tensor``): each check builds the same
expression with Tensors and reads the gradients that ``backward()`` leaves. Each check tries
several cases (six broadcast patterns; ten named sums and 24 random ones) and does not count an
answer that calls the engine's own op, ``sum``, topological order or ``backward()``; the
multiply may use ``unbroadcast``.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import Tensor, nodes, unbroadcast
from backprop.exercises import _core
from backprop.exercises._core import (
    BadReturn,
    Case,
    CheckResult,
    InputChanged,
    Mistake,
    NotDone,
    autograd_engines,
    library,
    note_case,
    note_values,
    returned,
    run_cases,
    run_check,
)

__all__ = ["mul_backward", "sum_backward", "tensor_sqrt", "topological_order"]


def _rng() -> np.random.Generator:
    return np.random.default_rng(3)


# ----------------------------------------------------------------------------- a * b

# Broadcast patterns: b gains a leading axis; both operands stretch an axis of length 1; a
# leading axis is added AND an axis is stretched; b is a scalar; no broadcasting at all; a
# (1,) against (5,): each chosen so that one shortcut (sum over axis 0, a squeeze) fails.
MUL_SHAPES = (((4, 3), (3,)), ((4, 1), (1, 3)), ((2, 4, 3), (4, 1)), ((3, 2), ()),
              ((2, 3), (2, 3)), ((1,), (5,)))
MUL_NOTES = {
    ((4, 1), (1, 3)): "both inputs are stretched along an axis of length 1 that they keep: sum "
                      "over that axis with keepdims=True.",
    ((2, 4, 3), (4, 1)): "b gains a leading axis AND is stretched along its last: both kinds of "
                         "axes must be summed away.",
    ((3, 2), ()): "b is a scalar, shape (): its gradient is one number, the sum over everything.",
    ((2, 3), (2, 3)): "no broadcasting: nothing to sum, each gradient keeps its input's shape.",
    ((1,), (5,)): "a, of shape (1,), is stretched to (5,): it is the FIRST input that must be "
                  "summed here.",
}


def _mul_reference(a: np.ndarray, b: np.ndarray, grad: np.ndarray) -> tuple:
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (ta * tb).backward(grad)
    return ta.grad, tb.grad


def _mul_args(shape_a: tuple, shape_b: tuple, seed: int) -> Callable[[], tuple]:
    def args() -> tuple:
        rng = np.random.default_rng(seed)
        a, b = rng.normal(size=shape_a), np.asarray(rng.normal(size=shape_b))
        return a, b, rng.normal(size=np.broadcast_shapes(shape_a, shape_b))
    return args


MUL_CASES = tuple(Case(f"{a} * {b}", _mul_args(a, b, 3 + k), None, MUL_NOTES.get((a, b), ""))
                  for k, (a, b) in enumerate(MUL_SHAPES))


def _mul_run(solution: Callable[..., Any]) -> dict[str, Any]:
    return run_cases(solution, MUL_CASES, ("grad_a", "grad_b"))


_SPREAD = ("every element of the gradient is the same number: the whole product was summed "
           "into one total and spread over the input. Sum only over the axes broadcasting "
           "added or stretched, so each element keeps its own share (`unbroadcast(g, shape)`, "
           "or .sum over those axes with keepdims=True for the stretched ones).")


_CUT = ("your gradient has the input's shape, but its values were cut or copied into that "
        "shape (np.resize, a reshape, or index 0 of the broadcast axes), not added up: an "
        "element that broadcasting reused gets a gradient from EVERY place it was used, and "
        "they add. Sum over the axes broadcasting added or stretched.")


def _spread(grad: np.ndarray, shape: tuple[int, ...], mean: bool = False) -> np.ndarray:
    """One total (or its mean over the input's elements) written into every element."""
    if grad.shape == tuple(shape):
        return grad
    total = grad.sum() / (max(1, int(np.prod(shape))) if mean else 1)
    return np.full(shape, total)


MUL_MISTAKES = (
    Mistake("the gradient is not summed back to the input's shape. An element that broadcasting "
            "reused got a gradient from every place it was used: sum over the axes broadcasting "
            "added or stretched (that is what `unbroadcast(g, shape)` does).",
            lambda a, b, g: (g * b, g * a)),
    Mistake("each input's gradient is grad times the OTHER input: d(ab)/da = b.",
            lambda a, b, g: (unbroadcast(g * a, a.shape), unbroadcast(g * b, b.shape))),
    Mistake("summing over axis 0 is right only when broadcasting added a leading axis. Which "
            "axes to sum depends on the shapes: the added leading ones, and those where the "
            "input has length 1 (keeping them).",
            lambda a, b, g: ((g * b).sum(axis=0), (g * a).sum(axis=0))),
    Mistake("an element used k times gets the SUM of its k gradients, not their mean.",
            lambda a, b, g: (_mean_down(g * b, a.shape), _mean_down(g * a, b.shape))),
    Mistake(_SPREAD, lambda a, b, g: (_spread(g * b, a.shape), _spread(g * a, b.shape))),
    Mistake(_SPREAD, lambda a, b, g: (_spread(g * b, a.shape, mean=True),
                                      _spread(g * a, b.shape, mean=True))),
    Mistake("the local derivative is there but the incoming gradient is not: multiply by grad "
            "(the chain rule).",
            lambda a, b, g: (unbroadcast(np.broadcast_to(b, g.shape), a.shape),
                             unbroadcast(np.broadcast_to(a, g.shape), b.shape))),
    Mistake(_CUT, lambda a, b, g: (np.resize(g * b, np.shape(a)), np.resize(g * a, np.shape(b)))),
    Mistake(_CUT, lambda a, b, g: (_first_slice(g * b, np.shape(a)),
                                   _first_slice(g * a, np.shape(b)))),
)


def _first_slice(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient cut down to the input's shape by taking index 0 of every broadcast axis."""
    extra = grad.ndim - len(shape)
    grad = grad[(0,) * extra] if extra else grad
    index = tuple(slice(0, 1) if n == 1 and m != 1 else slice(None)
                  for n, m in zip(shape, grad.shape))
    return grad[index].reshape(shape)


def _mean_down(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Like ``unbroadcast`` but averaging: a wrong answer the checker recognises."""
    return unbroadcast(grad, shape) * int(np.prod(shape)) / grad.size


MUL_FORBID = {**library((Tensor, "__mul__", "backprop.autograd.Tensor.__mul__"),
                        (Tensor, "__rmul__", "backprop.autograd.Tensor.__rmul__")),
              **autograd_engines()}


def mul_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(a, b, grad) -> (grad_a, grad_b)`` for ``out = a * b`` with broadcasting.

    ``grad`` = dL/d(out) has the broadcast shape; return dL/da shaped like ``a`` and dL/db shaped
    like ``b``. Checked on six broadcast patterns (a leading axis added, axes of length 1
    stretched, a scalar, none, the first input stretched) against ``Tensor.__mul__``; the
    arguments must be left unchanged. Allowed: NumPy and ``unbroadcast``; not the Tensor's own
    multiply or ``backward()``.
    """
    return run_check("Broadcasting multiply: backward", solution, _mul_run, _mul_reference,
                     mistakes=MUL_MISTAKES, products=False, forbid=MUL_FORBID,
                     allowed="NumPy, and `unbroadcast` (backprop.autograd)")


# ----------------------------------------------------------------------------- sum(axis)

def _sum_args(shape: tuple, axis: Any, keepdims: bool, seed: int) -> Callable[[], tuple]:
    def args() -> tuple:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=shape)
        grad = np.asarray(rng.normal(size=np.sum(x, axis=axis, keepdims=keepdims).shape))
        return x, axis, keepdims, grad
    return args


def _sum_label(shape: tuple, axis: Any, keepdims: bool) -> str:
    return f"{shape}.sum(axis={axis}" + (", keepdims=True)" if keepdims else ")")


_UNSORTED = ("the axes come unsorted or negative here: np.expand_dims takes them in any order, "
             "but inserting them one by one only works in increasing order of their positive "
             "form (axis % x.ndim).")
SUM_SPECS = (
    ((3, 4), None, False, ""), ((3, 4), 0, False, ""), ((3, 4), 1, False, ""),
    ((3, 4), 1, True, "keepdims=True: the summed axis is still there, with length 1."),
    ((2, 3, 4), (0, 2), False, "two axes summed at once."),
    ((2, 3, 4), -1, False, "a negative axis: -1 is the last one, whatever the number of axes."),
    ((2, 3, 4), (2, 0), False, _UNSORTED),
    ((2, 3, 4), (-1, 0), True, _UNSORTED),
    ((2, 1, 4), 1, False, "x has an axis of length 1, and that is the one summed."),
    ((5,), 0, False, "a vector summed to a scalar: grad has shape ()."),
)
SUM_CASES = tuple(Case(_sum_label(shape, axis, keepdims), _sum_args(shape, axis, keepdims, 3 + k),
                       None, note) for k, (shape, axis, keepdims, note) in enumerate(SUM_SPECS))


def _random_sum_cases(count: int = 24, seed: int = 11) -> list[tuple]:
    """Shapes of 1 to 4 axes (lengths 1 to 4) and every kind of axis argument: None, an int,
    a negative int, a tuple in any order; keepdims either way. The property the chapter states,
    "each element of x receives the gradient of the sum it went into", must hold for all."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        ndim = int(rng.integers(1, 5))
        shape = tuple(int(n) for n in rng.integers(1, 5, size=ndim))
        kind = rng.integers(0, 3)
        if kind == 0:
            axis: Any = None
        elif kind == 1:
            axis = int(rng.integers(-ndim, ndim))
        else:
            chosen = rng.permutation(ndim)[: int(rng.integers(1, ndim + 1))]
            axis = tuple(int(a) - ndim * int(rng.integers(0, 2)) for a in chosen)
        cases.append((shape, axis, bool(rng.integers(0, 2)), int(rng.integers(1 << 30))))
    return cases


RANDOM_SUM_CASES = _random_sum_cases()
RANDOM_LABEL = f"grad_x, {len(RANDOM_SUM_CASES)} random shapes and axes (all together)"


def _sum_reference(x: np.ndarray, axis: Any, keepdims: bool, grad: np.ndarray) -> np.ndarray:
    t = Tensor(x, requires_grad=True)
    t.sum(axis=axis, keepdims=keepdims).backward(grad)
    return t.grad


def _sum_run(solution: Callable[..., Any]) -> dict[str, Any]:
    out = run_cases(solution, SUM_CASES, ("grad_x",))
    note_case("random shapes and axes", None,
              "random shapes (axes of length 1 too) and axis arguments (None, negative, "
              "unsorted tuples, keepdims): the rule must hold for every one of them.")
    pieces = []
    for shape, axis, keepdims, seed in RANDOM_SUM_CASES:
        x, axis, keepdims, grad = _sum_args(shape, axis, keepdims, seed)()
        with np.errstate(all="ignore"):
            value = returned(solution(x, axis, keepdims, grad), ("grad_x",))["grad_x"]
        if np.shape(value) != x.shape or not isinstance(value, np.ndarray):
            pieces = None  # the wrong shape (or kind) is shown as it is
            break
        pieces.append(np.ravel(value))
    out[RANDOM_LABEL] = value if pieces is None else np.concatenate(pieces)
    note_values({RANDOM_LABEL: out[RANDOM_LABEL]})
    return out


SUM_MISTAKES = (
    Mistake("grad has the shape of the SUM; every element of x went into it, so each element "
            "receives that gradient: stretch grad back to x.shape (np.broadcast_to).",
            lambda x, axis, keepdims, g: g),
    Mistake("dividing by the number of summed elements is the backward of mean, not of sum: "
            "d(sum)/d(each element) = 1.",
            lambda x, axis, keepdims, g: _sum_reference(x, axis, keepdims, g) * g.size / x.size),
    Mistake("each element's local derivative is 1, but the chain rule multiplies it by the "
            "incoming gradient: use grad, not ones.",
            lambda x, axis, keepdims, g: np.ones_like(x)),
)

SUM_ERRORS = (
    (np.exceptions.AxisError if hasattr(np, "exceptions") else np.AxisError, "out of bounds",
     "an axis is out of range where it is inserted: put the summed axes back in increasing "
     "order of their positive form (axis % x.ndim), or give np.expand_dims the whole tuple at "
     "once."),
    (ValueError, "broadcast", "grad cannot be stretched to x's shape as it is: with "
     "keepdims=False the summed axes are gone from grad, so NumPy lines up the wrong axes. "
     "Put the summed axes back first (np.expand_dims(grad, axis)), then np.broadcast_to."),
)


SUM_FORBID = {**library((Tensor, "sum", "backprop.autograd.Tensor.sum"),
                        (Tensor, "mean", "backprop.autograd.Tensor.mean"),
                        (sys.modules["backprop.autograd"], "_expand_reduced",
                         "backprop.autograd's _expand_reduced")),
              **autograd_engines()}


def sum_backward(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x, axis, keepdims, grad) -> grad_x`` for ``out = x.sum(axis, keepdims)``.

    ``axis`` is None, an int (negative too) or a tuple of ints in any order; ``grad`` = dL/d(out)
    has the shape of the sum; return dL/dx shaped like ``x``. Ten named cases (negative and
    unsorted axes, axes of length 1, a vector to a scalar) and 24 random ones shown as one row,
    checked against ``Tensor.sum``; the arguments must be left unchanged. Allowed: NumPy; not the
    Tensor's own ``sum`` or ``backward()``.
    """
    return run_check("sum(axis): backward", solution, _sum_run, _sum_reference,
                     mistakes=SUM_MISTAKES, error_hints=SUM_ERRORS, products=False,
                     forbid=SUM_FORBID, allowed="NumPy (np.expand_dims, np.broadcast_to, ...)")


# ----------------------------------------------------------------------------- sqrt


def _sqrt_run(solution: Callable[..., Any]) -> dict[str, Any]:
    rng = _rng()
    x0, w = rng.uniform(0.5, 3.0, size=(3, 4)), rng.normal(size=(3, 4))
    out: dict[str, Any] = {}
    for label, uses_x_twice in (("x.grad, L = sum(w * sqrt(x))", False),
                                ("x.grad, x used twice: L = sum(w * sqrt(x) * x)", True)):
        note_case(label.split(", ", 1)[1], None, (
            "x is used twice here, so its gradient arrives in two parts: each must be added "
            "to x.grad (x.add_grad), none may replace the other.") if uses_x_twice else "")
        x = Tensor(x0, requires_grad=True)
        y = solution(x)
        if y is None or y is Ellipsis:
            raise NotDone
        _check_data(x, x0)
        if not isinstance(y, Tensor):
            raise BadReturn(f"returned a {type(y).__name__}; it must return a Tensor, built "
                            "with Tensor(data, inputs=(x,), op='sqrt').")
        if not uses_x_twice:
            out["sqrt(x), the forward value"] = y.data
            note_values(out)
        if not y.requires_grad:
            raise BadReturn("returned a Tensor that does not remember x: create it with "
                            "inputs=(x,), so that backward() can reach x.")
        ((y * x if uses_x_twice else y) * w).sum().backward()
        _check_data(x, x0)
        incoming = w * x0 if uses_x_twice else w  # dL/dy, what y's backward received
        if y.grad is not None and np.shape(y.grad) == incoming.shape and _written_over(
                y.grad, incoming):
            raise InputChanged(label.split(", ", 1)[1], "grad")
        if not any(child is x for child in y.inputs):
            raise BadReturn("returned a Tensor that does not remember x as its input, so "
                            "backward() never reaches x: build it with inputs=(x,). "
                            "(requires_grad=True alone makes a new leaf, cut off from x.)")
        if x.grad is None:
            raise BadReturn("left x.grad empty: define `backward(grad)` that sends x its "
                            "gradient with x.add_grad(...), and attach it, "
                            "`out.backward_fn = backward`.")
        out[label] = x.grad
        note_values(out)
    return out


def _written_over(grad: Any, incoming: np.ndarray) -> bool:
    """Whether y.grad is no longer the gradient y received: compared in y.grad's own dtype (a
    float32 output keeps a float32 gradient, rounded, not written over), within a few of that
    dtype's epsilons; a backward that divides or multiplies it in place is far further off."""
    grad = np.asarray(grad)
    if grad.dtype.kind != "f":
        return not np.allclose(grad, incoming, rtol=1e-12, atol=0)
    eps = float(np.finfo(grad.dtype).eps)
    return not np.allclose(grad.astype(np.float64), incoming.astype(grad.dtype).astype(np.float64),
                           rtol=8 * eps, atol=0)


def _check_data(x: Tensor, x0: np.ndarray) -> None:
    """The op must leave its input's values alone (``x.data = ...``, ``out=x.data``)."""
    if x.data.shape != x0.shape or not np.array_equal(x.data, x0):
        raise InputChanged(_case_label(), "x.data")


def _case_label() -> str:
    case = _core._PROGRESS[-1].case
    return case.label if case is not None else ""


SQRT_CHANGED = {
    "x.data": "the op changed its input's data: `x.data = np.sqrt(x.data)` or "
              "`np.sqrt(x.data, out=x.data)` writes over x, so x no longer holds the values the "
              "caller gave (and a backward that reads x.data reads the wrong ones). Compute the "
              "result into a new array, and leave x.data as it is.",
    "grad": "your backward changed the gradient it received (`grad /= ...`, `grad *= ...`): that "
            "array is the caller's (it is out.grad), not yours to overwrite. Compute the input's "
            "share as a new array (`grad / ...`, `grad * ...`) and pass that to x.add_grad.",
}


def _sqrt_op(local: Callable, accumulate: bool = True) -> Callable[[Tensor], Tensor]:
    """A sqrt op with the given local gradient rule: the catalogue of wrong ones."""

    def sqrt(x: Tensor) -> Tensor:
        out_data = np.sqrt(x.data)
        out = Tensor(out_data, inputs=(x,), op="sqrt")

        def backward(grad: np.ndarray) -> None:
            if accumulate:
                x.add_grad(local(x.data, out_data, grad))
            else:
                x.grad = local(x.data, out_data, grad)

        out.backward_fn = backward
        return out

    return sqrt


SQRT_MISTAKES = (
    Mistake("x.grad was overwritten (`x.grad = ...`), wiping out the gradient x had already "
            "received from its other use. Add to it with x.add_grad(...).",
            _sqrt_op(lambda x, s, g: g * 0.5 / s, accumulate=False)),
    Mistake("d sqrt(x)/dx = 1 / (2 sqrt(x)): the factor 1/2 is missing.",
            _sqrt_op(lambda x, s, g: g / s)),
    Mistake("the power rule lowers the exponent by one: x^(1/2) becomes (1/2) x^(-1/2), "
            "not (1/2) x^(1/2).", _sqrt_op(lambda x, s, g: g * 0.5 * s)),
    Mistake("the local derivative is there but the incoming gradient is not: multiply by grad.",
            _sqrt_op(lambda x, s, g: 0.5 / s)),
    Mistake("1 / (2x) is the derivative of log(x)/2, not of sqrt(x) = x^(1/2).",
            _sqrt_op(lambda x, s, g: g * 0.5 / x)),
    Mistake("the incoming gradient is passed on unchanged: the chain rule multiplies it by "
            "sqrt's own local derivative d sqrt(x)/dx.", _sqrt_op(lambda x, s, g: g)),
)

SQRT_ERRORS = (
    (TypeError, "got a Tensor that requires grad", "NumPy functions such as np.sqrt do not take a Tensor: "
     "compute on its array, x.data, and wrap the result in a new Tensor."),
)


SQRT_FORBID = library((Tensor, "__pow__", "backprop.autograd.Tensor.__pow__ (x ** 0.5)"),
                      (Tensor, "pow", "backprop.autograd.Tensor.pow"),
                      (Tensor, "sqrt", "backprop.autograd.Tensor.sqrt"))


def tensor_sqrt(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(x: Tensor) -> Tensor``, a new op: the square root, forward and backward.

    The op computes ``np.sqrt(x.data)``, returns ``Tensor(data, inputs=(x,), op="sqrt")``
    with a ``backward(grad)`` that calls ``x.add_grad(...)``, attached as ``out.backward_fn``. Checked on x in [0.5, 3]:
    alone, and with x used twice (sqrt(x) * x), against the engine's ``x ** 0.5``. The op
    must leave ``x.data`` and the gradient its backward receives as they were.

    float32, as in every check of a float64 chapter: a forward value returned in float32 is
    told "right only up to float32 rounding" and fails; a gradient share computed in float32
    passes, because ``x.add_grad`` keeps x.grad in x's dtype (float64), so the check sees
    float64 values off by float32 rounding (about 1e-7), well inside the 1e-5 rule, like any
    answer that goes through float32 on the way and returns float64.
    """
    return run_check("A new op: sqrt", solution, _sqrt_run, lambda x: x**0.5,
                     mistakes=SQRT_MISTAKES, error_hints=SQRT_ERRORS, products=False,
                     changed_hint=SQRT_CHANGED, forbid=SQRT_FORBID, allowed="NumPy on x.data, and the Tensor constructor")


# ----------------------------------------------------------------------------- topological order


def _small_graph() -> tuple[Tensor, Tensor, Tensor]:
    """a and b feed c = a * b; a is used again in s = c + a, c again in e = d * c."""
    a = Tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    b = Tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
    c = a * b
    s = c + a
    d = s * 2.0
    e = d * c
    return e.sum(), a, b


def _chain(depth: int = 10_000) -> tuple[Tensor, Tensor]:
    x = Tensor(1.0, requires_grad=True)
    t = x
    for _ in range(depth):
        t = t * 1.0
    return t, x


def _backward_in(order: list[Tensor], root: Tensor) -> None:
    """The engine's backward loop, run in the given order (as ``Tensor.backward`` does)."""
    root.add_grad(np.ones_like(root.data))
    for node in order:
        if node.backward_fn and node.grad is not None:
            node.backward_fn(node.grad)


ROOT_LEFT_OUT = ("the ROOT is missing from your list: the order starts with the tensor backward() "
                 "is called on, itself (a slice that drops the first entry, or a loop that "
                 "appends only the inputs it finds, leaves it out); its backward is the first to "
                 "run.")


def _order_of(solution: Callable[..., Any], root: Tensor) -> list[Tensor]:
    order = solution(root)
    if order is None or order is Ellipsis:
        raise NotDone
    if not isinstance(order, (list, tuple)) or not all(isinstance(n, Tensor) for n in order):
        raise BadReturn("must return a list of Tensors: the root first, each tensor before "
                        "the tensors it was computed from.")
    return list(order)


def _topo_run(solution: Callable[..., Any]) -> dict[str, Any]:
    note_case("small graph")
    root, a, b = _small_graph()
    order = _order_of(solution, root)
    listed = {id(node) for node in order}
    left_out = [node for node in nodes(root) if id(node) not in listed]
    if left_out:
        leaves = sum(1 for node in left_out if not node.inputs)
        if len(left_out) == 1 and left_out[0] is root:
            raise BadReturn(
                f"must return every tensor the root was computed from, each once; your list "
                f"leaves out 1 of the {len(nodes(root))} tensors: the root itself.",
                ROOT_LEFT_OUT)
        raise BadReturn(
            f"must return every tensor the root was computed from, each once; your list leaves "
            f"out {len(left_out)} of the {len(nodes(root))} tensors.",
            ("the leaves (tensors with no inputs, such as the parameters) are left out: they "
             "have no backward of their own, but the order is of the whole graph, and the "
             "engine walks it for more than backward calls (Tensor.backward first clears each "
             "intermediate's gradient along it, and tells a leaf from an intermediate by it). "
             "Append every tensor you visit, with inputs or without."
             if leaves == len(left_out) else
             f"your list leaves out {len(left_out)} of the {len(nodes(root))} tensors that the "
             "root was computed from: it must hold every one of them, the inputs of the inputs "
             "too, down to the leaves; a tensor that is left out never passes its gradient on."))
    _backward_in(order, root)
    out = {"a.grad, small graph": _grad(a), "b.grad, small graph": _grad(b)}
    note_values(out)
    note_case("chain of 10,000 ops", None, "a chain of 10,000 ops: a recursive search hits "
              "Python's recursion limit (about 1,000 frames); use a loop with a stack.")
    root, x = _chain()
    _backward_in(_order_of(solution, root), root)
    out["x.grad, chain of 10,000 ops"] = _grad(x)
    return out


def _explain_order(solution: Callable[..., Any]) -> str | None:
    """What is wrong with the list itself: a tensor twice, tensors missing, or not the root
    first."""
    root, _, _ = _small_graph()
    try:
        order = _order_of(solution, root)
    except Exception:
        return None
    tracked = {id(node) for node in nodes(root)}
    ids = [id(node) for node in order]
    if len(ids) != len(set(ids)):
        return (f"your list has {len(ids)} entries for {len(set(ids))} different tensors: a "
                "tensor that appears twice runs its backward twice and passes its gradient on "
                "twice. Keep a set of visited tensors, and list each one once.")
    missing = len(tracked - set(ids))
    if missing == 1 and id(root) not in ids:
        return ROOT_LEFT_OUT
    if missing:
        return (f"your list leaves out {missing} of the {len(tracked)} tensors that the root was "
                "computed from: it must hold every one of them, the inputs of the inputs too, "
                "down to the leaves; a tensor that is left out never passes its gradient on.")
    if ids and ids[0] != id(root):
        if ids[-1] == id(root):
            return None  # the "reversed" mistake says it better
        return "the list must start at the root, the tensor backward() is called on."
    return None


def _grad(leaf: Tensor) -> np.ndarray:
    """A leaf's gradient, zeros if none reached it (shown as "all zeros", not as a crash)."""
    return np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad


def _no_visited_set(root: Tensor) -> list[Tensor]:
    post_order, stack = [], [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            post_order.append(node)
            continue
        stack.append((node, True))
        stack.extend((p, False) for p in node.inputs if p.requires_grad)
    return post_order[::-1]


def _breadth_first(root: Tensor) -> list[Tensor]:
    order, seen, queue = [root], {id(root)}, deque([root])
    while queue:
        for parent in queue.popleft().inputs:
            if parent.requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                order.append(parent)
                queue.append(parent)
    return order


TOPO_MISTAKES = (
    Mistake("a tensor used twice appears twice in your order, so its backward runs twice and "
            "passes its gradient on twice. Keep a set of visited tensors.", _no_visited_set),
    Mistake("the order is reversed: backward must start at the root (the loss) and reach the "
            "leaves last.", nodes),
    Mistake("a tensor comes before a tensor computed from it, so it passes its gradient on "
            "before it has received all of it. Append each tensor after ALL its inputs "
            "(post-order depth-first search), then reverse the list.", _breadth_first),
)

TOPO_ERRORS = (
    (RecursionError, "", "a recursive depth-first search hits Python's recursion limit on a "
     "deep graph (a long chain of ops). Use a loop with an explicit stack instead."),
)


def _topological_functions() -> dict[Any, str]:
    """Every function of the engine's modules that orders a graph: ``nodes``, and any whose name
    speaks of a topological order (the engine may be split into modules, and the function
    renamed, without this list changing)."""
    specs = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("backprop.autograd"):
            continue
        for attribute in dir(module):
            ordering = "topolog" in attribute.lower() or attribute == "nodes"
            if ordering and callable(getattr(module, attribute, None)):
                specs.append((module, attribute, f"{module_name}.{attribute}"))
    return library(*specs, (Tensor, "backward", "backprop.autograd.Tensor.backward"))


def _reverse_topological_order(root: Tensor) -> list[Tensor]:
    """The engine's order: ``nodes(root)`` reversed, the root first."""
    return nodes(root)[::-1]


def topological_order(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(root: Tensor) -> list[Tensor]``, the reverse topological order.

    The list starts at ``root`` and puts every tensor before the tensors it was computed from
    (``inputs``); each tracked tensor appears once. The check runs the engine's backward loop in
    your order on a small graph where a and an intermediate are used twice, and on a chain of
    10,000 ops, and compares the gradients with ``Tensor.backward``'s. Allowed: Python and each
    tensor's inputs; not the engine's own topological order or ``backward()``.
    """
    return run_check("Reverse topological order", solution, _topo_run,
                     _reverse_topological_order, mistakes=TOPO_MISTAKES,
                     error_hints=TOPO_ERRORS, explain=_explain_order, products=False,
                     forbid=_topological_functions(),
                     allowed="Python (lists, sets, a stack) and each tensor's inputs")
