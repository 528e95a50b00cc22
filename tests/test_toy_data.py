"""The seeded toy regression sets of backprop.data: shapes, exact formulas, known statistics."""

import numpy as np
import pytest

from backprop.data import paraboloid, quadratic_1d


@pytest.mark.parametrize("make", [quadratic_1d, paraboloid])
def test_toy_sets_are_float64_batch_first_with_a_target_column(make):
    inputs, targets = make(7, seed=0)
    assert inputs.dtype == targets.dtype == np.float64
    assert inputs.shape[0] == targets.shape[0] == 7
    assert targets.shape == (7, 1)


def test_shapes_of_each_set():
    assert quadratic_1d(5, seed=0)[0].shape == (5, 1)
    assert paraboloid(5, seed=0)[0].shape == (5, 2)


@pytest.mark.parametrize("make", [quadratic_1d, paraboloid])
def test_toy_sets_are_reproducible_from_the_seed(make):
    first, again, other = make(50, seed=3), make(50, seed=3), make(50, seed=4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_quadratic_is_x_squared_plus_the_stated_noise():
    x, y = quadratic_1d(20_000, seed=0, noise=0.1)
    assert x.min() >= -2.0 and x.max() <= 2.0
    residual = y - x**2
    assert abs(residual.mean()) < 0.005
    assert residual.std() == pytest.approx(0.1, rel=0.03)
    x, y = quadratic_1d(10, seed=0, noise=0.0, low=1.0, high=3.0)
    np.testing.assert_array_equal(y, x**2)
    assert x.min() >= 1.0 and x.max() <= 3.0


def test_paraboloid_is_exactly_5a2_plus_3b2():
    inputs, z = paraboloid(100, seed=1)
    a, b = inputs[:, 0], inputs[:, 1]
    np.testing.assert_allclose(z[:, 0], 5 * a**2 + 3 * b**2, rtol=1e-15)


def test_paraboloid_statistics_match_the_closed_form():
    """E[z] = 8 and Var[z] = 68, the loss of the best constant prediction."""
    inputs, z = paraboloid(400_000, seed=0)
    assert np.allclose(inputs.mean(axis=0), 0.0, atol=0.01)
    assert np.allclose(inputs.std(axis=0), 1.0, atol=0.01)
    assert z.mean() == pytest.approx(8.0, abs=0.05)
    assert z.var() == pytest.approx(68.0, rel=0.02)
    assert np.mean((z - z.mean()) ** 2) == pytest.approx(z.var())  # the constant predictor


@pytest.mark.parametrize("make", [quadratic_1d, paraboloid])
@pytest.mark.parametrize("bad_n", [0, -3, 2.5, True])
def test_bad_example_counts_are_rejected(make, bad_n):
    with pytest.raises(ValueError, match="positive integer"):
        make(bad_n, seed=0)
