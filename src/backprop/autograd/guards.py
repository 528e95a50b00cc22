"""What the engine refuses, and why: each check turns a silent wrong gradient into an
error. The core (``tensor.py``) calls these only to refuse mistakes:

- ``checked_data`` (``Tensor(...)``): a tensor holds floats (integers become float64;
  float32 stays float32), since gradients are fractional even when data are integers;
  an op's inputs are Tensors.
- ``wrong_grad_shape`` (``add_grad``): an op's backward must send each input a gradient
  shaped like it.
- ``checked_seed`` (``backward()``): it starts from 1 only for a one-element tensor.
- ``check_node`` (``backward()``, for each op): the op set a ``backward_fn``, and its
  backward reads the values its forward saw (``check_unchanged``). Every assignment to
  ``t.data`` (``Tensor.data`` is ``counted_data()``), and every in-place update, is
  counted (``note_change``); ``backward()`` refuses to run through an op whose inputs,
  or output, changed since it ran, as PyTorch does with a version per tensor.
- ``in_place``: ``p -= lr * p.grad`` on a parameter is refused while gradients are
  recorded.

This module imports no other part of the engine: the core calls it, and it receives what
it needs (the out-of-place op, the grad mode) as arguments.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def as_float_array(data: ArrayLike, copy: bool) -> np.ndarray:
    """``data`` as a float array: floats keep their dtype, integers and booleans become
    float64; ``copy=False`` keeps an op's own float array as it is."""
    if type(data) is np.ndarray and data.dtype.kind == "f" and not copy:
        return data
    array = np.asarray(data)
    if array.dtype.kind == "f":
        return array.astype(array.dtype, copy=copy)
    if array.dtype.kind in "iub":  # signed, unsigned, bool
        return array.astype(np.float64)
    raise TypeError(
        f"Tensor data must be numbers, got {type(data).__name__} with dtype "
        f"{array.dtype}"
    )


def wrong_grad_shape(tensor: Any, grad: Any) -> None:
    """A gradient that is a Tensor, or wrongly shaped, is a bug in an op's backward, so
    it fails where it arrives, naming the op that made the tensor when there is one."""
    made_by = f" (made by {tensor.op!r})" if getattr(tensor, "op", "") else ""
    if hasattr(grad, "backward_fn"):
        raise TypeError(
            f"add_grad got a Tensor for a tensor of shape {tensor.shape}{made_by}: a "
            "gradient is a NumPy array; inside a backward use x.data, not x"
        )
    if np.size(grad) == int(np.prod(tensor.shape)):
        advice = ("the sizes agree but not the shapes: a transposed gradient (.T), "
                  "or an axis added or lost (keepdims, [:, None])")
    elif np.ndim(grad) > len(tensor.shape) or np.size(grad) > np.prod(tensor.shape):
        advice = "sum it back to the input's shape with unbroadcast(grad, x.shape)"
    else:
        advice = "spread it over the input's shape (np.broadcast_to, or expand_reduced)"
    raise RuntimeError(
        f"gradient of shape {np.shape(grad)} for a tensor of shape {tensor.shape}"
        f"{made_by}: an op's backward must send each input a gradient shaped like it; "
        f"{advice}"
    )


def check_broadcast(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> None:
    """``unbroadcast`` sums a gradient back to its input's shape; a gradient whose shape
    broadcasting could not have made from that input is a bug in an op's backward."""
    extra = len(grad_shape) - len(shape)
    stretched = zip(shape, grad_shape[max(extra, 0):])
    if extra < 0 or any(size not in (1, g) for size, g in stretched):
        raise ValueError(
            f"unbroadcast: a gradient of shape {grad_shape} cannot come from "
            f"broadcasting an input of shape {shape}: check the op's backward (a "
            "forgotten .T, or an axis lost or added)"
        )


def returned_grad(node: Any) -> None:
    """A backward function sends gradients with ``add_grad``; one that returns them
    would leave its inputs' ``.grad`` empty, silently."""
    raise TypeError(
        f"the backward of the {node.op!r} op returned a value: a backward function "
        "returns nothing and sends each input its gradient with input.add_grad(g)"
    )


def checked_data(data: ArrayLike, inputs: tuple, op: str) -> np.ndarray:
    """A new Tensor's ``data`` as a float array (``as_float_array``): data from outside
    is copied, an op's own result (it has ``inputs``) is kept as it is. Refuses what
    would lose a gradient silently: an op named with no inputs (its backward would
    never run), tracked tensors inside a list, and inputs that are not Tensors (a
    number or an array among them would break the graph walk later)."""
    if op and not inputs:
        raise TypeError(
            f"Tensor(..., op={op!r}) without inputs=: backward() reaches an op only "
            "through the tensors it records, so its gradient would be lost. Pass "
            f"inputs=(x, ...), the Tensors it was computed from: Tensor(data, "
            f"inputs=(x,), op={op!r})"
        )
    if not inputs and getattr(data, "requires_grad", False) is True:
        raise TypeError(
            "Tensor(t) of a tensor that requires grad would copy its values and drop "
            "its gradient: whatever is computed from the copy never reaches t. Use t "
            "itself, t.clone() for a copy that keeps the graph, or t.detach() for a "
            "constant"
        )
    if not inputs and isinstance(data, (list, tuple)) and _holds_tracked(data):
        raise TypeError(
            "Tensor([...]) of tensors that require grad would copy their values and "
            "drop their gradients. Combine them with the Tensor's ops instead: "
            "l1 + l2 for a sum, or stack([l1, l2]) (from backprop.autograd) for a "
            "tensor of them; use t.detach() for values you do not differentiate"
        )
    for value in inputs:
        if not hasattr(value, "requires_grad"):
            raise TypeError(
                f"the op {op!r} recorded a {type(value).__name__} among its inputs: "
                "inputs must be Tensors; make a number or an array one with "
                "lift(value, like)"
            )
    return as_float_array(data, copy=not inputs)


def _holds_tracked(values: list | tuple) -> bool:
    """True if a (nested) list or tuple holds a tensor that requires grad."""
    return any(
        _holds_tracked(v) if isinstance(v, (list, tuple))
        else getattr(v, "requires_grad", False) is True
        for v in values
    )


def checked_seed(tensor: Any, grad: ArrayLike | None,
                 gradient: ArrayLike | None = None) -> np.ndarray:
    """dL/d(tensor) to start ``backward()`` from: 1 for a one-element tensor, else
    ``grad`` (or ``gradient``, PyTorch's name for it) as an array of its dtype."""
    if gradient is not None:
        if grad is not None:
            raise TypeError("give the starting gradient once: grad= or gradient=")
        grad = gradient
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: none of the tensors "
            "it was computed from has requires_grad=True, or it was computed inside "
            "no_grad()"
        )
    if grad is None:
        if tensor.data.size != 1:
            raise RuntimeError(
                f"backward() needs grad= for a tensor of shape {tensor.shape}: the "
                "gradient can be implied only for a one-element tensor (a loss). Pass "
                "grad= an array of that shape, or reduce first, e.g. t.sum().backward()"
            )
        return np.ones_like(tensor.data)
    values = grad.data if hasattr(grad, "backward_fn") else grad  # Tensor or array
    seed = np.asarray(values, dtype=tensor.data.dtype)
    if seed.shape != tensor.shape:
        raise ValueError(
            f"grad= has shape {seed.shape} but the tensor has shape {tensor.shape}"
        )
    return seed


changes = 0  # how many times the .data of any tensor has changed so far


def counted_data() -> property:
    """``Tensor.data``: reading it gives the array; assigning to it (``t.data -= g``)
    is a change of the tensor's values, counted (``note_change``). Writing through an
    index (``w.data[0] = 1``) is not seen."""

    def assign(tensor: Any, values: ArrayLike) -> None:
        new = as_float_array(values, copy=False)
        if tensor.requires_grad and new.shape != tensor._data.shape:
            raise ValueError(
                f"t.data = an array of shape {new.shape} for a tensor of shape "
                f"{tensor.shape} that requires grad: an update must keep a parameter's "
                "shape (is the gradient summed over the batch?)"
            )
        tensor._data = new
        note_change(tensor)  # backward() refuses ops that saw the old values

    return property(operator.attrgetter("_data"), assign, doc=counted_data.__doc__)


def note_change(tensor: Any) -> None:
    """``tensor.data`` has just changed: count it, and stamp the tensor with the
    count."""
    global changes
    changes += 1
    tensor.changed_at = changes


def check_unchanged(node: Any) -> None:
    """Refuse to run the backward of an op whose inputs (or output) changed since.

    An op notes the count of changes when it runs (``created_at``). If the count has not
    moved since, nothing anywhere changed, and one comparison settles it; only otherwise
    do we look at when each input last changed.
    """
    if node.created_at == changes:
        return  # the usual case: no .data anywhere changed since the forward pass
    changed = [
        f"input {position} (shape {t.shape})"
        for position, t in enumerate(node.inputs)
        if getattr(t, "changed_at", 0) > node.created_at
    ] + (["its own output"] if getattr(node, "changed_at", 0) > node.created_at else [])
    if changed:
        raise RuntimeError(
            f"the values of {', '.join(changed)} of the '{node.op}' op were changed "
            "after the forward pass (through .data or an in-place update), so its "
            "gradient would be computed from the wrong values. Update parameters after "
            "backward(), and run the forward pass again before the next backward()"
        )


def in_place(symbol: str, ufunc: np.ufunc, out_of_place: Callable,
             grad_enabled: Callable[[], bool]) -> Callable:
    """``t {symbol}= other``, with PyTorch's rules.

    Under ``no_grad()``, or when no gradient is involved, it changes ``t.data`` in place
    (same array, same dtype). With gradients on, a parameter (a leaf that requires grad)
    refuses, since the update would be recorded; any other tracked tensor gets an
    ordinary new result (``x += y`` then means ``x = x + y``).
    """

    def update(self: Any, other: Any) -> Any:
        other_tracked = getattr(other, "requires_grad", False)
        if grad_enabled() and (self.requires_grad or other_tracked):
            if self.requires_grad and not self.inputs:
                raise RuntimeError(
                    f"`{symbol}=` on a tensor that requires grad (a parameter) while "
                    "gradients are recorded: wrap the update in `with no_grad():` (as "
                    f"PyTorch does), or update .data: p.data {symbol}= ..."
                )
            return out_of_place(self, other)
        values = other.data if hasattr(other, "backward_fn") else other
        self.data = ufunc(self.data, values, out=self.data)  # bumps the version
        return self

    update.__name__ = f"__i{ufunc.__name__}__"
    return update


def check_node(node: Any) -> None:
    """Refuse to run ``node.backward_fn`` when its result would be wrong: the op set no
    ``backward_fn`` (its inputs would silently get no gradient), or the values it read
    changed since its forward pass (``check_unchanged``)."""
    if node.backward_fn is None:
        raise RuntimeError(
            f"the op {node.op or '(unnamed)'} recorded its inputs (inputs=...) but set "
            "no backward_fn, so backward() cannot pass the gradient on. Set "
            "out.backward_fn to a function that calls input.add_grad(...) for each "
            "input."
        )
    if node.created_at != changes:  # else nothing anywhere changed: nothing to check
        check_unchanged(node)
