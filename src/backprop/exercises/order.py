"""Chapter 4, AutoGrad: tell a right backward order from a wrong one.

The learner has built a reverse topological order (inside ``Value.backward``); this exercise
asks for the other half of knowing it: ``is_backward_order(order, root) -> bool``, which says
whether ``backward()`` may walk the graph of ``root`` in ``order``. An order is right when it
lists every tensor ``root`` was computed from (through ``inputs``), and ``root``, each once and
nothing else, every tensor before each of its inputs.

The check hands the learner's function twelve orders of three graphs, each built afresh: the
chapter's f = (x + y)(x y), in which x and y, and q and r, hold equal values (so a function that
finds tensors with ``==``, ``in`` or ``list.index`` mixes them up); a graph in which two tensors
are used twice (so a breadth-first order is wrong); and a chain of 2,000 operations (so a
recursive walk stops at Python's recursion limit). Two different right orders are among them,
so a function that compares with one order fails. Each order has a note that says why it is
right or wrong: the hint when the learner's verdict on it is the first wrong one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop.autograd import Tensor, nodes
from backprop.exercises._core import (
    CheckResult,
    Row,
    _Guarded,
    _learner_error,
    is_skeleton,
    library,
)

__all__ = ["backward_order"]

NAME = "Tell a right backward order from a wrong one"
CHAIN = 2_000
COLUMNS = ("order", "right?", "your answer", "verdict")


def _diamond() -> dict[str, Tensor]:
    """f = (x + y)(x y) at x = y = 2: x and y hold equal values, and so do q and r."""
    x, y = Tensor(2.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    q, r = x + y, x * y
    return {"x": x, "y": y, "q": q, "r": r, "f": q * r, "z": Tensor(2.0, requires_grad=True)}


def _reused() -> dict[str, Tensor]:
    """a and c are used twice: c = a b, s = c + a, d = s s, e = d c, loss = sum(e)."""
    a = Tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    b = Tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
    c = a * b
    s = c + a
    d = s * s
    e = d * c
    return {"a": a, "b": b, "c": c, "s": s, "d": d, "e": e, "loss": e.sum()}


def _chain() -> dict[str, Tensor]:
    x = Tensor(0.5, requires_grad=True)
    t = x
    for _ in range(CHAIN):
        t = -t
    return {"x": x, "root": t}


def _named(*names: str) -> Callable[[dict[str, Tensor]], list[Tensor]]:
    return lambda graph: [graph[name] for name in names]


def _engine(graph: dict[str, Tensor], root: str) -> list[Tensor]:
    return nodes(graph[root])[::-1]


def _breadth_first(graph: dict[str, Tensor]) -> list[Tensor]:
    return [graph[name] for name in ("loss", "e", "d", "c", "s", "a", "b")]


def _swapped(graph: dict[str, Tensor]) -> list[Tensor]:
    order = _engine(graph, "root")
    middle = CHAIN // 2
    order[middle], order[middle + 1] = order[middle + 1], order[middle]
    return order


_EQUAL = (" (If your function finds tensors with ==, `in` or list.index/count: here x and y hold "
          "equal values, and so do q and r, and == compares tensors by value. Look tensors up "
          "by identity instead: id(t), in a set or a dict.)")

# (label, graph, root's name, the order, right?, why: the hint when this verdict is the first
# wrong one)
CASES: tuple[tuple[str, Callable, str, Callable, bool, str], ...] = (
    ("f: f, q, r, x, y", _diamond, "f", _named("f", "q", "r", "x", "y"), True,
     "this order is right: every tensor once, each before its inputs." + _EQUAL),
    ("f: f, r, q, y, x", _diamond, "f", _named("f", "r", "q", "y", "x"), True,
     "this order is right too: more than one order is right (q and r may come in either order, "
     "so may x and y). Check the rule, each tensor before each of its inputs, not equality with "
     "one particular order." + _EQUAL),
    ("f: y, x, r, q, f", _diamond, "f", _named("y", "x", "r", "q", "f"), False,
     "this order is reversed: the inputs come first. backward() must start at the root and "
     "reach the leaves last; a list that holds the right tensors once each is not enough, the "
     "positions matter."),
    ("f: f, q, x, r, y", _diamond, "f", _named("f", "q", "x", "r", "y"), False,
     "x comes before r, yet r = x * y uses x: x would pass its gradient on before r's share "
     "reached it. Check every tensor against EACH of its inputs (each (tensor, input) pair), "
     "not only the root's place, or only the first path on which you met a tensor."),
    ("f: f, q, r, x, y, x", _diamond, "f", _named("f", "q", "r", "x", "y", "x"), False,
     "x appears twice: its backward would run twice and pass its gradient on twice. A right "
     "order lists each tensor once; a dict from id(t) to position forgets the first place."),
    ("f: f, q, r, x (y left out)", _diamond, "f", _named("f", "q", "r", "x"), False,
     "y is left out: it would never receive its gradient. A right order holds every tensor the "
     "root was computed from, down to the leaves: walk the graph from the root through "
     "`inputs` and make sure you meet nothing that the order lacks."),
    ("f: q, r, x, y (f left out)", _diamond, "f", _named("q", "r", "x", "y"), False,
     "the root f is left out, and backward() starts with the root's own backward. Check that "
     "the root is in the order (it must come first), not only the tensors below it."),
    ("f: f, q, r, x, y, z (z not in f)", _diamond, "f", _named("f", "q", "r", "x", "y", "z"),
     False,
     "z is not in the graph of f (nothing that f was computed from): a right order lists the "
     "graph's tensors and nothing else. Count what you reached from the root against the "
     "length of the order."),
    ("loss: the engine's order", _reused, "loss", lambda g: _engine(g, "loss"), True,
     "this is the engine's own order, nodes(loss) reversed: every tensor once, each before its "
     "inputs, with a and c used twice."),
    ("loss: breadth first (c before s)", _reused, "loss", _breadth_first, False,
     "this breadth-first order puts c before s, yet s = c + a uses c: c would pass its gradient "
     "on before s's share reached it. Check each tensor against EVERY tensor that uses it, that "
     "is: each (tensor, input) pair, not only the first path that reached a tensor."),
    (f"chain of {CHAIN:,}: the engine's order", _chain, "root", lambda g: _engine(g, "root"),
     True,
     f"a chain of {CHAIN:,} ops in the engine's order is right. If your function walks the "
     "graph by recursion, it stops at Python's recursion limit (about 1,000 calls): walk with a "
     "loop and a list as a stack."),
    (f"chain of {CHAIN:,}: two neighbours swapped", _chain, "root", _swapped, False,
     "two neighbours in the middle of the chain are swapped, so one tensor comes before the "
     "tensor computed from it. Check every (tensor, input) pair, not only the ends."),
)

ERRORS = (
    (RecursionError, "", f"a recursive walk stops at Python's recursion limit (about 1,000 "
     f"nested calls) on the chain of {CHAIN:,} ops: walk the graph with a loop and a list as a "
     "stack, as in your Value.backward."),
    *((kind, "ambiguous", "`in`, list.index, list.count and == compare tensors by VALUE, "
       "element by element (a tensor of several elements has no single truth value): look "
       "tensors up by identity, id(t), in a set or a dict.") for kind in (RuntimeError, ValueError)),
)


def _forbidden() -> dict[Any, str]:
    """The library's own orders (``nodes``, anything named for a topological order, in the engine
    and in ``backprop.lessons``) and ``backward()``: the learner walks the graph."""
    specs = [(Tensor, "backward", "backprop.autograd.Tensor.backward")]
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(("backprop.autograd", "backprop.lessons")):
            continue
        for attribute in dir(module):
            if ("topolog" in attribute.lower() or attribute == "nodes") and callable(
                    getattr(module, attribute, None)):
                specs.append((module, attribute, f"{module_name}.{attribute}"))
    return library(*specs)


def _not_done(function: str) -> CheckResult:
    rows = [Row(label, "yes" if right else "no", "—", "… not done", False, False)
            for label, _, _, _, right, _ in CASES]
    return _table(CheckResult(NAME, "not done", rows,
                              f"not done yet: write the body of `{function}`, then run this "
                              "cell again."))


GRAPHS = {_diamond: "f = (x + y)(x y)", _reused: "loss, a and c used twice",
          _chain: f"a chain of {CHAIN:,} ops"}


def _grouped() -> list[Row]:
    """A passing table, one row per graph: every verdict is right, so a page need not list
    twelve of them."""
    rows = []
    for make, graph in GRAPHS.items():
        rights = [right for _, built, *_, right, _ in CASES if built is make]
        rows.append(Row(f"{graph}: {len(rights)} orders", f"{sum(rights)} of them",
                        "all judged right", "✓ right", True))
    return rows


def _table(result: CheckResult) -> CheckResult:
    result.columns = COLUMNS
    return result


def backward_order(solution: Callable[..., Any]) -> CheckResult:
    """Check ``solution(order: list[Tensor], root: Tensor) -> bool``: True when ``backward()``
    may walk ``root``'s graph in ``order`` (every tensor ``root`` was computed from, and
    ``root``, each once and nothing else, each before each of its inputs), else False.

    Tried on twelve orders (four right, eight wrong) of three graphs: f = (x + y)(x y) with
    equal values in x and y and in q and r, a graph with two tensors used twice, and a chain
    of 2,000 ops. The list passed in must come back unchanged. Allowed: Python (lists, sets,
    dicts, a stack) and each tensor's ``inputs``; not the library's ``nodes``, its other
    topological orders, or ``backward()``.
    """
    if not callable(solution):
        return CheckResult(NAME, "error", message="expected a function: pass the function "
                           "itself, without calling it.")
    function = getattr(solution, "__name__", "your function")
    guarded = _Guarded(solution, _forbidden())
    rows: list[Row] = []
    first_wrong: str | None = None
    for label, make, root_name, make_order, right, _why in CASES:
        graph = make()
        order = make_order(graph)
        given = list(order)
        try:
            with np.errstate(all="ignore"):
                answer = guarded(given, graph[root_name])
        except NotImplementedError:
            return _not_done(function)
        except Exception as error:
            result = _learner_error(NAME, function, solution, error, ERRORS)
            result.message += f" on the order {label}"
            result.rows = rows + [Row(label, "yes" if right else "no", "—", "— raised here",
                                      False, False)]
            return _table(result)
        if guarded.called:
            return _table(CheckResult(
                NAME, "failed", rows, f"`{function}` calls the library's own "
                f"{guarded.called[0]}; walk the graph yourself, from the root through each "
                "tensor's `inputs`.",
                "the order of a graph is what you are checking: use only each tensor's "
                "`inputs`, a set or dict of id(t), and a list as a stack."))
        if answer is None or answer is Ellipsis:
            if not rows and is_skeleton(solution):
                return _not_done(function)
            return _table(CheckResult(NAME, "failed", rows, f"`{function}` returned None on "
                                      f"the order {label}. Is a `return` missing on some path?"))
        if len(given) != len(order) or any(a is not b for a, b in zip(given, order)):
            return _table(CheckResult(
                NAME, "failed", rows, f"`{function}` changed the list it was given (on the "
                f"order {label}); read it without changing it.",
                "work on what you build from it (a dict of positions, a set), not on the list "
                "itself: no sort, pop or remove on `order`."))
        if not isinstance(answer, (bool, np.bool_)):
            return _table(CheckResult(
                NAME, "failed", rows, f"`{function}` returned {answer!r} on the order {label}; "
                "it must return True or False.",
                "return the verdict itself, `True` or `False`, not a list, a count or a message."))
        ok = bool(answer) == right
        rows.append(Row(label, "yes" if right else "no", str(bool(answer)),
                        "✓ right" if ok else "✗ wrong", ok))
        if not ok and first_wrong is None:
            first_wrong = label
    if first_wrong is None:
        return _table(CheckResult(NAME, "passed", _grouped(),
                                  f"all {len(CASES)} orders judged right."))
    wrong = [row for row in rows if not row.ok]
    right, hint = next((right, why) for label, *_, right, why in CASES if label == first_wrong)
    return _table(CheckResult(
        NAME, "failed", rows, f"{len(wrong)} of {len(CASES)} orders judged wrong; the first is "
        f"{first_wrong}, which is {'right' if right else 'wrong'}.", hint))
