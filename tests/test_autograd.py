"""Tests for backprop.autograd.

Every op's gradient is compared with central finite differences over random shapes and
broadcast patterns (hypothesis, seeded), and the engine's promises each get a test: reused
nodes, 10,000-deep graphs, accumulation, dtypes, no_grad and the error messages.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backprop.autograd import Tensor, is_grad_enabled, no_grad, stable_sigmoid, unbroadcast
from backprop.gradcheck import numerical_grad

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3
)

Build = Callable[..., Tensor]


def assert_grads_match_finite_differences(build: Build, *arrays: np.ndarray, seed: int = 0) -> None:
    """Backprop a random upstream gradient R through ``build`` and compare every input's grad
    with finite differences of sum(build(...) * R), whose gradient it must equal."""
    output_shape = build(*map(Tensor, arrays)).shape
    upstream = np.random.default_rng(seed).standard_normal(output_shape)
    leaves = [Tensor(array, requires_grad=True) for array in arrays]
    build(*leaves).backward(upstream)
    for position, leaf in enumerate(leaves):
        numeric = numerical_grad(projection(build, arrays, position, upstream), arrays[position])
        assert leaf.grad is not None and leaf.grad.shape == np.shape(arrays[position])
        np.testing.assert_allclose(
            leaf.grad, numeric, rtol=1e-5, atol=1e-7, err_msg=f"input {position}"
        )


def projection(
    build: Build, arrays: tuple[np.ndarray, ...], position: int, upstream: np.ndarray
) -> Callable[[np.ndarray], float]:
    """x -> sum(build(inputs with input ``position`` set to x) * upstream), a scalar function."""

    def projected(x: np.ndarray) -> float:
        values = [Tensor(x if i == position else array) for i, array in enumerate(arrays)]
        return float(np.sum(build(*values).data * upstream))

    return projected


def normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Safe for log, division and fractional powers."""
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Keeps finite differences off the kinks of relu and abs and away from 1/0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, shape)


# --------------------------------------------------------------------------- binary ops
BINARY_OPS: dict[str, tuple[Build, Callable, Callable]] = {
    "+": (lambda a, b: a + b, normal, normal),
    "-": (lambda a, b: a - b, normal, normal),
    "*": (lambda a, b: a * b, normal, normal),
    "/": (lambda a, b: a / b, normal, away_from_zero),
    "**": (lambda a, b: a**b, positive, normal),
}


@pytest.mark.parametrize("symbol", BINARY_OPS)
@PROPERTY
@given(pair=broadcast_pairs, seed=seeds)
def test_binary_op_gradients_under_broadcasting(symbol, pair, seed):
    build, make_a, make_b = BINARY_OPS[symbol]
    rng = np.random.default_rng(seed)
    a, b = make_a(rng, pair.input_shapes[0]), make_b(rng, pair.input_shapes[1])
    assert build(Tensor(a), Tensor(b)).shape == pair.result_shape
    assert_grads_match_finite_differences(build, a, b, seed=seed)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((), (3,)), ((1,), (2, 3)), ((2, 1), (1, 3)), ((3,), ()), ((1, 1), (4,)), ((2, 3), (2, 3))],
)
@pytest.mark.parametrize("symbol", BINARY_OPS)
def test_grad_shapes_equal_input_shapes_for_edge_broadcasts(symbol, shape_a, shape_b):
    build, make_a, make_b = BINARY_OPS[symbol]
    rng = np.random.default_rng(0)
    a = Tensor(make_a(rng, shape_a), requires_grad=True)
    b = Tensor(make_b(rng, shape_b), requires_grad=True)
    build(a, b).sum().backward()
    assert a.grad.shape == shape_a
    assert b.grad.shape == shape_b


def test_broadcast_gradient_is_a_sum_over_the_copies():
    bias = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (Tensor(np.ones((4, 3))) + bias).sum().backward()
    np.testing.assert_array_equal(bias.grad, [4.0, 4.0, 4.0])


def test_unbroadcast_undoes_prepended_and_stretched_axes():
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(grad, (3, 4)), grad.sum(axis=0))
    np.testing.assert_array_equal(unbroadcast(grad, (3, 1)), grad.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(grad, (1,)), [grad.sum()])
    assert unbroadcast(grad, ()).shape == ()
    assert unbroadcast(grad, ()) == grad.sum()
    np.testing.assert_array_equal(unbroadcast(grad, (2, 3, 4)), grad)


# --------------------------------------------------------------------------- reflected forms
@pytest.mark.parametrize(
    "build",
    [
        lambda t: 2.5 * t,
        lambda t: 1 - t,
        lambda t: 3.0 / t,
        lambda t: 2.0**t,
        lambda t: np.array([[1.0, -2.0], [0.5, 3.0]]) + t,
        lambda t: np.array([[1.0, -2.0], [0.5, 3.0]]) * t,
        lambda t: np.array([[1.0, -2.0], [0.5, 3.0], [1.5, 0.25]]) @ t,
        lambda t: np.float64(2.0) * t,
    ],
    ids=["num*t", "num-t", "num/t", "num**t", "array+t", "array*t", "array@t", "np.float64*t"],
)
def test_reflected_operators_give_tensors_with_correct_gradients(build):
    x = np.random.default_rng(1).uniform(0.5, 2.0, (2, 2))
    result = build(Tensor(x))
    assert isinstance(result, Tensor)
    assert_grads_match_finite_differences(build, x)


def test_unary_minus():
    assert_grads_match_finite_differences(lambda t: -t, np.array([1.0, -2.0, 3.0]))
    np.testing.assert_array_equal((-Tensor([1.0, -2.0])).data, [-1.0, 2.0])


# --------------------------------------------------------------------------- elementwise ops
UNARY_OPS: dict[str, tuple[Build, Callable, Callable]] = {
    "exp": (lambda t: t.exp(), normal, np.exp),
    "log": (lambda t: t.log(), positive, np.log),
    "relu": (lambda t: t.relu(), away_from_zero, lambda x: np.maximum(x, 0)),
    "sigmoid": (lambda t: t.sigmoid(), normal, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (lambda t: t.tanh(), normal, np.tanh),
    "abs": (lambda t: t.abs(), away_from_zero, np.abs),
    "square": (lambda t: t**2, normal, np.square),
    "cube": (lambda t: t**3, normal, lambda x: x**3),
    "sqrt": (lambda t: t**0.5, positive, np.sqrt),
    "reciprocal": (lambda t: t**-1, away_from_zero, lambda x: 1 / x),
}


@pytest.mark.parametrize("name", UNARY_OPS)
@PROPERTY
@given(shape=shapes, seed=seeds)
def test_elementwise_op_values_and_gradients(name, shape, seed):
    build, make, reference = UNARY_OPS[name]
    x = make(np.random.default_rng(seed), shape)
    np.testing.assert_allclose(build(Tensor(x)).data, reference(x), rtol=1e-12)
    assert_grads_match_finite_differences(build, x, seed=seed)


def test_relu_and_abs_take_gradient_zero_at_zero():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    y = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y.abs().sum().backward()
    np.testing.assert_array_equal(y.grad, [-1.0, 0.0, 1.0])


def test_sigmoid_does_not_overflow_for_huge_inputs():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_array_equal(stable_sigmoid(np.array([-1e4, 0.0, 1e4])), [0.0, 0.5, 1.0])
        x = Tensor([-1e4, 1e4], requires_grad=True)
        x.sigmoid().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


# --------------------------------------------------------------------------- reductions
@st.composite
def shape_and_axis(draw: st.DrawFn) -> tuple[tuple[int, ...], int | tuple[int, ...] | None]:
    """A shape and a valid ``axis`` argument for it: None, one (maybe negative) int, or a tuple."""
    shape = draw(shapes)
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none", "tuple"]))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(min_value=-ndim, max_value=ndim - 1))
    return shape, draw(hnp.valid_tuple_axes(ndim))


REDUCTIONS: dict[str, Callable] = {"sum": np.sum, "mean": np.mean, "max": np.max}


@pytest.mark.parametrize("name", REDUCTIONS)
@PROPERTY
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_reduction_values_and_gradients(name, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    x = normal(np.random.default_rng(seed), shape)

    def build(t: Tensor) -> Tensor:
        return getattr(t, name)(axis=axis, keepdims=keepdims)

    expected = REDUCTIONS[name](x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(build(Tensor(x)).data, expected, rtol=1e-12)
    assert build(Tensor(x)).shape == np.shape(expected)
    assert_grads_match_finite_differences(build, x, seed=seed)


def test_max_splits_the_gradient_between_ties():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_reduction_with_an_invalid_axis_raises():
    with pytest.raises(np.exceptions.AxisError):
        Tensor(np.ones((2, 3))).mean(axis=2)


# --------------------------------------------------------------------------- shape ops
@PROPERTY
@given(shape=shapes, seed=seeds)
def test_reshape_gradients(shape, seed):
    x = normal(np.random.default_rng(seed), shape)
    assert_grads_match_finite_differences(lambda t: t.reshape(-1), x, seed=seed)
    assert_grads_match_finite_differences(lambda t: t.reshape(tuple(reversed(shape))), x, seed=seed)
    assert Tensor(x).reshape(*reversed(shape)).shape == tuple(reversed(shape))


@PROPERTY
@given(shape=shapes, data=st.data(), seed=seeds)
def test_permute_transpose_and_T_gradients(shape, data, seed):
    x = normal(np.random.default_rng(seed), shape)
    order = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(Tensor(x).permute(*order).data, x.transpose(order))
    assert_grads_match_finite_differences(lambda t: t.permute(*order), x, seed=seed)
    assert_grads_match_finite_differences(lambda t: t.T, x, seed=seed)
    if len(shape) >= 2:
        dim0, dim1 = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=2, max_size=2))
        swapped = np.swapaxes(x, dim0, dim1)
        np.testing.assert_array_equal(Tensor(x).transpose(dim0, dim1).data, swapped)
        assert_grads_match_finite_differences(lambda t: t.transpose(dim0, dim1), x, seed=seed)


@st.composite
def array_shape_and_index(draw: st.DrawFn) -> tuple[tuple[int, ...], object]:
    """A shape and an index into it: an int, a slice, an int array with repeats, or a mix."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    first = shape[0]
    kind = draw(st.sampled_from(["int", "slice", "array", "array+slice", "two arrays"]))
    integer = st.integers(min_value=-first, max_value=first - 1)
    positions = st.lists(st.integers(0, first - 1), min_size=1, max_size=6).map(np.array)
    if kind == "int":
        return shape, draw(integer)
    if kind == "slice":
        bound = st.none() | st.integers(-first, first)
        step = st.none() | st.integers(1, 3) | st.integers(-3, -1)
        return shape, slice(draw(bound), draw(bound), draw(step))
    if kind == "array" or len(shape) == 1:
        return shape, draw(positions)
    if kind == "array+slice" and len(shape) > 1:
        return shape, (draw(positions), slice(None))
    rows = draw(positions)
    columns = np.array([draw(st.integers(0, shape[-1] - 1)) for _ in rows])
    return shape, (rows, Ellipsis, columns)


@PROPERTY
@given(shape_index=array_shape_and_index(), seed=seeds)
def test_indexing_gradients(shape_index, seed):
    shape, index = shape_index
    x = normal(np.random.default_rng(seed), shape)
    np.testing.assert_array_equal(Tensor(x)[index].data, x[index])
    assert_grads_match_finite_differences(lambda t: t[index], x, seed=seed)


def test_repeated_indices_accumulate():
    x = Tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


# --------------------------------------------------------------------------- matmul
@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes a @ b accepts: 1-D or matrix operands, with optional broadcast batch axes."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    shape_a = (k,) if draw(st.booleans()) else batch.input_shapes[0] + (n, k)
    shape_b = (k,) if draw(st.booleans()) else batch.input_shapes[1] + (k, m)
    return shape_a, shape_b


@PROPERTY
@given(pair=matmul_shapes(), seed=seeds)
def test_matmul_gradients(pair, seed):
    rng = np.random.default_rng(seed)
    a, b = normal(rng, pair[0]), normal(rng, pair[1])
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b, rtol=1e-12)
    assert_grads_match_finite_differences(lambda x, y: x @ y, a, b, seed=seed)


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\)"):
        Tensor(np.ones(3)) @ np.ones(2)


# --------------------------------------------------------------------------- engine semantics
def test_a_node_used_twice_receives_both_gradients():
    x = Tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad == pytest.approx(6.0)

    y = Tensor(2.0, requires_grad=True)
    doubled, tripled = y * 2, y * 3
    (doubled * tripled).backward()  # 6 y^2 -> 12 y
    assert y.grad == pytest.approx(24.0)


def test_a_10000_deep_chain_backpropagates_without_recursion():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # far fewer frames than the graph is deep
    try:
        x = Tensor(0.5, requires_grad=True)
        y = x
        for _ in range(10_000):
            y = y + x
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad == pytest.approx(10_001.0)


def test_backward_twice_accumulates_into_leaves():
    x = Tensor([1.0, -2.0], requires_grad=True)
    hidden = x * 3
    loss = (hidden * hidden).sum()
    loss.backward()
    first = x.grad.copy()
    np.testing.assert_allclose(first, 18 * x.data)
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first)  # accumulated, not 4x (intermediates reset)
    np.testing.assert_allclose(hidden.grad, 2 * hidden.data)  # the latest call's gradient
    x.zero_grad()
    assert x.grad is None


def test_two_losses_sharing_a_graph_add_their_gradients():
    w = Tensor([1.0, 2.0], requires_grad=True)
    shared = w * w
    shared.sum().backward()
    (shared * 3).sum().backward()
    np.testing.assert_allclose(w.grad, 2 * w.data + 6 * w.data)


def test_constants_and_plain_leaves_keep_grad_none():
    x = Tensor([1.0, 2.0], requires_grad=True)
    constant = Tensor([3.0, 4.0])
    array = np.array([5.0, 6.0])
    (x * constant + array).sum().backward()
    assert constant.grad is None
    assert not constant.requires_grad
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_backward_on_a_constant_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).backward()


def test_graph_records_parents_and_op_names():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    total = a + b
    assert total.inputs == (a, b)
    assert total.op == "+"
    activated = total.relu()
    assert activated.inputs == (total,)
    assert activated.op == "relu"
    assert a.inputs == () and a.op == ""


def test_integer_data_is_cast_to_float64():
    for data in ([1, 2, 3], np.array([1, 2, 3], dtype=np.int32), np.array([True, False]), 7):
        assert Tensor(data).dtype == np.float64
    x = Tensor([1, 2, 3], requires_grad=True)
    (x / 2).sum().backward()
    np.testing.assert_array_equal((x / 2).data, [0.5, 1.0, 1.5])  # no integer division
    assert x.grad.dtype == np.float64


def test_non_numeric_data_is_rejected():
    with pytest.raises(TypeError, match="must be numbers"):
        Tensor(["a", "b"])


def test_float32_stays_float32_through_ops_and_gradients():
    x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32), requires_grad=True)
    w = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    out = ((x @ w).relu() * 2.0 + 1).sigmoid().mean(axis=0) / 3
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    assert "dtype=float32" in repr(x)


def test_float32_leaf_gets_float32_grad_even_when_mixed_with_float64():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (x * np.array([0.5, 0.25])).sum().backward()  # the float64 array promotes the product
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [0.5, 0.25])


def test_no_grad_records_nothing_and_restores_afterwards():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2).exp().sum()
    assert is_grad_enabled()
    assert not y.requires_grad
    assert y.inputs == () and y.op == ""
    with pytest.raises(RuntimeError):
        y.backward()

    with pytest.raises(ValueError), no_grad():
        raise ValueError("an error inside no_grad() must not leave grad mode off")
    assert is_grad_enabled()


def test_no_grad_as_a_decorator():
    @no_grad()
    def evaluate(t: Tensor) -> Tensor:
        return t * 2

    assert not evaluate(Tensor([1.0], requires_grad=True)).requires_grad
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_backward_on_a_non_scalar_needs_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad=.*\.sum\(\)\.backward\(\)"):
        (x * 2).backward()
    (x * 2).backward(grad=np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(grad=np.ones(3))


def test_one_element_non_scalar_can_start_backward():
    x = Tensor([2.0], requires_grad=True)
    (x * 4).backward()
    np.testing.assert_array_equal(x.grad, [4.0])


@pytest.mark.parametrize(
    ("other", "type_name"),
    [("a", "str"), ([1.0, 2.0], "list"), (None, "NoneType"), (1j, "complex")],
)
def test_ops_with_unsupported_operands_raise_type_error_naming_the_type(other, type_name):
    t = Tensor([1.0, 2.0])
    for operation in (lambda: t + other, lambda: t * other, lambda: t @ other, lambda: t**other):
        with pytest.raises(TypeError, match=type_name):
            operation()
    if other is not None and not isinstance(other, str):
        with pytest.raises(TypeError, match=type_name):
            other - t


def test_repr_item_numpy_detach_and_properties():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "Tensor([1., 2.], requires_grad=True)"
    assert repr(Tensor(3.0)) == "Tensor(3.)"
    assert (x.shape, x.ndim, x.size, len(x), x.dtype) == ((2,), 1, 2, 2, np.float64)
    assert Tensor([[4.5]]).item() == 4.5
    assert x.detach().numpy() is not x.data  # numpy() itself refuses x: requires grad
    assert Tensor([1.0]).numpy().tolist() == [1.0]
    detached = (x * 2).detach()
    assert not detached.requires_grad and detached.inputs == ()
    np.testing.assert_array_equal(detached.data, [2.0, 4.0])


def test_constructor_copies_its_input():
    source = np.array([1.0, 2.0])
    t = Tensor(source)
    source[0] = 100.0
    assert t.data[0] == 1.0
