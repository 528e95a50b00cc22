"""Chapter 4, AutoGrad: build the core yourself. The learner writes a small scalar ``Value``
class, micrograd style (``data``, ``grad``, ``+``, ``*``, ``tanh``, and ``backward()`` through a
reverse topological order), and the check compares it with the library's engine.

The check builds the same small expressions twice, once from the learner's ``Value`` and once
from ``backprop.autograd.Tensor`` scalars (its public API only: ``Tensor(x,
requires_grad=True)``, the operators, ``.tanh()``, ``.backward()``, ``.data``, ``.grad``), and
compares every value and every gradient: a weighted sum through tanh (micrograd's neuron), a
variable used three times, constants on both sides (``2 * v``, ``v + 1``), an intermediate
reused, a tanh of a large input (450, where exp(2x) overflows), a chain of 400 nodes and one
of 5,000. A recursive topological sort that stops at Python's recursion limit on the 5,000
chain is not failed: the check says so, gently. A hint that blames one op is checked against
each op run on its own (``out.grad`` set to 2.5, then ``out._backward()``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import Tensor
from backprop.exercises._core import (CheckResult, Mistake, NotDone, Row, autograd_engines,
                                      is_skeleton, library, note_case, note_values, run_check,
                                      watched)

__all__ = ["value_engine", "ReferenceValue"]

METHODS = ("__add__", "__radd__", "__mul__", "__rmul__", "tanh", "backward")
DEEP = 5_000
SHALLOW = 400
LARGE_LABEL = "tanh of a large input"
LARGE_TANH = ("tanh(450) or tanh(-900) came out nan or inf: a tanh computed from exp(2x) "
              "overflows there (exp(900) is beyond a float's range, about 1.8e308; np.exp "
              "returns inf with a warning where math.exp raises, and inf / inf is nan), "
              "although tanh(450) is just 1. Use math.tanh, or a form that takes exp of a "
              "negative number only, (1 - exp(-2|x|)) / (1 + exp(-2|x|)) with the sign of x.")


def _tensor(x: float) -> Tensor:
    """A leaf of the library's engine: the reference side of every comparison."""
    return Tensor(float(x), requires_grad=True)


# Each expression takes the leaf factory and returns (output, {leaf name: leaf}).
def _expression_linear(V: Callable) -> tuple[Any, dict[str, Any]]:
    a, b, c = V(2.0), V(-3.0), V(10.0)
    return a * b + c, {"a": a, "b": b, "c": c}


def _expression_neuron(V: Callable) -> tuple[Any, dict[str, Any]]:
    x1, x2, w1, w2, b = V(2.0), V(0.5), V(-3.0), V(1.0), V(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    return n.tanh(), {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}


def _expression_used_thrice(V: Callable) -> tuple[Any, dict[str, Any]]:
    a, b = V(3.0), V(-0.5)
    return a * a + a * b, {"a": a, "b": b}


def _expression_constants(V: Callable) -> tuple[Any, dict[str, Any]]:
    a, b = V(1.5), V(-2.0)
    return (2 * a + b * 3 + 1) * (4 + a) + (a + b).tanh() * 0.5, {"a": a, "b": b}


def _expression_reuse(V: Callable) -> tuple[Any, dict[str, Any]]:
    a, b = V(0.7), V(-1.2)
    e = a * b
    f = e + e
    return (f * e + e).tanh(), {"a": a, "b": b}


def _expression_large(V: Callable) -> tuple[Any, dict[str, Any]]:
    a, b = V(450.0), V(-2.0)
    return a.tanh() + (a * b).tanh() * 0.5 + b, {"a": a, "b": b}


def _chain(length: int) -> Callable:
    def expression(V: Callable) -> tuple[Any, dict[str, Any]]:
        x = V(0.3)
        y = x
        for _ in range(length // 2):
            y = y * 0.999 + 0.001  # two nodes per step
        return y, {"x": x}
    return expression


EXPRESSIONS = (
    ("a * b + c", _expression_linear, ""),
    ("tanh(x1 w1 + x2 w2 + b)", _expression_neuron, ""),
    ("a used three times", _expression_used_thrice,
     "a appears three times: each use sends a's .grad its own share, so they must ADD up "
     "(+=), and a must run its _backward once, after all of them."),
    ("constants on both sides", _expression_constants,
     "plain numbers on both sides (2 * a, b * 3, 1 + ..., 4 + a): a number on the left calls "
     "the Value's __rmul__ / __radd__, and every number must be wrapped in a Value."),
    ("an intermediate reused", _expression_reuse,
     "e = a * b is used three times: e must have received all of its gradient before it "
     "passes it on to a and b (reverse topological order), and only once."),
    (LARGE_LABEL, _expression_large,
     "tanh(450) and tanh(-900): a tanh computed from exp(2x) overflows there (exp(900) is "
     "beyond a float's range, about 1.8e308); tanh itself is just 1 or -1."),
    (f"chain of {SHALLOW} nodes", _chain(SHALLOW),
     "a long chain: each node must pass its gradient on exactly once, in order."),
)
DEEP_LABEL = f"chain of {DEEP:,} nodes"


def _float(value: Any) -> Any:
    if value is None:
        return None
    try:
        return float(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        return value  # shown as the wrong kind of thing


def _evaluate(make: Callable, label: str, expression: Callable, out: dict[str, Any]) -> None:
    def leaf(x: float) -> Any:
        value = make(x)
        if value is None or value is Ellipsis:  # a skeleton passed in place of the class
            raise NotDone
        return value

    output, leaves = expression(leaf)
    if output is None:
        raise NotDone
    output.backward()
    values = {f"output, {label}": _float(output.data)}
    for name, leaf in leaves.items():
        grad = getattr(leaf, "grad", None)
        values[f"{name}.grad, {label}"] = 0.0 if grad is None else _float(grad)
    note_values(values)
    out.update(values)


class _Recursive:
    """Set when the learner's backward hits the recursion limit on the deep chain."""

    hit = False


def _run(solution: Any) -> dict[str, Any]:
    def evaluate(make: Callable) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with np.errstate(all="ignore"):
            for label, expression, note in EXPRESSIONS:
                note_case(label, None, note)
                _evaluate(make, label, expression, out)
            if getattr(make, "_catalogue", False):
                return out  # a known mistake, tried for its hint: the small graphs tell
            note_case(DEEP_LABEL, None, "")
            try:
                _evaluate(make, DEEP_LABEL, _chain(DEEP), out)
            except RecursionError:
                if make is _tensor:
                    raise
                _Recursive.hit = True
        return out

    if solution is _tensor:
        return evaluate(_tensor)
    return watched(solution, evaluate)


# ----------------------------------------------------------------------------- the reference text


class ReferenceValue:
    """A right answer (the one in the chapter's solution): micrograd's core with an iterative
    topological sort. Kept here so that the tests and the chapter share one text."""

    def __init__(self, data: float, _children: tuple = ()) -> None:
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward: Callable[[], None] = lambda: None

    def __add__(self, other: Any) -> ReferenceValue:
        other = other if isinstance(other, ReferenceValue) else ReferenceValue(other)
        out = ReferenceValue(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other: Any) -> ReferenceValue:
        return self + other

    def __mul__(self, other: Any) -> ReferenceValue:
        other = other if isinstance(other, ReferenceValue) else ReferenceValue(other)
        out = ReferenceValue(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other: Any) -> ReferenceValue:
        return self * other

    def tanh(self) -> ReferenceValue:
        t = math.tanh(self.data)
        out = ReferenceValue(t, (self,))

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


# ----------------------------------------------------------------------------- known mistakes


def _variant(**wrong: Any) -> type:
    """``ReferenceValue`` with one known mistake: the checker's catalogue of wrong answers."""

    class Wrong(ReferenceValue):
        _catalogue = True  # tried for its hint only

        def __add__(self, other: Any) -> Any:
            other = other if isinstance(other, ReferenceValue) else Wrong(other)
            out = Wrong(self.data + other.data, (self, other))

            def _backward() -> None:
                if wrong.get("assign"):
                    self.grad = out.grad
                    other.grad = out.grad
                else:
                    self.grad += out.grad
                    other.grad += out.grad

            out._backward = _backward
            return out

        def __mul__(self, other: Any) -> Any:
            other = other if isinstance(other, ReferenceValue) else Wrong(other)
            out = Wrong(self.data * other.data, (self, other))

            def _backward() -> None:
                if wrong.get("assign"):
                    self.grad = other.data * out.grad
                    other.grad = self.data * out.grad
                elif wrong.get("mul_no_out"):
                    self.grad += other.data
                    other.grad += self.data
                elif wrong.get("own_factor"):
                    self.grad += self.data * out.grad
                    other.grad += other.data * out.grad
                else:
                    self.grad += other.data * out.grad
                    other.grad += self.data * out.grad

            out._backward = _backward
            return out

        def tanh(self) -> Any:
            t = math.tanh(self.data)
            out = Wrong(t, (self,))
            local = {"one_minus_t": 1 - t, "input_squared": 1 - self.data**2,
                     "sigmoid_like": t * (1 - t), "t_squared": t**2,
                     "sech": 1 / math.cosh(self.data), "minus": t**2 - 1,
                     "pass_through": 1.0}.get(
                wrong.get("tanh", ""), 1 - t**2)

            def _backward() -> None:
                self.grad += local * (1.0 if wrong.get("tanh_no_out") else out.grad)

            out._backward = _backward
            return out

        def backward(self) -> None:
            order = _order(self, wrong.get("order", "right"))
            if not wrong.get("no_seed"):
                self.grad = 1.0
            for node in order:
                node._backward()

    return Wrong


def _order(root: Any, kind: str) -> list[Any]:
    """Nodes in the order ``backward`` visits them: the right one, or a known wrong one."""
    if kind == "breadth_first":  # each node once, but not after all its consumers
        order, seen, queue = [root], {id(root)}, [root]
        while queue:
            for child in queue.pop(0)._prev:
                if id(child) not in seen:
                    seen.add(id(child))
                    order.append(child)
                    queue.append(child)
        return order
    post, visited, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            post.append(node)
        elif kind == "no_visited" or id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    return post if kind == "not_reversed" else post[::-1]


MISTAKES = (
    Mistake("a gradient is ASSIGNED (`self.grad = ...`) where it must be added (`+=`): a value "
            "used more than once gets a share from every use, and the last one overwrites the "
            "others.", _variant(assign=True)),
    Mistake("in __mul__, each factor's gradient uses its OWN data; the derivative of a "
            "product with respect to one factor is the OTHER factor.",
            _variant(own_factor=True)),
    Mistake("tanh's _backward adds its local derivative but does not multiply it by "
            "out.grad, the gradient that reached tanh's output: the chain rule needs both. (It "
            "looks right when tanh is the last op, where out.grad is 1.)",
            _variant(tanh_no_out=True)),
    Mistake("tanh's _backward passes out.grad through unchanged (`self.grad += out.grad`): "
            "the chain rule multiplies it by tanh's local derivative, which is 1 only at x = "
            "0.", _variant(tanh="pass_through")),
    Mistake("__mul__'s _backward adds the other factor's data but does not multiply it by "
            "out.grad, the gradient that reached the product: the chain rule needs both. (It "
            "looks right when the product is the output, where out.grad is 1.)",
            _variant(mul_no_out=True)),
    Mistake("tanh's local derivative is nearly right: written with the output t, 1 - t is "
            "missing a square.", _variant(tanh="one_minus_t")),
    Mistake("yours is 1 - x², written with the INPUT x: the form with a square of 1 minus "
            "something uses the OUTPUT t = tanh(x), not x.",
            _variant(tanh="input_squared")),
    Mistake("t (1 - t) is the sigmoid's derivative written with its output, not tanh's: "
            "differentiate tanh again (or check your local derivative against a finite "
            "difference, (tanh(x + h) - tanh(x - h)) / 2h).", _variant(tanh="sigmoid_like")),
    Mistake("tanh's local derivative is t² alone: that is only one of its two terms, with the "
            "wrong sign; a term is missing.", _variant(tanh="t_squared")),
    Mistake("tanh's local derivative is 1 / cosh(x), that is sech(x): a square is missing.",
            _variant(tanh="sech")),
    Mistake("tanh's local derivative has the wrong sign: tanh is increasing, so its slope is "
            "positive everywhere, and t² - 1 is negative.", _variant(tanh="minus")),
    Mistake("backward must seed the output's own gradient, self.grad = 1 (dL/dL), before the "
            "loop: otherwise every gradient stays 0.", _variant(no_seed=True)),
    Mistake("a node passes its gradient on before it has received all of it: visit the nodes "
            "in REVERSE topological order (build the order depth first, appending a node after "
            "all its inputs, then reverse it).", _variant(order="breadth_first")),
    Mistake("a node used twice appears twice in your order, so its _backward runs twice: keep "
            "a set of visited nodes and list each once.", _variant(order="no_visited")),
    Mistake("the order is not reversed: backward starts at the OUTPUT and reaches the leaves "
            "last; a depth-first post-order lists the leaves first, so reverse it.",
            _variant(order="not_reversed")),
)

ERRORS = (
    (TypeError, "+=: 'NoneType'", "a `.grad` is None where `+=` adds a share to it: a Value's "
     "gradient must start at 0 (`self.grad = 0.0` in __init__), since every share is added "
     "to what is already there."),
    (TypeError, "unsupported operand", "a plain number on the LEFT (2 * v, 1 + v) makes Python "
     "call the Value's __rmul__ / __radd__: define them (each can return self * other or "
     "self + other)."),
    (AttributeError, "has no attribute 'data'", "a plain number reached code that reads "
     ".data: in __add__ and __mul__, wrap it first, `other = other if isinstance(other, "
     "Value) else Value(other)`."),
    (AttributeError, "_prev", "every Value must remember its inputs (`_prev`), the leaves an "
     "empty tuple: the topological sort walks them."),
    (OverflowError, "", "an exp overflowed: tanh written as (exp(2x) - 1) / (exp(2x) + 1) "
     "needs exp(900) for x = 450, beyond a float's range (about 1.8e308), although tanh(450) "
     "is just 1. Use math.tanh, or a form that only takes exp of a negative number, "
     "(1 - exp(-2|x|)) / (1 + exp(-2|x|)) with the sign of x."),
    (TypeError, "NoneType", "an operation returned None: each of __add__, __mul__ and tanh "
     "must `return out`."),
)


def _forbidden() -> dict[Any, str]:
    specs = [(Tensor, name, f"backprop.autograd.Tensor.{name}")
             for name in ("__add__", "__radd__", "__mul__", "__rmul__", "tanh")]
    return {**library(*specs), **autograd_engines()}


def value_engine(solution: Any) -> CheckResult:
    """Check ``solution``, a class ``Value(data)`` with ``.data``, ``.grad`` (starting at 0),
    ``+`` and ``*`` (with Values and plain numbers, on either side), ``.tanh()`` and
    ``.backward()`` (seed the output's grad with 1, then every node's ``_backward`` in reverse
    topological order).

    Values and gradients are compared with ``backprop.autograd.Tensor``'s on seven expressions
    (one a tanh of 450 and of -900, where a tanh computed from exp(2x) overflows) and a chain of 5,000 nodes (a recursive sort that stops at Python's recursion limit there
    gets a note, not a failure). Allowed: Python and ``math``; not the library's Tensor.
    """
    name = "Build the core: a scalar Value"
    if isinstance(solution, type):
        own = {m: vars(solution)[m] for m in METHODS if callable(vars(solution).get(m))}
        unwritten = [m for m, method in own.items() if is_skeleton(method)]
        if not any(hasattr(solution, m) for m in METHODS) or (own and len(unwritten) == len(own)):
            return _not_done(name)  # a stub class, or every method still `...`
        if unwritten:
            return CheckResult(name, "not done", message=(
                f"not done yet: {', '.join(unwritten)} still hold only `...`; write them, "
                "then run this cell again."))
    _Recursive.hit = False
    result = run_check(name, solution, _run, _tensor, mistakes=MISTAKES, error_hints=ERRORS,
                       products=False, forbid=_forbidden(),
                       allowed="Python and `math` (not the library's Tensor)")
    if result.status == "failed" and result.hint is not None:
        result.hint = _op_on_its_own(solution, result.hint)
    if result.status == "failed" and LARGE_LABEL in result.message and "nan or inf" in (
            result.hint or ""):
        result.hint = LARGE_TANH
    if _Recursive.hit:
        result.rows = [row for row in result.rows if DEEP_LABEL not in row.name]
        if result.status == "not done" and all(row.ok for row in result.rows):
            result.status = "passed"
            result.message = (f"all {len(result.rows)} quantities are right (the chain of "
                              f"{DEEP:,} nodes stopped at the recursion limit: see the note).")
        result.note = (f"on the chain of {DEEP:,} nodes your backward() stopped at Python's "
                       "recursion limit (about 1,000 nested calls): a recursive topological "
                       "sort is fine for small graphs, but the library builds its order with a "
                       "loop and a stack of its own, so that a deep network cannot hit it. "
                       "Try it: that is the last step to an engine like the library's.")
    if result.status == "passed":
        result.rows = _grouped(result.rows)
    return result


def _grouped(rows: list[Row]) -> list[Row]:
    """A passing table, one row per expression (its output and gradients together): the
    quantities are all right, and a page need not list 26 of them."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.name.split(", ", 1)[-1], []).append(row)
    return [Row(f"{label}: output, {len(group) - 1} grad{'s' * (len(group) > 2)}", "scalar",
                "scalar", group[0].verdict, True) for label, group in groups.items()]


# Each op on its own: out = op(leaves), an incoming gradient out.grad = 2.5 set by hand, then
# out._backward() once; the leaves' gradients, from the inputs, and what the right ones are.
OPS = (
    ("__add__", lambda a, b: a + b, lambda a, b, g: (g, g)),
    ("__mul__", lambda a, b: a * b, lambda a, b, g: (b * g, a * g)),
    ("tanh", lambda a, b: a.tanh(), lambda a, b, g: ((1 - math.tanh(a) ** 2) * g, 0.0)),
)


def _first_wrong_op(solution: Any) -> tuple[str, tuple[float, float], tuple[float, float]] | None:
    """The first op (of +, *, tanh) whose _backward, run on its own with an incoming gradient
    other than 1, gives its inputs the wrong gradients: (op, theirs, right). ``None`` when each
    is right on its own, or when the class cannot be driven so (no ``_backward``)."""
    data_a, data_b, incoming = 0.7, -1.3, 2.5
    for op, build, right in OPS:
        try:
            with np.errstate(all="ignore"):
                a, b = solution(data_a), solution(data_b)
                out = build(a, b)
                out.grad = incoming
                out._backward()
                theirs = (float(a.grad), float(b.grad))
        except Exception:
            return None
        want = right(data_a, data_b, incoming)
        if not all(abs(x - y) <= 1e-6 * (1 + abs(y)) for x, y in zip(theirs, want)):
            return op, theirs, want
    return None


def _op_on_its_own(solution: Any, hint: str) -> str:
    """A hint that blames one op is kept only if that op is wrong on its own: two slips can
    give one gradient the same wrong value (tanh passing out.grad through, and __mul__ leaving
    out out.grad, both give x1.grad = w1 in micrograd's neuron)."""
    if not isinstance(solution, type):
        return hint
    found = _first_wrong_op(solution)
    if found is None:
        return hint
    op, theirs, want = found
    named = {name for name in ("__add__", "__mul__", "tanh") if name in hint}
    generic = "times the expected one" in hint or "factor that varies" in hint
    if op in named or not (named or generic):
        return hint  # the hint is about this op, or about no op (the order, a seed, +=)
    what = {"__add__": "a + b", "__mul__": "a * b", "tanh": "a.tanh()"}[op]
    said = (f"tested on its own (out = {what}; out.grad = 2.5; out._backward()), your {op} "
            f"is the first op whose gradient is wrong")
    if op == "tanh" and abs(theirs[0] - 2.5) < 1e-9:
        return (said + ": it passes out.grad through unchanged, so tanh's local derivative "
                "is missing from the chain rule.")
    if op == "__mul__" and all(abs(x - 2.5) < 1e-9 for x in theirs):
        return (said + ": it passes out.grad on to both factors unchanged, as + does; the "
                "derivative of a * b with respect to a is the OTHER factor, b.")
    return (said + f": a.grad is {theirs[0]:.3g} and b.grad {theirs[1]:.3g} where the chain "
            "rule gives out.grad times the op's local derivative for each input. Get each op "
            "right on its own first.")


def _not_done(name: str) -> CheckResult:
    rows = [Row(f"output, {label}", "scalar", "—", "… not done", False, False)
            for label, _, _ in EXPRESSIONS]
    return CheckResult(name, "not done", rows, "not done yet: write the methods of `Value`, "
                       "then run this cell again.")
