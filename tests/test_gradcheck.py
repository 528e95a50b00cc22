"""Tests for backprop.gradcheck: the referee must be right itself, and catch wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd import Tensor
from backprop.gradcheck import compare, gradcheck, numerical_grad


def wrong_square(x: Tensor) -> Tensor:
    """x^2 with a deliberately wrong backward (forgets the factor 2), written as a new op."""
    out = Tensor(x.data**2, inputs=(x,), op="wrong_square")

    def _backward(grad: np.ndarray) -> None:
        x.add_grad(grad * x.data)

    out.backward_fn = _backward
    return out


# --------------------------------------------------------------------------- numerical_grad
def test_numerical_grad_of_known_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_grad(lambda v: np.sum(v**2), x), 2 * x, atol=1e-8)
    np.testing.assert_allclose(numerical_grad(lambda v: np.sum(np.sin(v)), x), np.cos(x), atol=1e-8)
    weights = np.array([[3.0, -1.0], [0.0, 2.0]])
    np.testing.assert_allclose(numerical_grad(lambda v: np.sum(weights * v), x), weights, atol=1e-8)


def test_numerical_grad_handles_scalars_and_leaves_the_input_alone():
    assert numerical_grad(lambda v: v**3, np.array(2.0)) == pytest.approx(12.0, rel=1e-8)
    x = np.array([1.0, 2.0, 3.0])
    original = x.copy()
    numerical_grad(lambda v: float(np.prod(v)), x)
    np.testing.assert_array_equal(x, original)


def test_numerical_grad_perturbs_one_element_at_a_time_and_restores_it():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    seen = []

    def record(v: np.ndarray) -> float:
        seen.append(v.copy())
        return 0.0

    numerical_grad(record, x, eps=0.5)
    assert len(seen) == 2 * x.size
    for point in seen:
        changed = np.flatnonzero(point != x)
        assert len(changed) == 1
        assert abs(point.flat[changed[0]] - x.flat[changed[0]]) == 0.5


def test_numerical_grad_of_a_function_coupling_its_inputs():
    x = np.array([1.5, -2.0, 0.5])
    products_of_others = np.array([-1.0, 0.75, -3.0])
    np.testing.assert_allclose(numerical_grad(np.prod, x), products_of_others, rtol=1e-9)


def test_numerical_grad_works_in_float64_even_for_float32_input():
    x = np.array([1.0, 2.0], dtype=np.float32)
    seen_dtypes = []

    def f(v: np.ndarray) -> float:
        seen_dtypes.append(v.dtype)
        return float(np.sum(v**2))

    grad = numerical_grad(f, x)
    assert grad.dtype == np.float64 and set(seen_dtypes) == {np.dtype(np.float64)}
    np.testing.assert_allclose(grad, [2.0, 4.0], atol=1e-8)


def test_numerical_grad_accepts_functions_returning_arrays_or_tensors():
    x = np.array([1.0, 2.0])
    from_array = numerical_grad(lambda v: np.array([np.sum(v**2)]), x)
    from_tensor = numerical_grad(lambda v: (Tensor(v) ** 2).sum(), x)
    np.testing.assert_allclose(from_array, [2.0, 4.0], atol=1e-8)
    np.testing.assert_allclose(from_tensor, [2.0, 4.0], atol=1e-8)


def test_numerical_grad_uses_eps():
    # For f = x^3 the central difference is exactly 3x^2 + eps^2, so eps is visible.
    assert numerical_grad(lambda v: v**3, np.array(1.0), eps=0.1) == pytest.approx(3.01, rel=1e-9)


# --------------------------------------------------------------------------- gradcheck
def test_gradcheck_passes_for_correct_gradients():
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((3, 4)), rng.standard_normal(4), Tensor(rng.standard_normal(3))]
    assert gradcheck(lambda a, b, c: ((a * b).tanh().sum(axis=1) * c).sum(), inputs) is True


def test_gradcheck_catches_a_wrong_backward_and_names_the_input():
    good = np.array([1.0, 2.0])
    bad = np.array([[0.5, -1.5], [3.0, 2.0]])
    with pytest.raises(AssertionError) as failure:
        gradcheck(lambda a, b: (a * 2).sum() + wrong_square(b).sum(), [good, bad])
    message = str(failure.value)
    assert "input 1" in message and "max abs difference 3" in message and "(1, 0)" in message


def test_gradcheck_treats_an_unused_input_as_zero_gradient():
    assert gradcheck(lambda a, b: (a**2).sum(), [np.array([1.0]), np.array([2.0, 3.0])])


def test_gradcheck_requires_a_scalar_output():
    with pytest.raises(ValueError, match="one number"):
        gradcheck(lambda a: a * 2, [np.ones(3)])


def test_gradcheck_tolerances_decide():
    # The central difference of x^3 at x = 1 with eps = 1e-2 is 3.0001: off by 1e-4.
    cube = [np.array([1.0])]
    assert gradcheck(lambda a: (a**3).sum(), cube, eps=1e-2, atol=1e-3, rtol=0)
    with pytest.raises(AssertionError, match="input 0"):
        gradcheck(lambda a: (a**3).sum(), cube, eps=1e-2, atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- compare
def test_compare_reports_max_abs_and_relative_error():
    result = compare(np.array([1.0, 2.0, 0.0]), np.array([1.0, 2.5, 0.0]))
    assert result["max_abs"] == pytest.approx(0.5)
    assert result["rel_error"] == pytest.approx(0.5 / 4.5)


def test_compare_is_scale_free_and_zero_for_equal_zeros():
    small = compare(np.array([1e-6]), np.array([1.1e-6]))["rel_error"]
    large = compare(np.array([1e6]), np.array([1.1e6]))["rel_error"]
    assert small == pytest.approx(large)
    assert compare(np.zeros(3), np.zeros(3)) == {"max_abs": 0.0, "rel_error": 0.0}


def test_compare_rejects_different_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        compare(np.zeros(3), np.zeros((3, 1)))


def test_agrees_is_the_one_pass_rule():
    from backprop.gradcheck import ATOL, RTOL, agrees
    from backprop.manual import GRADCHECK_ATOL, GRADCHECK_RTOL

    assert (GRADCHECK_ATOL, GRADCHECK_RTOL) == (ATOL, RTOL)
    assert agrees([1.0, 2.0], [1.0 + 1e-9, 2.0]) and agrees([0.0, 1.0], [0.9e-5, 1.0])
    assert not agrees([1.0], [1.1]) and not agrees([0.0, 1.0], [2e-5, 1.0])
    small = np.array([1e-4, -2e-4, 5e-5])  # judged on its own scale: 1 % off fails
    assert agrees(small * (1 + 1e-6), small) and not agrees(small * 1.01, small)
    tiny = np.array([3e-7, -1e-7])  # below the floor, the differences' rounding passes
    assert agrees(tiny + 5e-10, tiny) and not agrees(tiny * 1.05, tiny)
