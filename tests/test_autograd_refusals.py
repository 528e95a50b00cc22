"""Mistakes that used to lose a gradient silently, or fail obscurely, now refused with
a message that says what to write instead (the engine reader's M2, M3, m2, m3)."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd import Tensor, no_grad, stack


def test_an_op_named_without_inputs_is_refused_saying_what_to_pass() -> None:
    x = Tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"inputs=\(x,\)"):
        Tensor(np.sin(x.data), op="sin")


def test_a_custom_op_with_its_inputs_gets_the_true_gradient() -> None:
    x = Tensor([0.5, 1.0], requires_grad=True)
    out = Tensor(np.sin(x.data), inputs=(x,), op="sin")
    out.backward_fn = lambda grad: x.add_grad(grad * np.cos(x.data))
    (out + x).sum().backward()
    np.testing.assert_allclose(x.grad, np.cos([0.5, 1.0]) + 1)


@pytest.mark.parametrize("nested", [False, True])
def test_a_list_of_tracked_tensors_is_refused_naming_sum_and_stack(nested) -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    losses = [(w * w).sum(), w.sum()]
    with pytest.raises(TypeError, match=r"l1 \+ l2.*stack\(\[l1, l2\]\)"):
        Tensor([losses] if nested else losses)


def test_a_list_of_constants_or_numbers_is_still_a_tensor() -> None:
    assert Tensor([Tensor(1.0), 2.0]).data.tolist() == [1.0, 2.0]
    with no_grad():
        w = Tensor([1.0, 2.0], requires_grad=True)
    assert Tensor([w.detach().sum(), 3.0]).data.tolist() == [3.0, 3.0]


def test_stack_sends_each_tensor_its_slice_of_the_gradient() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = stack([(w * w).sum(), w.sum()]).sum() + 0.1 * (w * w).sum()
    loss.backward()
    np.testing.assert_allclose(w.grad, [3.2, 5.4])  # 2w + 1 + 0.2w
    a, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.zeros((2, 3)))
    s = stack([a, b], axis=1)
    assert s.shape == (2, 2, 3)
    s.backward(np.arange(12.0).reshape(2, 2, 3))
    np.testing.assert_array_equal(a.grad, [[0, 1, 2], [6, 7, 8]])
    assert b.grad is None


@pytest.mark.parametrize(("call", "own_op"), [
    (np.exp, "t.exp()"), (np.tanh, "t.tanh()"), (np.log, "t.log()"),
    (lambda t: np.maximum(t, 0), "t.relu()"),
])
def test_numpy_ufuncs_on_a_tracked_tensor_name_the_tensors_own_op(call, own_op) -> None:
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="requires grad.*" + own_op.replace("(", r"\(")
                       .replace(")", r"\)")):
        call(t)


def test_numpy_ufuncs_on_a_constant_compute_on_its_values() -> None:
    t = Tensor([0.0, 1.0])
    np.testing.assert_array_equal(np.exp(t), np.exp([0.0, 1.0]))
    with no_grad():
        tracked = Tensor([-1.0, 2.0], requires_grad=True)
        np.testing.assert_array_equal(np.maximum(tracked, 0), [0.0, 2.0])


@pytest.mark.parametrize(("written", "expected"), [
    (lambda a, t: a + t, [4.0, 7.0]), (lambda a, t: a - t, [-2.0, -3.0]),
    (lambda a, t: a * t, [3.0, 10.0]), (lambda a, t: a / t, [1 / 3, 2 / 5]),
    (lambda a, t: a ** t, [1.0, 32.0]), (lambda a, t: np.float64(2.0) * t, [6.0, 10.0]),
])
def test_an_array_on_the_left_runs_the_reflected_operator(written, expected) -> None:
    t = Tensor([3.0, 5.0], requires_grad=True)
    out = written(np.array([1.0, 2.0]), t)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, expected)
    out.sum().backward()
    assert t.grad.shape == (2,)


def test_array_at_tensor_and_comparisons_with_the_array_on_the_left() -> None:
    t = Tensor([[1.0], [2.0]], requires_grad=True)
    out = np.array([[1.0, 3.0]]) @ t
    assert isinstance(out, Tensor)
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [[1.0], [3.0]])
    np.testing.assert_array_equal(np.array([1.5]) < Tensor([1.0, 2.0]), [False, True])
    equal = np.array([1.0, 3.0]) == Tensor([1.0, 2.0])
    np.testing.assert_array_equal(equal, [True, False])


def test_numpy_on_a_tensor_that_requires_grad_is_refused_as_pytorch_does() -> None:
    w = Tensor([1.0, 2.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"t\.detach\(\)\.numpy\(\)"):
        w.numpy()
    copy = w.detach().numpy()
    copy[0] = 5
    assert w.data[0] == 1.0
    constant = Tensor([1.0])
    assert constant.numpy() is constant.data


def test_tensor_of_a_tracked_tensor_is_refused_naming_clone_and_detach() -> None:
    # a second cold reader: Tensor(l1(x).relu()) between two layers left l1 untrained
    h = Tensor([1.0, -2.0], requires_grad=True) * 2
    with pytest.raises(TypeError, match=r"t\.clone\(\).*t\.detach\(\)"):
        Tensor(h)
    np.testing.assert_array_equal(Tensor(h.detach()).data, [2.0, -4.0])  # a constant


@pytest.mark.parametrize("convert", [np.asarray, np.array])
def test_numpy_arrays_of_a_tracked_tensor_are_refused(convert) -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"t\.detach\(\)\.numpy\(\)"):
        convert(w)
    assert convert((w * w).sum()) == 5.0  # a loss reads as its number, as float(loss)
    np.testing.assert_array_equal(convert(w.detach()), [1.0, 2.0])  # a constant
