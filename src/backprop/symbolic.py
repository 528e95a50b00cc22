"""SymPy checks for derivations done by hand, with a verdict a notebook can display.

Every derivative the course derives on paper is followed by a cell like

    check_derivative(E, w5, (a_o1 - t1) * a_o1 * (1 - a_o1) * a_h1, name=r"\\partial E / \\partial w_5")

which differentiates ``E`` symbolically, asserts that the result equals the hand-written formula,
and shows both as rendered math. A wrong derivation stops the notebook with an AssertionError
that prints the difference, so the book cannot be built with a mistake in it.
"""

from __future__ import annotations

import sympy as sp


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
    derived = sp.diff(expr, wrt)
    label = name or rf"\frac{{\partial f}}{{\partial {sp.latex(wrt)}}}"
    return check_equal(claimed, derived, label)


class Verdicts(list):
    """Several verdicts, displayed together as one aligned block of equations."""

    def _repr_markdown_(self) -> str:
        rows = r" \\ ".join(f"{v.name} &= {sp.latex(v.claimed)}" for v in self)
        return f"**SymPy agrees** ✓ ({len(self)} of {len(self)})\n\n$$\n\\begin{{aligned}}\n{rows}\n\\end{{aligned}}\n$$\n"


def check_gradient(
    expr: sp.Expr, wrts: list[sp.Symbol], claimed: list[sp.Expr], names: list[str] | None = None
) -> Verdicts:
    """``check_derivative`` for several variables at once (a gradient, entry by entry)."""
    if len(wrts) != len(claimed):
        raise ValueError(f"{len(wrts)} variables but {len(claimed)} claimed derivatives")
    names = names or [None] * len(wrts)
    return Verdicts(check_derivative(expr, w, c, n) for w, c, n in zip(wrts, claimed, names))
