"""SymPy checks for derivations done by hand, with a verdict a notebook can display.

Every derivative the course derives on paper is followed by a cell like

    check_derivative(E, w5, (a_o1 - t1) * a_o1 * (1 - a_o1) * a_h1, name=r"\\partial E / \\partial w_5")

which differentiates ``E`` symbolically, asserts that the result equals the hand-written formula,
and shows both as rendered math. A wrong derivation stops the notebook with an AssertionError
that prints the difference, so the book cannot be built with a mistake in it.
"""

from __future__ import annotations

import textwrap
from typing import Any

import sympy as sp


def _expression(value: Any, what: str) -> sp.Expr:
    """``value`` as a SymPy expression, or an error that says how to write one.

    A string such as ``"2*x"`` is read by SymPy into new symbols with no assumptions, so
    ``_same_symbols`` below matches them to the expression's symbols by name.
    """
    if callable(value) and not isinstance(value, sp.Basic):
        raise TypeError(
            f"{what} is a Python function (a lambda?), not a SymPy expression: write it with "
            "SymPy symbols, e.g. x = sp.Symbol('x'); x**2 instead of lambda x: x**2"
        )
    try:
        return sp.sympify(value)
    except (sp.SympifyError, TypeError) as error:
        raise TypeError(f"{what} is not a SymPy expression: {error}") from None


def _same_symbols(claimed: sp.Expr, *reference: sp.Expr) -> sp.Expr:
    """Put the reference's symbols into ``claimed`` wherever their names match.

    ``Symbol("x", positive=True)`` and ``Symbol("x")`` are different symbols to SymPy, so a
    correct claim written with the plain one (or as the string ``"2*x"``) would never equal a
    derivative of the declared one. A reader sees only the name, so the name decides.
    """
    by_name = {s.name: s for r in reference for s in r.free_symbols if isinstance(s, sp.Symbol)}
    return claimed.xreplace(
        {s: by_name[s.name] for s in claimed.free_symbols
         if isinstance(s, sp.Symbol) and s.name in by_name and by_name[s.name] != s}
    )


def _as_list(values: Any, what: str) -> list[Any]:
    """The list of variables (or formulas, or names) a gradient check takes, or a clear error."""
    if isinstance(values, (list, tuple)):
        return list(values)
    raise TypeError(
        f"{what} must be a list, e.g. [a, b], got {type(values).__name__} {values!r}; for one "
        "variable use check_derivative(expr, a, claimed)"
    )


def _check_lengths(wrts: list[Any], claimed: list[Any], names: list[Any] | None) -> None:
    """Every variable needs its claim (and its name, if names are given): none is skipped."""
    if len(wrts) != len(claimed):
        raise ValueError(f"{len(wrts)} variables but {len(claimed)} claimed derivatives")
    if names is not None and len(names) != len(wrts):
        raise ValueError(f"{len(wrts)} variables but {len(names)} names; give one name each")


class Verdict:
    """The outcome of a symbolic check: what was claimed, what SymPy found, and that they agree.

    Displayed in Jupyter (and on the site) as an equation with a check mark; ``bool(verdict)``
    is True. A verdict is only ever created for a check that passed: a failed check raises.
    """

    def __init__(self, name: str, claimed: sp.Expr, derived: sp.Expr) -> None:
        self.name = name
        self.claimed = claimed
        self.derived = derived

    def __bool__(self) -> bool:
        return True

    def _repr_markdown_(self) -> str:
        return (
            f"**SymPy agrees** ✓\n\n$$\n{self.name} = {sp.latex(self.claimed)}\n$$\n"
        )

    def __repr__(self) -> str:
        return f"SymPy agrees: {self.name} = {self.claimed}"


def are_equal(a: sp.Expr, b: sp.Expr) -> bool:
    """True if SymPy can prove ``a == b`` for all values of the symbols.

    ``simplify(a - b) == 0`` settles most cases; ``equals`` tries harder (it also tests random
    points) where simplify leaves an expression it cannot reduce.
    """
    difference = sp.simplify(sp.sympify(a) - sp.sympify(b))
    if difference == 0:
        return True
    return bool(sp.sympify(a).equals(sp.sympify(b)))


def check_equal(claimed: sp.Expr, derived: sp.Expr, name: str = "") -> Verdict:
    """Assert that a hand result ``claimed`` equals ``derived`` (e.g. SymPy's own), and return
    a displayable verdict. On failure the AssertionError shows both and their difference."""
    derived = _expression(derived, "derived")
    claimed = _same_symbols(_expression(claimed, "the claimed result"), derived)
    if not are_equal(claimed, derived):
        difference = sp.simplify(sp.sympify(claimed) - sp.sympify(derived))
        raise AssertionError(
            f"The hand result for {name or 'the expression'} does not match SymPy.\n"
            f"  by hand: {claimed}\n  SymPy:   {derived}\n  difference: {difference}"
        )
    return Verdict(name or sp.latex(derived), sp.sympify(claimed), sp.sympify(derived))


def check_derivative(
    expr: sp.Expr, wrt: sp.Symbol | sp.Function, claimed: sp.Expr, name: str | None = None
) -> Verdict:
    """Differentiate ``expr`` with respect to ``wrt`` and assert the result equals ``claimed``.

    ``name`` is the LaTeX shown on the left of the verdict; by default
    ``\\frac{\\partial f}{\\partial wrt}``.
    """
    expr = _expression(expr, "expr")
    derived = sp.diff(expr, wrt)
    label = name or rf"\frac{{\partial f}}{{\partial {sp.latex(wrt)}}}"
    claimed = _same_symbols(_expression(claimed, "the claimed derivative"), expr, derived)
    return check_equal(claimed, derived, label)


class Verdicts(list):
    """Several verdicts, displayed together as one aligned block of equations.

    ``+`` joins checks into one block: ``check_gradient(...) + check_equal(...)`` or
    ``[check_equal(...)] + check_gradient(...)`` is again a ``Verdicts``, rendered as math (a
    plain list would print as text, LaTeX and all).
    """

    def __add__(self, other: Any) -> Verdicts:
        return Verdicts([*self, *_verdict_list(other)])

    def __radd__(self, other: Any) -> Verdicts:
        return Verdicts([*_verdict_list(other), *self])

    def __iadd__(self, other: Any) -> Verdicts:
        self.extend(_verdict_list(other))
        return self

    def _repr_markdown_(self) -> str:
        rows = r" \\ ".join(f"{v.name} &= {sp.latex(v.claimed)}" for v in self)
        return (f"**SymPy agrees** ✓ ({len(self)} of {len(self)})\n\n"
                f"$$\n\\begin{{aligned}}\n{rows}\n\\end{{aligned}}\n$$\n")


def _verdict_list(value: Any) -> list[Verdict]:
    """One verdict, or a list of them, as a list; anything else is a mistake worth naming."""
    values = [value] if isinstance(value, Verdict) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, Verdict) for v in values):
        raise TypeError(f"only verdicts add to verdicts, not {type(value).__name__}")
    return list(values)


def check_gradient(
    expr: sp.Expr, wrts: list[sp.Symbol], claimed: list[sp.Expr], names: list[str] | None = None
) -> Verdicts:
    """``check_derivative`` for several variables at once (a gradient, entry by entry).

    Every variable is checked: lists of different lengths raise rather than stop early.
    """
    wrts, claimed = _as_list(wrts, "wrts"), _as_list(claimed, "claimed")
    names = None if names is None else _as_list(names, "names")
    _check_lengths(wrts, claimed, names)
    names = names or [None] * len(wrts)
    return Verdicts(
        check_derivative(expr, w, c, n) for w, c, n in zip(wrts, claimed, names, strict=True)
    )


def substitute_definitions(expr: sp.Expr, where: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """Replace every named intermediate quantity in ``expr`` by its definition, repeatedly, until
    none is left: ``where`` may define ``a_o1`` in terms of ``o1``, and ``o1`` in terms of ``a_h1``.

    A hand derivation names its intermediates; this turns a formula written with those names back
    into one in the original variables, which is what SymPy can differentiate and compare.
    """
    expr = sp.sympify(expr)
    for _ in range(len(where) + 1):
        expanded = expr.xreplace(dict(where))
        if expanded == expr:
            return expr
        expr = expanded
    raise ValueError("The definitions are circular: a quantity is defined in terms of itself.")


def _difference_vanishes(difference: sp.Expr) -> bool:
    """A fast, sound test that ``difference`` is identically 0: put it over one denominator and
    expand the numerator. Nested sigmoids make ``simplify`` take seconds; this takes
    milliseconds. False means "not shown to be 0", not "different"."""
    numerator, _ = sp.together(difference).as_numer_denom()
    return sp.expand(numerator) == 0


def check_gradient_where(
    expr: sp.Expr,
    wrts: list[sp.Symbol],
    claimed: list[sp.Expr],
    where: dict[sp.Symbol, sp.Expr],
    names: list[str] | None = None,
) -> Verdicts:
    """``check_gradient`` for formulas written the way a person writes them: in named
    intermediate quantities (``a_h1``, ``a_o1``, ...) whose definitions ``where`` holds.

    ``expr`` and each ``claimed`` formula may use those names. Both are expanded into the
    original variables (``substitute_definitions``); SymPy differentiates the expanded ``expr``
    by each variable in ``wrts`` and the result must equal the expanded formula. The verdict
    shows each formula as written, names and all. A wrong formula raises an AssertionError that
    gives both values at a sample point.
    """
    wrts, claimed = _as_list(wrts, "wrts"), _as_list(claimed, "claimed")
    names = None if names is None else _as_list(names, "names")
    _check_lengths(wrts, claimed, names)
    expr = _expression(expr, "expr")
    defined = [wrt for wrt in wrts if wrt in where]
    if defined:
        raise ValueError(f"Differentiate by the original variables, not defined names: {defined}")
    full = substitute_definitions(expr, where)
    names = names or [rf"\frac{{\partial f}}{{\partial {sp.latex(wrt)}}}" for wrt in wrts]
    verdicts = Verdicts()
    for wrt, formula, name in zip(wrts, claimed, names, strict=True):
        derived = sp.diff(full, wrt)
        formula = _same_symbols(_expression(formula, f"the claim for {name}"), expr, full, *where)
        by_hand = substitute_definitions(formula, where)
        if not _difference_vanishes(by_hand - derived):
            values = _values_at_sample_point(by_hand, derived)
            differs = abs(values[0] - values[1]) > 1e-9 * (1 + abs(values[1]))  # NaN: unknown
            if differs or not are_equal(by_hand, derived):
                raise AssertionError(_mismatch_report(name, formula, by_hand, derived, values))
        verdicts.append(Verdict(name, sp.sympify(formula), derived))
    return verdicts


def _sample_point(*exprs: sp.Expr) -> dict[sp.Symbol, sp.Rational]:
    """Fixed, unremarkable values (0.2 ... 0.8) for every symbol, to evaluate formulas at."""
    symbols = sorted(set().union(*(sp.sympify(e).free_symbols for e in exprs)), key=str)
    return {symbol: sp.Rational(index % 7 + 2, 10) for index, symbol in enumerate(symbols)}


def _values_at_sample_point(by_hand: sp.Expr, derived: sp.Expr) -> tuple[complex, complex]:
    """Both formulas evaluated at ``_sample_point``: a cheap test that catches a wrong formula
    before any slow simplification is tried. NaN where a formula is undefined there."""
    point = _sample_point(by_hand, derived)
    values = []
    for expr in (by_hand, derived):
        try:
            values.append(complex(sp.N(expr.subs(point), 15)))
        except (TypeError, ValueError, ZeroDivisionError):
            values.append(complex("nan"))
    return values[0], values[1]


def _mismatch_report(
    name: str, formula: sp.Expr, by_hand: sp.Expr, derived: sp.Expr, values: tuple[complex, complex]
) -> str:
    """Say which formula is wrong and give both sides' values at the sample point, which is
    readable where the full expressions (nested sigmoids) are not."""
    at = ", ".join(f"{s}={v}" for s, v in _sample_point(by_hand, derived).items())
    at = "\n     ".join(textwrap.wrap(f"{at}:", width=70))  # fits a book page
    hand, sympy = (f"{v.real:.10g}" if v.imag == 0 else str(v) for v in values)
    return (
        f"The hand result for {name} does not match SymPy.\n  by hand: {formula}\n"
        f"  at {at}\n    by hand {hand}\n    SymPy   {sympy}"
    )
