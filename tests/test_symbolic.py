"""The SymPy checks must accept a right derivation and stop a wrong one."""

import pytest
import sympy as sp

from backprop.symbolic import are_equal, check_derivative, check_equal, check_gradient

x, y = sp.symbols("x y", real=True)
sigmoid = 1 / (1 + sp.exp(-x))


def test_sigmoid_derivative_in_its_famous_form():
    verdict = check_derivative(sigmoid, x, sigmoid * (1 - sigmoid), r"\sigma'(x)")
    assert verdict and r"\sigma'(x)" in verdict._repr_markdown_()


def test_wrong_derivative_raises_with_the_difference():
    with pytest.raises(AssertionError, match=r"by hand: 2\*x[\s\S]*SymPy:   3\*x\*\*2"):
        check_derivative(x**3, x, 2 * x)


def test_equal_needs_more_than_simplify_sometimes():
    assert are_equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    assert not are_equal(sp.exp(x), 1 + x)


def test_check_equal_names_the_quantity():
    with pytest.raises(AssertionError, match="dE/dw"):
        check_equal(x * y, x + y, "dE/dw")


def test_gradient_checks_every_entry_and_renders_them_together():
    verdicts = check_gradient(x**2 * y, [x, y], [2 * x * y, x**2])
    assert len(verdicts) == 2 and "(2 of 2)" in verdicts._repr_markdown_()
    with pytest.raises(AssertionError):
        check_gradient(x**2 * y, [x, y], [2 * x * y, 2 * x])
    with pytest.raises(ValueError, match="2 variables but 1"):
        check_gradient(x * y, [x, y], [y])


def test_verdicts_added_together_still_render_as_one_block_of_math():
    """A list of verdicts would print as text with raw LaTeX; added verdicts stay Verdicts."""
    gradient = check_gradient(x**2 * y, [x, y], [2 * x * y, x**2])
    one = check_equal(2 * x, sp.diff(x**2, x), r"\frac{d}{dx} x^2")
    for joined in (gradient + [one], [one] + gradient, gradient + one, one + gradient,
                   gradient + gradient):
        assert type(joined).__name__ == "Verdicts"
        assert f"({len(joined)} of {len(joined)})" in joined._repr_markdown_()
    assert [v.name for v in [one] + gradient][0] == r"\frac{d}{dx} x^2"
    with pytest.raises(TypeError, match="only verdicts"):
        gradient + [1]
