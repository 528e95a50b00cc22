"""Tests for backprop.manual: every hand-written backward against finite differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop.manual import (
    Layer,
    Linear,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
)

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-7

sizes = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
INITS = ["default", "xavier", "he", 1.0]


def numerical_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps, one entry at a time.

    ``f`` receives a working copy of ``x`` that is perturbed in place.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def projection_loss(layer: Layer, x: np.ndarray, projection: np.ndarray) -> float:
    """A scalar that depends on every output: sum(out * R). Its dL/d(out) is R."""
    return float(np.sum(layer.forward(x) * projection))


def away_from_zero(x: np.ndarray, margin: float = 1e-2) -> np.ndarray:
    """Move entries near 0 away from ReLU's kink, where finite differences are meaningless."""
    return np.where(np.abs(x) < margin, margin * 10, x)


# --- Linear -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(batch=sizes, n_in=sizes, n_out=sizes, seed=seeds, init=st.sampled_from(INITS))
def test_linear_gradients_match_finite_differences(batch, n_in, n_out, seed, init):
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, init=init, rng=rng)
    layer.bias.data = rng.normal(size=n_out)  # non-zero bias, so db is not trivially checked
    x = rng.normal(size=(batch, n_in))
    projection = rng.normal(size=(batch, n_out))

    layer.forward(x)
    dx = layer.backward(projection)
    dw, db = layer.weight.grad, layer.bias.grad

    def loss_of_weight(w):
        layer.weight.data = w
        return projection_loss(layer, x, projection)

    def loss_of_bias(b):
        layer.bias.data = b
        return projection_loss(layer, x, projection)

    w0, b0 = layer.weight.data.copy(), layer.bias.data.copy()
    np.testing.assert_allclose(dw, numerical_grad(loss_of_weight, w0), rtol=RTOL, atol=ATOL)
    layer.weight.data = w0
    np.testing.assert_allclose(db, numerical_grad(loss_of_bias, b0), rtol=RTOL, atol=ATOL)
    layer.bias.data = b0
    numeric_dx = numerical_grad(lambda x_: projection_loss(layer, x_, projection), x)
    np.testing.assert_allclose(dx, numeric_dx, rtol=RTOL, atol=ATOL)


def test_linear_forward_is_x_times_w_transpose_plus_b():
    layer = Linear(2, 3, rng=0)
    layer.weight.data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer.bias.data = np.array([0.5, -0.5, 1.0])
    out = layer.forward([[1.0, -1.0]])
    np.testing.assert_array_equal(out, [[-0.5, -1.5, 0.0]])


def test_linear_shapes_follow_pytorch():
    layer = Linear(4, 7, rng=0)
    assert layer.weight.shape == (7, 4)
    assert layer.bias.shape == (7,)
    assert layer.forward(np.ones((5, 4))).shape == (5, 7)


def test_linear_backward_sets_gradients_instead_of_accumulating():
    layer = Linear(3, 2, rng=0)
    x, grad_out = np.ones((4, 3)), np.ones((4, 2))
    layer.forward(x)
    layer.backward(grad_out)
    first = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.backward(grad_out)
    np.testing.assert_array_equal(layer.weight.grad, first[0])
    np.testing.assert_array_equal(layer.bias.grad, first[1])


def test_zero_grad_sets_zeros_of_the_parameter_shape():
    model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    model.forward(np.ones((2, 3)))
    model.backward(np.ones((2, 2)))
    model.zero_grad()
    for parameter in model.parameters():
        assert parameter.grad.shape == parameter.data.shape
        assert not parameter.grad.any()


def test_parameters_are_duck_typed_data_and_grad():
    layer = Linear(3, 2, rng=0)
    assert layer.parameters() == [layer.weight, layer.bias]
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    assert isinstance(layer.weight, Parameter)
    assert layer.weight.grad is None and layer.weight.data.dtype == np.float64
    assert repr(layer.weight) == "Parameter(name='weight', shape=(2, 3))"


# --- initialisation -----------------------------------------------------------------------


@pytest.mark.parametrize("init", INITS)
def test_init_is_reproducible_from_a_seed(init):
    a, b, c = Linear(5, 4, init, rng=42), Linear(5, 4, init, rng=42), Linear(5, 4, init, rng=43)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_init_accepts_a_generator_and_advances_it():
    rng = np.random.default_rng(0)
    first, second = Linear(3, 3, rng=rng), Linear(3, 3, rng=rng)
    assert not np.array_equal(first.weight.data, second.weight.data)
    np.testing.assert_array_equal(first.weight.data, Linear(3, 3, rng=0).weight.data)


N_IN, N_OUT = 400, 300  # 120 000 weights: sample statistics within a few percent


def test_default_init_is_uniform_with_bound_one_over_sqrt_fan_in():
    layer = Linear(N_IN, N_OUT, "default", rng=0)
    bound = 1 / np.sqrt(N_IN)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound
    assert np.isclose(layer.weight.data.std(), bound / np.sqrt(3), rtol=0.05)


def test_xavier_init_is_glorot_uniform_with_zero_bias():
    layer = Linear(N_IN, N_OUT, "xavier", rng=0)
    bound = np.sqrt(6 / (N_IN + N_OUT))
    assert bound * 0.99 < np.abs(layer.weight.data).max() <= bound
    assert np.isclose(layer.weight.data.std(), np.sqrt(2 / (N_IN + N_OUT)), rtol=0.05)
    assert not layer.bias.data.any()


def test_he_init_has_std_sqrt_two_over_fan_in_and_zero_bias():
    layer = Linear(N_IN, N_OUT, "he", rng=0)
    assert np.isclose(layer.weight.data.std(), np.sqrt(2 / N_IN), rtol=0.05)
    assert abs(layer.weight.data.mean()) < 0.05 * np.sqrt(2 / N_IN)
    assert np.abs(layer.weight.data).max() > 3 * np.sqrt(2 / N_IN)  # normal tails, not uniform
    assert not layer.bias.data.any()


@pytest.mark.parametrize("std", [0.01, 1.0, 3.0])
def test_float_init_is_normal_with_that_std(std):
    layer = Linear(N_IN, N_OUT, std, rng=0)
    assert np.isclose(layer.weight.data.std(), std, rtol=0.05)
    assert not layer.bias.data.any()


@pytest.mark.parametrize("bad_init", ["kaiming", -1.0, True])
def test_unknown_init_is_rejected(bad_init):
    with pytest.raises(ValueError, match="init must be one of"):
        Linear(2, 2, init=bad_init)


# --- activations --------------------------------------------------------------------------

ACTIVATIONS = [Sigmoid, Tanh, ReLU, Softmax]


@settings(max_examples=25, deadline=None)
@given(
    activation=st.sampled_from(ACTIVATIONS),
    batch=sizes,
    features=sizes,
    scale=st.sampled_from([0.1, 1.0, 5.0]),
    seed=seeds,
)
def test_activation_input_gradient_matches_finite_differences(
    activation, batch, features, scale, seed
):
    rng = np.random.default_rng(seed)
    layer = activation()
    x = away_from_zero(scale * rng.normal(size=(batch, features)))
    projection = rng.normal(size=(batch, features))

    layer.forward(x)
    analytic = layer.backward(projection)
    numeric = numerical_grad(lambda x_: projection_loss(layer, x_, projection), x)
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)])
@pytest.mark.parametrize("activation", [Sigmoid, Tanh, ReLU])
def test_elementwise_activations_work_on_any_shape(activation, shape):
    rng = np.random.default_rng(0)
    layer = activation()
    x, projection = away_from_zero(rng.normal(size=shape)), rng.normal(size=shape)
    layer.forward(x)
    analytic = layer.backward(projection)
    numeric = numerical_grad(lambda x_: projection_loss(layer, x_, projection), x)
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)


@settings(max_examples=25, deadline=None)
@given(batch=sizes, features=sizes, seed=seeds)
def test_softmax_backward_is_the_jacobian_vector_product(batch, features, seed):
    """Compare with the explicit Jacobian diag(s) - s s^T, row by row."""
    rng = np.random.default_rng(seed)
    x, g = rng.normal(size=(batch, features)), rng.normal(size=(batch, features))
    layer = Softmax()
    s = layer.forward(x)
    expected = np.stack([(np.diag(row) - np.outer(row, row)) @ g_row for row, g_row in zip(s, g)])
    np.testing.assert_allclose(layer.backward(g), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)


def test_sigmoid_and_softmax_do_not_overflow_for_huge_inputs():
    x = np.array([[-1e4, 0.0, 1e4]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        sig = Sigmoid().forward(x)
        soft = Softmax().forward(x)
    np.testing.assert_array_equal(sig, [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(soft, [[0.0, 0.0, 1.0]])


def test_relu_gradient_at_zero_is_zero():
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activations_have_no_parameters_and_a_readable_repr(activation):
    layer = activation()
    assert layer.parameters() == []
    assert repr(layer) == f"{activation.__name__}()"


@pytest.mark.parametrize("layer", [Linear(2, 3, rng=0), *(a() for a in ACTIVATIONS)])
def test_inputs_are_cast_to_float64(layer):
    n_in = 2 if isinstance(layer, Linear) else 3
    out = layer.forward(np.ones((4, n_in), dtype=np.float32))
    assert out.dtype == np.float64
    assert layer.backward(np.ones(out.shape, dtype=np.int64)).dtype == np.float64
    assert layer.forward([[1] * n_in]).dtype == np.float64  # a list of ints


# --- losses -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(batch=sizes, features=sizes, seed=seeds)
def test_mse_loss_value_and_gradient(batch, features, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=(batch, features)), rng.normal(size=(batch, features))
    loss = MSELoss()
    value = loss.forward(pred, target)
    assert isinstance(value, float)
    assert np.isclose(value, np.sum((pred - target) ** 2) / pred.size)
    numeric = numerical_grad(lambda p: MSELoss().forward(p, target), pred)
    np.testing.assert_allclose(loss.backward(), numeric, rtol=RTOL, atol=ATOL)


@settings(max_examples=25, deadline=None)
@given(batch=sizes, classes=st.integers(min_value=2, max_value=6), seed=seeds)
def test_softmax_cross_entropy_value_and_gradient(batch, classes, seed):
    rng = np.random.default_rng(seed)
    logits = 3 * rng.normal(size=(batch, classes))
    targets = rng.integers(0, classes, size=batch)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, targets)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # naive, fine here
    assert np.isclose(value, -np.mean(np.log(probs[np.arange(batch), targets])))
    numeric = numerical_grad(lambda z: SoftmaxCrossEntropy().forward(z, targets), logits)
    np.testing.assert_allclose(loss.backward(), numeric, rtol=RTOL, atol=ATOL)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    loss = SoftmaxCrossEntropy()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value = loss.forward(logits, np.array([1, 0]))
        grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # row 0: -log softmax = 2e4; row 1: logsumexp = 1e4 + log 2, so 2e4 + log 2
    assert np.isclose(value, (2e4 + 2e4 + np.log(2)) / 2)
    expected = np.array([[1.0, -1.0, 0.0], [-1.0, 0.5, 0.5]]) / 2
    np.testing.assert_allclose(grad, expected, atol=1e-12)


def test_losses_accept_call_syntax_and_have_no_parameters():
    assert MSELoss()([[1.0, 2.0]], [[1.0, 0.0]]) == 2.0
    assert np.isclose(SoftmaxCrossEntropy()([[0.0, 0.0]], [1]), np.log(2))
    assert MSELoss().parameters() == [] and SoftmaxCrossEntropy().parameters() == []


# --- Sequential ---------------------------------------------------------------------------


def make_network(rng: np.random.Generator) -> Sequential:
    return Sequential(Linear(3, 5, rng=rng), Sigmoid(), Linear(5, 2, rng=rng))


def test_sequential_backward_is_the_composition_of_layer_backwards():
    rng = np.random.default_rng(0)
    model = make_network(rng)
    x, grad_out = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    model.forward(x)
    through_model = model.backward(grad_out)
    grads_model = [p.grad.copy() for p in model.parameters()]

    first, act, last = model
    h1 = first.forward(x)
    last.forward(act.forward(h1))
    by_hand = first.backward(act.backward(last.backward(grad_out)))
    np.testing.assert_array_equal(through_model, by_hand)
    for from_model, parameter in zip(grads_model, model.parameters()):
        np.testing.assert_array_equal(from_model, parameter.grad)


@settings(max_examples=25, deadline=None)
@given(batch=sizes, seed=seeds)
def test_sequential_with_mse_matches_finite_differences(batch, seed):
    rng = np.random.default_rng(seed)
    model = make_network(rng)
    x, target = rng.normal(size=(batch, 3)), rng.normal(size=(batch, 2))
    loss = MSELoss()

    def loss_value(x_: np.ndarray = x) -> float:
        return MSELoss().forward(model.forward(x_), target)

    loss.forward(model.forward(x), target)
    dx = model.backward(loss.backward())
    analytic = [p.grad.copy() for p in model.parameters()]

    for parameter, grad in zip(model.parameters(), analytic):
        original = parameter.data.copy()

        def loss_of_parameter(values, parameter=parameter):
            parameter.data = values
            return loss_value()

        numeric = numerical_grad(loss_of_parameter, original)
        parameter.data = original
        np.testing.assert_allclose(grad, numeric, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dx, numerical_grad(loss_value, x), rtol=RTOL, atol=ATOL)


def test_sequential_parameters_in_order_indexing_and_repr():
    model = Sequential(Linear(2, 10, rng=0), ReLU(), Linear(10, 1, init="he", rng=0))
    first, _, last = model.layers
    assert model.parameters() == [first.weight, first.bias, last.weight, last.bias]
    assert len(model) == 3 and model[0] is first and model[-1] is last
    assert list(model) == model.layers
    assert isinstance(model[1:], Sequential) and model[1:].layers == model.layers[1:]
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(2, 10, init='default')\n"
        "  (1): ReLU()\n"
        "  (2): Linear(10, 1, init='he')\n"
        ")"
    )
    assert repr(Linear(3, 4, init=1.0)) == "Linear(3, 4, init=1.0)"


def test_sequential_rejects_a_list_of_layers():
    with pytest.raises(TypeError, match="separate arguments"):
        Sequential([Linear(2, 2), ReLU()])


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_shape", [(5, 3), (2,), (5, 2, 1)], ids=["wrong-features", "1d", "3d"]
)
def test_linear_wrong_input_shape_names_expected_and_received(bad_shape):
    expected = f"Linear(2, 10, init='default') expects input of shape (batch, 2), got {bad_shape}"
    with pytest.raises(ValueError) as error:
        Linear(2, 10, rng=0).forward(np.zeros(bad_shape))
    assert str(error.value) == expected


def test_softmax_needs_a_batch_axis():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, features\), got \(4,\)"):
        Softmax().forward(np.zeros(4))


@pytest.mark.parametrize("layer", [Linear(2, 3, rng=0), *(a() for a in ACTIVATIONS)])
def test_backward_with_wrong_grad_shape_names_both_shapes(layer):
    n_in = 2 if isinstance(layer, Linear) else 3
    out = layer.forward(np.ones((4, n_in)))
    with pytest.raises(ValueError, match=rf"grad_out of shape \(4, 3\).*got \(4, 5\)"):
        layer.backward(np.ones((4, 5)))
    assert out.shape == (4, 3)


def test_mse_mismatched_shapes_names_both():
    with pytest.raises(ValueError, match=r"prediction \(4, 1\) and target \(4,\)"):
        MSELoss().forward(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize(
    ("logits_shape", "targets", "error", "message"),
    [
        ((4,), [0, 1, 0, 1], ValueError, r"logits of shape \(batch, classes\), got \(4,\)"),
        ((4, 3), [0, 1], ValueError, r"targets of shape \(4,\).*got \(2,\)"),
        ((4, 3), [0, 1, 2, 3], ValueError, r"\[0, 3\)"),
        ((4, 3), [0, -1, 2, 1], ValueError, r"\[0, 3\)"),
        ((4, 3), [0.0, 1.0, 2.0, 1.0], TypeError, "integer class indices"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_inputs(logits_shape, targets, error, message):
    with pytest.raises(error, match=message):
        SoftmaxCrossEntropy().forward(np.zeros(logits_shape), np.array(targets))


@pytest.mark.parametrize(
    "layer", [Linear(2, 3), *(a() for a in ACTIVATIONS), Sequential(Linear(2, 3), Tanh())]
)
def test_backward_before_forward_raises(layer):
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 3)))


@pytest.mark.parametrize("loss", [MSELoss(), SoftmaxCrossEntropy()])
def test_loss_backward_before_forward_raises(loss):
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()
