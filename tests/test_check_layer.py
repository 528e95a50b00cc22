"""``backprop.manual.check_layer``: the gradient-check table the ManualGrad chapter shows."""

import numpy as np
import pytest

from backprop.manual import (
    Layer,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    check_layer,
    named_parameters,
)

SHAPES = [(1, 3), (4, 3), (7, 3)]


def away_from_zero(x, margin=1e-2):
    return np.where(np.abs(x) < margin, 10 * margin, x)


@pytest.mark.parametrize("batch, features", SHAPES)
@pytest.mark.parametrize(
    "make", [lambda: Linear(3, 4, rng=0), Sigmoid, Tanh, ReLU, Softmax,
             lambda: Sequential(Linear(3, 5, rng=1), Softmax(), Linear(5, 1, rng=2))],
    ids=["Linear", "Sigmoid", "Tanh", "ReLU", "Softmax", "Sequential"],
)
def test_every_library_layer_passes(make, batch, features):
    x = away_from_zero(np.random.default_rng(batch).normal(size=(batch, features)))
    table = check_layer(make(), x)
    assert table.passed, table
    assert table.max_rel_error < 1e-6
    assert all(row.max_abs < 1e-8 for row in table)


def test_rows_name_the_input_and_every_parameter():
    model = Sequential(Linear(2, 3, rng=0), Tanh(), Linear(3, 1, rng=1))
    table = check_layer(model, np.ones((2, 2)))
    assert [row.gradient for row in table] == [
        "dL/dx", "dL/d0.weight", "dL/d0.bias", "dL/d2.weight", "dL/d2.bias"
    ]
    assert {row.layer for row in table} == {"Sequential"}
    assert [row.gradient for row in check_layer(Linear(2, 3, rng=0), np.ones((1, 2)))] == [
        "dL/dx", "dL/dweight", "dL/dbias"
    ]
    assert check_layer(Tanh(), np.ones((1, 2)), name="my tanh")[0].layer == "my tanh"


def test_named_parameters_follow_pytorch():
    model = Sequential(Linear(2, 3, rng=0), ReLU(), Sequential(Linear(3, 1, rng=1)))
    names = [name for name, _ in named_parameters(model)]
    assert names == ["0.weight", "0.bias", "2.0.weight", "2.0.bias"]
    assert named_parameters(ReLU()) == []


def test_mse_loss_is_checked_against_its_target():
    rng = np.random.default_rng(0)
    table = check_layer(MSELoss(), rng.normal(size=(4, 2)), rng.normal(size=(4, 2)))
    assert table.passed and [row.gradient for row in table] == ["dL/dx"]
    with pytest.raises(ValueError, match="needs the target"):
        check_layer(MSELoss(), np.ones((2, 2)))


class BiasMeanLinear(Linear):
    """A classic slip: averaging the bias gradient over the batch instead of summing it."""

    def backward(self, grad_out):
        grad_in = super().backward(grad_out)
        self.bias.grad = np.asarray(grad_out).mean(axis=0)
        return grad_in


class ForgetfulLinear(Linear):
    """A backward that never sets the weight gradient."""

    def backward(self, grad_out):
        grad_in = super().backward(grad_out)
        self.weight.grad = None
        return grad_in


class TanhOnInput(Layer):
    """tanh whose backward uses 1 - x**2 (the input) instead of 1 - tanh(x)**2."""

    def forward(self, x):
        self.x = np.asarray(x, dtype=float)
        return np.tanh(self.x)

    def backward(self, grad_out):
        return grad_out * (1 - self.x**2)


def test_a_wrong_bias_gradient_fails_only_its_own_row():
    table = check_layer(BiasMeanLinear(3, 2, rng=0), np.ones((4, 3)))
    verdicts = {row.gradient: row.passed for row in table}
    assert verdicts == {"dL/dx": True, "dL/dweight": True, "dL/dbias": False}
    assert not table.passed
    assert "✗" in table._repr_markdown_() and "WRONG" in repr(table)


def test_a_missing_gradient_fails_instead_of_passing_a_stale_one():
    layer = ForgetfulLinear(3, 2, rng=0)
    layer.weight.grad = np.zeros((2, 3))  # stale
    verdicts = {row.gradient: row.passed for row in check_layer(layer, np.ones((2, 3)))}
    assert verdicts["dL/dweight"] is False


def test_a_wrong_activation_derivative_fails():
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert not check_layer(TanhOnInput(), x).passed


def test_the_check_leaves_input_and_parameters_unchanged():
    layer = Linear(3, 2, rng=0)
    x = np.random.default_rng(1).normal(size=(4, 3))
    x_before, w_before, b_before = x.copy(), layer.weight.data.copy(), layer.bias.data.copy()
    check_layer(layer, x)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(layer.weight.data, w_before)
    np.testing.assert_array_equal(layer.bias.data, b_before)


def test_small_gradients_with_large_relative_noise_still_pass():
    """A saturated softmax has gradient elements near 0, where the relative error is noise."""
    x = 5 * np.random.default_rng(0).normal(size=(4, 3))
    table = check_layer(Softmax(), x)
    assert table.passed
    assert table[0].max_abs < 1e-8


def test_table_displays_as_markdown_with_one_row_per_gradient():
    table = check_layer(Linear(2, 2, rng=0), np.ones((3, 2)))
    markdown = table._repr_markdown_()
    assert markdown.startswith("| layer | gradient | max abs diff. | rel. error | verdict |")
    assert markdown.count("✓") == 3


@pytest.mark.parametrize("layer_name", ["Linear(3, 2)", "a layer named at length " * 5])
def test_text_table_stays_aligned_within_88_characters(layer_name):
    """Long gradient names (dL/d0.weight) and long layer names neither push a column out
    of line nor widen the table past the course's 88 characters; a name cut ends in an
    ellipsis."""
    net = Sequential(Linear(2, 3, rng=0), Softmax(), Linear(3, 1, rng=1))
    table = check_layer(net, np.ones((2, 2)), name=layer_name)
    lines = repr(table).splitlines()
    assert len(lines) == 1 + len(table) and max(map(len, lines)) <= 88
    numbers_start = {line.index(f"{row.max_abs:9.1e}")
                     for line, row in zip(lines[1:], table)}
    assert len(numbers_start) == 1 and lines[0].index("max abs") > min(numbers_start)
    assert {len(line) for line in lines[1:]} == {len(lines[1])}
    assert ("…" in lines[1]) == (len(layer_name) > 88 - 30 - len("dL/d0.weight"))
