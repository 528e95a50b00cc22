"""check_gradient_where: hand formulas written with named intermediates, checked by SymPy."""

import time

import pytest
import sympy as sp

from backprop.symbolic import check_gradient_where, substitute_definitions

x, y, w, u, a, t = sp.symbols("x y w u a t", real=True)


def sigmoid(z):
    return 1 / (1 + sp.exp(-z))


NEURON = {u: w * x, a: sigmoid(u)}  # one sigmoid unit: u = w x, a = sigma(u)
E = (a - t) ** 2 / 2


def test_definitions_are_substituted_until_none_is_left():
    assert substitute_definitions(a, NEURON) == sigmoid(w * x)
    assert substitute_definitions(x + y, NEURON) == x + y
    with pytest.raises(ValueError, match="circular"):
        substitute_definitions(u, {u: a + 1, a: u})


def test_a_right_chain_rule_passes_and_shows_the_formula_as_written():
    verdicts = check_gradient_where(E, [w], [(a - t) * a * (1 - a) * x], NEURON,
                                    names=[r"\frac{\partial E}{\partial w}"])
    markdown = verdicts._repr_markdown_()
    assert "(1 of 1)" in markdown and r"\frac{\partial E}{\partial w}" in markdown
    assert "a t" not in markdown and "e^{" not in markdown  # the names, not the expansion


def test_a_wrong_chain_rule_fails_fast_with_values_at_a_sample_point():
    started = time.perf_counter()
    with pytest.raises(AssertionError, match=r"does not match SymPy[\s\S]*by hand [\d.]+\s+SymPy"):
        check_gradient_where(E, [w], [(a - t) * x], NEURON)  # forgot sigma'(u)
    assert time.perf_counter() - started < 5


def test_identities_beyond_algebra_fall_back_to_simplify():
    expr = x * (sp.sin(y) ** 2 + sp.cos(y) ** 2)
    assert check_gradient_where(expr, [x], [sp.Integer(1)], {})


def test_sums_over_two_paths_through_nested_sigmoids():
    # x feeds two sigmoid units, both feed one output: dE/dx sums two paths.
    h1, h2, o = sp.symbols("h1 h2 o", real=True)
    where = {h1: sigmoid(2 * x), h2: sigmoid(3 * x), o: sigmoid(h1 + h2)}
    loss = (o - t) ** 2 / 2
    claimed = (o - t) * o * (1 - o) * (h1 * (1 - h1) * 2 + h2 * (1 - h2) * 3)
    assert check_gradient_where(loss, [x], [claimed], where)


def test_argument_errors():
    with pytest.raises(ValueError, match="2 variables but 1"):
        check_gradient_where(E, [w, x], [x], NEURON)
    with pytest.raises(ValueError, match="original variables"):
        check_gradient_where(E, [a], [a - t], NEURON)


def test_the_mismatch_report_fits_a_book_page():
    """Many symbols make a long list of sample values: it wraps instead of running off the page."""
    ws = sp.symbols("w1:9", real=True)
    with pytest.raises(AssertionError) as raised:
        check_gradient_where(sum(w_k * x for w_k in ws) ** 2, [ws[0]], [x], {})
    report = str(raised.value)
    assert max(len(line) for line in report.splitlines()) <= 77, report
    assert "w8=" in report and "by hand" in report
