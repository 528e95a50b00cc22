"""The engine as a PyTorch user expects it: regression tests for silent wrong results, and for
the habits (in-place updates, comparisons, conversions) that used to fail silently or obscurely.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

from backprop.autograd import Tensor, no_grad


# --- bugs: wrong results without an error -------------------------------------------------------
@pytest.mark.parametrize("dims", [(-1, 0), (1, -2), (-1, -2)])
def test_permute_with_negative_dims_sends_the_gradient_back_transposed(
    dims: tuple[int, int],
) -> None:
    for shape in [(3, 3), (2, 3)]:
        x = Tensor(np.arange(np.prod(shape), dtype=float).reshape(shape), requires_grad=True)
        upstream = np.arange(np.prod(shape), dtype=float).reshape(shape[::-1]) + 10
        x.permute(*dims).backward(upstream)
        np.testing.assert_array_equal(x.grad, upstream.T)


def test_permute_rejects_a_repeated_or_missing_axis() -> None:
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    for dims in [(0, 0), (0,), (0, 2), (-1, 1)]:
        with pytest.raises(ValueError, match="each of the 2 axes once"):
            x.permute(*dims)


def test_changing_the_index_array_after_indexing_does_not_move_the_gradient() -> None:
    x = Tensor(np.zeros((4, 2)), requires_grad=True)
    rows = np.array([0, 1])
    y = x[rows]
    rows[:] = [3, 3]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [1, 1], [0, 0], [0, 0]])


def test_changing_a_mask_or_a_list_after_indexing_does_not_move_the_gradient() -> None:
    x = Tensor(np.arange(4.0), requires_grad=True)
    mask = np.array([True, False, True, False])
    rows = [1, 1]
    y, z = x[mask], x[rows]
    mask[:] = ~mask
    rows[:] = [3, 3]
    (y.sum() + z.sum()).backward()
    np.testing.assert_array_equal(x.grad, [1, 2, 1, 0])


def test_a_tensor_is_not_an_index() -> None:
    with pytest.raises(TypeError, match=r"astype\(int\)"):
        Tensor(np.arange(4.0))[Tensor([0.0, 1.0])]


@pytest.mark.parametrize(
    "change",
    [
        lambda w: setattr(w, "data", np.zeros(2)),  # rebinding
        lambda w: setattr(w, "data", w.data * 0),  # a new array computed from the old one
    ],
)
def test_changing_data_between_forward_and_backward_raises(change) -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    change(w)
    with pytest.raises(RuntimeError, match=r"input 0 \(shape \(2,\)\), input 1 .* of the '\*' op"):
        loss.backward()


def test_writes_through_an_index_of_data_are_not_seen_as_documented() -> None:
    """The one change the version counter cannot see: ``w.data[...] = ...`` writes into the
    array without assigning ``.data``. The ``Tensor.data`` docstring says so."""
    from backprop.autograd import Tensor as T

    assert "w.data[0] = 1" in T.data.__doc__
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data[...] = 0.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [0.0, 0.0])


def test_augmented_assignment_on_data_between_forward_and_backward_raises() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data -= 1.0
    with pytest.raises(RuntimeError, match="changed after the forward pass"):
        loss.backward()


def test_changing_an_output_used_by_its_own_backward_raises() -> None:
    x = Tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    y.data = np.zeros(2)
    with pytest.raises(RuntimeError, match="its own output of the 'exp' op"):
        y.backward(np.ones(2))


def test_updating_data_after_backward_then_a_fresh_forward_is_fine() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad
    w.zero_grad()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, 0.0])


def test_bool_of_a_one_element_tensor_is_its_truth_value() -> None:
    assert bool(Tensor([0.0])) is False
    assert bool(Tensor(0.0)) is False
    assert bool(Tensor([[3.0]])) is True


def test_bool_of_a_longer_tensor_raises_and_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"ambiguous: use \(t > 0\).any\(\)"):
        bool(Tensor([1.0, 2.0]))


def test_comparisons_are_elementwise_not_identity() -> None:
    x = Tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x == 2.0, [False, True, False])
    np.testing.assert_array_equal(x != 2.0, [True, False, True])
    np.testing.assert_array_equal(x < Tensor([2.0, 2.0, 2.0]), [True, False, False])
    np.testing.assert_array_equal(x <= 2, [True, True, False])
    np.testing.assert_array_equal(x > np.array([0.0, 5.0, 1.0]), [True, False, True])
    np.testing.assert_array_equal(np.array([0.0, 5.0, 1.0]) >= x, [False, True, False])
    assert (x == 2.0).dtype == bool
    assert bool(Tensor(2.0) == 2.0)
    assert (x == "a") is False  # not comparable: Python falls back to identity


def test_tensors_stay_hashable_by_identity() -> None:
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_power_gradients_at_zero_are_zero_not_nan() -> None:
    x = Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    p = Tensor([2.0, 0.0], requires_grad=True)
    with np.errstate(all="raise"):
        (Tensor([0.0, 0.0]) ** p).sum().backward()
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])


def test_max_over_a_nan_sends_the_gradient_to_the_nan_only() -> None:
    x = Tensor([1.0, np.nan, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    y = Tensor([[1.0, np.nan], [4.0, 3.0]], requires_grad=True)
    y.max(axis=1).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0.0, 1.0], [1.0, 0.0]])


def test_float32_with_an_integer_array_stays_float32() -> None:
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for result in [x + np.arange(3), np.arange(3) * x, x / np.array([1, 2, 3], dtype=np.uint8)]:
        assert result.dtype == np.float32
    (x * np.arange(3)).sum().backward()
    assert x.grad.dtype == np.float32


# --- traps: in-place updates --------------------------------------------------------------------
def _train_with_in_place_updates(steps: int = 20) -> tuple[float, float]:
    w = Tensor([3.0, -2.0], requires_grad=True)
    first = None
    for _ in range(steps):
        w.zero_grad()
        loss = (w * w).sum()
        first = loss.item() if first is None else first
        loss.backward()
        with no_grad():
            w -= 0.1 * w.grad
    return first, (w * w).sum().item()


def test_in_place_update_under_no_grad_trains_the_same_parameter() -> None:
    first, last = _train_with_in_place_updates()
    assert last < 0.01 * first


def test_in_place_update_keeps_the_object_and_its_dtype() -> None:
    w = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    same = w
    with no_grad():
        w -= np.array([0.5, 0.25])  # float64 values, float32 parameter
        w += 1
        w *= Tensor([2.0, 2.0])
        w /= 4
    assert w is same and w.dtype == np.float32 and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, [0.75, 0.875])


@pytest.mark.parametrize("update", [operator.isub, operator.iadd, operator.imul, operator.itruediv])
def test_in_place_update_of_a_parameter_outside_no_grad_raises(update) -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"wrap the update in `with no_grad\(\):`"):
        update(w, 0.5)


def test_in_place_add_into_a_constant_records_the_graph() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    total = Tensor(0.0)
    for _ in range(3):
        total += (x * x).sum()
    total.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 12.0])


def test_in_place_update_on_an_intermediate_result_is_out_of_place() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y *= 3
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_changing_a_parameter_in_place_before_backward_raises() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match="changed after the forward pass"):
        loss.backward()


# --- traps: conversions ---------------------------------------------------------------------------
def test_numpy_reads_a_tensor_and_a_list_of_losses_as_numbers() -> None:
    losses = [Tensor(1.0, requires_grad=True), Tensor(2.0), Tensor(np.float32(3.0))]
    assert np.asarray(losses).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(losses), [1.0, 2.0, 3.0])
    assert np.mean(losses) == 2.0
    t = Tensor([[1.0, 2.0]])
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 2.0]])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copied = np.array(t, copy=True)
    copied[0, 0] = 5
    assert t.data[0, 0] == 1.0


def test_a_list_of_loss_tensors_can_be_plotted() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    (line,) = axes.plot([Tensor(3.0), Tensor(2.0), Tensor(1.5)])
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.0, 1.5])
    plt.close(figure)


def test_float_int_and_format_work_for_one_element_tensors() -> None:
    loss = Tensor([[0.123456]], requires_grad=True)
    assert float(loss) == pytest.approx(0.123456)
    assert int(Tensor(3.7)) == 3
    assert f"{loss:.3f}" == "0.123"
    assert f"{Tensor(2.0)}" == repr(Tensor(2.0)) == "Tensor(2.)"


def test_conversions_of_a_longer_tensor_name_item_and_reductions() -> None:
    t = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(2,\).*t.sum\(\)"):
        float(t)
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    with pytest.raises(TypeError, match=r"format t.item\(\)"):
        f"{t:.3f}"
    with pytest.raises(TypeError, match="0-d tensor"):
        len(Tensor(1.0))


@pytest.mark.parametrize("call", [
    lambda t: np.sum(t), lambda t: np.max(t), lambda t: np.dot(np.ones((4, 2)), t),
    lambda t: np.clip(t, 0, 1), lambda t: np.where(True, t, 0), lambda t: np.stack([t, t]),
    lambda t: np.linalg.norm(t), lambda t: np.einsum("ij->j", t),
])
def test_numpy_functions_refuse_a_tensor_that_requires_grad(call):
    """np.dot(X, w) would compute without recording, and w.grad would silently stay None:
    NumPy's functions refuse a tracked tensor, and run on a constant's values."""
    tracked = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"np\.\w+ got a Tensor that requires grad.*own ops"):
        call(tracked)
    constant = Tensor(np.ones((2, 3)))
    assert np.allclose(call(constant), call(np.ones((2, 3))))
    with no_grad():
        assert np.allclose(call(tracked), call(np.ones((2, 3))))
