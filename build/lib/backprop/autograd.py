"""A tensor autograd engine: reverse-mode automatic differentiation on NumPy arrays.

The idea is micrograd's, scaled up from single numbers to arrays:

1. Every operation on ``Tensor`` objects computes its result with NumPy *and*, in the same
   place, a ``_backward`` closure that knows how to turn the gradient of the result into
   gradients of the inputs (the op's local derivative times the incoming gradient: the chain
   rule). The result remembers its inputs in ``_prev`` and the op's name in ``_op``, so the
   tensors form a graph of the computation.
2. ``loss.backward()`` orders that graph so every tensor comes after everything computed from
   it (reverse topological order), seeds dL/dL = 1 and calls each ``_backward`` in turn. When a
   tensor's turn comes, every use of it has already sent its share of the gradient.

Three array-specific facts shape the code:

- Broadcasting. ``x + b`` with ``x`` of shape (4, 3) and ``b`` of shape (3,) uses each element of
  ``b`` four times, so its gradient is the *sum* of four gradients. ``unbroadcast`` does that
  summing, and every broadcasting op calls it, so ``t.grad.shape == t.shape`` always holds.
- Accumulation. A tensor used twice gets a gradient from each use; gradients are *added*
  into ``.grad``. Calling ``backward()`` again adds again, exactly like PyTorch; clear
  gradients with ``zero_grad()`` (or an optimiser's ``zero_grad()``) between steps.
- Constants. Only tensors created with ``requires_grad=True`` (and results computed from
  them) are tracked. Data, targets and numbers mixed into an expression are constants: they
  appear in ``_prev`` (so a drawn graph shows them) but never receive a ``.grad``.
- Versions. A backward reads the values its forward saw. Assigning to ``t.data`` (including
  ``t.data -= ...``) or updating ``t`` in place bumps ``t._version`` and stamps the change with
  a global clock; ``backward()`` refuses to run through an op whose inputs changed since the
  forward pass, as PyTorch does, instead of silently computing a gradient from the new values.

To write a new op, follow any method below: compute the output array, create
``Tensor(data, _children=inputs, _op="name")``, define ``_backward(grad)`` that calls
``input._accumulate(...)`` with a gradient shaped like that input, attach it, return the output.
"""

from __future__ import annotations

import contextlib
import numbers
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "unbroadcast", "stable_sigmoid"]

Axis = int | tuple[int, ...] | list[int] | None

_grad_enabled = True

# Counts every change of any tensor's .data. An op remembers the count when it runs; if the
# count is the same at backward time, nothing anywhere changed, which one comparison confirms.
_clock = 0


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside ``with no_grad():`` results are constants: ``requires_grad=False``, no parents.

    Use it for evaluation and for parameter updates written with Tensors: nothing there will
    be differentiated, so recording a graph would only cost time and memory. Also works as a
    decorator, ``@no_grad()``.
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless we are inside ``no_grad()``."""
    return _grad_enabled


def unbroadcast(grad: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    If an input of shape ``shape`` was broadcast to make the output, each of its elements fed
    several output elements, so (chain rule) its gradient is the SUM of their gradients.
    Broadcasting does two things, and we undo both by summing:

    1. it prepends axes: (3,) acts like (1, 3) -> sum over the extra leading axes;
    2. it stretches axes of length 1: (4, 1) becomes (4, 3) -> sum those axes, keeping them.
    """
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape == shape:
        return grad  # nothing was broadcast (the usual case): nothing to undo
    extra_leading_axes = grad.ndim - len(shape)
    if extra_leading_axes > 0:
        grad = grad.sum(axis=tuple(range(extra_leading_axes)))
    stretched_axes = tuple(
        axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1
    )
    if stretched_axes:
        grad = grad.sum(axis=stretched_axes, keepdims=True)
    return np.asarray(grad).reshape(shape)


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) on an array, without overflow for any x.

    The textbook formula computes e^-x, which overflows for x = -1000. Both branches below only
    ever compute e^-|x| <= 1: for x >= 0 use 1 / (1 + e^-x), for x < 0 the equal e^x / (1 + e^x).
    """
    small_exp = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + small_exp), small_exp / (1.0 + small_exp))


def _as_float_array(data: ArrayLike, copy: bool) -> np.ndarray:
    """Convert ``data`` to a floating-point array: floats keep their dtype, integers become float64.

    Gradients are fractional even when data are integers, so integer tensors would be useless.
    """
    if type(data) is np.ndarray and data.dtype.kind == "f" and not copy:
        return data  # an op's result: already a float array of its own (the common case, fast)
    array = np.asarray(data)
    if array.dtype.kind == "f":
        return array.astype(array.dtype, copy=copy)
    if array.dtype.kind in "iub":  # signed, unsigned, bool
        return array.astype(np.float64)
    raise TypeError(
        f"Tensor data must be numbers, got {type(data).__name__} with dtype {array.dtype}"
    )


def _no_backward(grad: np.ndarray) -> None:
    """The ``_backward`` of a leaf: there is nobody further back to send the gradient to."""


def _expand_reduced(
    grad: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
) -> np.ndarray:
    """Stretch the gradient of a reduction (sum, max) back over the axes it reduced."""
    if not keepdims:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


def _axis_args(
    axis: Axis, keepdims: bool, dim: Axis, keepdim: bool | None
) -> tuple[int | tuple[int, ...] | None, bool]:
    """Accept PyTorch's ``dim=``/``keepdim=`` as well as NumPy's ``axis=``/``keepdims=``, and
    a list of axes as well as a tuple (NumPy itself only takes a tuple)."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give the axis once: axis= (NumPy's name) or dim= (PyTorch's)")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return (tuple(axis) if isinstance(axis, list) else axis), bool(keepdims)


def _own_index(index: Any) -> Any:
    """A private copy of an index, so the caller changing its array after the forward pass
    (``idx[:] = ...``) cannot move the gradient to other rows."""
    if isinstance(index, tuple):
        return tuple(_own_index(part) for part in index)
    if isinstance(index, Tensor):
        raise TypeError(
            "index a Tensor with integers, slices, or NumPy arrays of integers or booleans, not "
            "a Tensor (Tensors hold floats): use t[idx.numpy().astype(int)]"
        )
    if isinstance(index, (np.ndarray, list)):
        return np.array(index)
    return index


def _normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (``None`` means all of them)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
    return tuple(sorted(int(a) % ndim for a in axes))


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with an error message that names both shapes.

    A layer computes ``x @ W.T``, whose right operand is a transposed view. OpenBLAS multiplied
    that more slowly than the same numbers taken the other way round, ``(W @ x.T).T`` (measured,
    batch 64, 784 -> 128, one thread: 184 against 158-164 us in float32, 308 against 293 us in
    float64): the same dot products, so we compute that. The result is a transposed view too;
    NumPy's elementwise ops and the next product accept it as it is.
    """
    try:
        if a.ndim == 2 and b.ndim == 2 and b.flags.f_contiguous and not b.flags.c_contiguous:
            return (b.T @ a.T).T
        return a @ b
    except ValueError as error:
        raise ValueError(
            f"@ cannot multiply shapes {a.shape} and {b.shape}: the last axis of the left "
            "operand must equal the second-to-last axis of the right one (its only axis if "
            "it is 1-D), and any leading batch axes must broadcast"
        ) from error


def _product_laid_out_like(left: np.ndarray, right: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``left @ right``, stored in memory the way ``like`` (the input it is a gradient for) is.

    In a ``Linear`` layer the weight enters the product as ``W.T``, a transposed view of ``W``.
    Its gradient ``x^T G`` would come out row by row in W.T's shape, i.e. transposed relative to
    W, and every later ``W -= lr * grad`` would walk the two arrays in different orders, which
    is several times slower. As (L R)^T = R^T L^T, computing ``(R^T L^T)^T`` gives the same
    numbers already laid out like ``W``.
    """
    if like.ndim == 2 and like.flags.f_contiguous and not like.flags.c_contiguous:
        return (right.T @ left.T).T
    return left @ right


def _matrix_product_backward(a: Tensor, b: Tensor, grad: np.ndarray) -> None:
    """The backward of ``a @ b`` for two matrices: dA = G B^T, dB = A^T G.

    The general backward below first turns vectors into matrices and then undoes that and any
    broadcasting; two matrices need none of it. Every layer of a network takes this path on
    every step, so skipping the reshaping (a few microseconds of Python each time) counts.
    """
    if a.requires_grad:
        a._accumulate(_product_laid_out_like(grad, b.data.T, a.data), fresh=True)
    if b.requires_grad:
        b._accumulate(_product_laid_out_like(a.data.T, grad, b.data), fresh=True)


def _as_matrices(
    a: np.ndarray, b: np.ndarray, grad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """View 1-D operands of ``a @ b`` as matrices, as np.matmul does, and reshape ``grad`` to match.

    A 1-D left operand (k,) acts as a row (1, k) whose row axis is dropped from the result; a
    1-D right operand (k,) acts as a column (k, 1) whose column axis is dropped. Putting those
    axes back lets one matrix formula cover every case.
    """
    if b.ndim == 1:
        b, grad = b[:, np.newaxis], np.expand_dims(grad, -1)
    if a.ndim == 1:
        a, grad = a[np.newaxis, :], np.expand_dims(grad, -2)
    return a, b, grad


def _reverse_topological_order(root: Tensor) -> list[Tensor]:
    """Every tracked tensor ``root`` depends on, ``root`` first, each before its inputs.

    A depth-first search with an explicit stack instead of recursion, so a graph 10,000 ops
    deep does not hit Python's recursion limit. A node is appended after all its inputs
    (post-order); reversing that list puts every node before the inputs it was computed from.
    """
    post_order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            post_order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))  # comes back to it once everything pushed below is done
        for parent in node._prev:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return post_order[::-1]


class Tensor:
    """An array that remembers how it was computed, so ``backward()`` can differentiate it.

    ``data`` is the NumPy array (integers are cast to float64; float32 stays float32).
    ``grad`` is dL/d(data) after ``backward()``, same shape and dtype as ``data``, or ``None``.
    Only tensors with ``requires_grad=True`` get a ``grad``.

    For drawing the graph: ``_prev`` is the tuple of input tensors (constants included, a
    tensor used twice appears twice), ``_op`` the op's name ("+", "@", "relu", ...). Both are
    empty for a leaf, for a constant and for anything computed inside ``no_grad()``.

    Update parameters in place, inside ``with no_grad():`` (``w -= lr * w.grad``), or through
    ``.data`` (``w.data -= lr * w.grad``). Outside ``no_grad()``, ``w -= ...`` on a parameter
    raises, as in PyTorch: the update would otherwise be recorded in the graph.

    Differences from PyTorch a learner may meet: comparisons (``t > 0``) and ``argmax`` return
    NumPy arrays (boolean and int64), since a Tensor always holds floats; ``max``/``min`` with an
    axis return the values only (``torch.amax``/``amin``; use ``argmax`` for the indices);
    ``detach()`` copies instead of sharing memory.
    """

    # Tell NumPy to leave Tensors alone: `ndarray + Tensor` and `ndarray @ Tensor` then call
    # our reflected methods (__radd__, __rmatmul__) instead of NumPy's own loops.
    __array_ufunc__ = None

    def __init__(
        self,
        data: ArrayLike,
        requires_grad: bool = False,
        _children: tuple[Tensor, ...] = (),
        _op: str = "",
    ) -> None:
        """Wrap ``data`` (copied, like ``torch.tensor``). ``_children``/``_op`` are for ops only.

        An op passes the inputs it was computed from; the result is tracked (records them and
        requires grad) when grad mode is on and at least one input requires grad.
        """
        # An op's output array is freshly made, so only data from outside is copied.
        self._data: np.ndarray = _as_float_array(data, copy=not _children)
        self._version = 0  # bumped by every change of .data
        self._changed_at = 0  # the clock at the latest change of .data (0: never changed)
        self._created_at = _clock  # the clock when this op ran: see _check_unchanged
        tracked = _grad_enabled and any([child.requires_grad for child in _children])
        self.requires_grad: bool = bool(requires_grad) or tracked
        self.grad: np.ndarray | None = None
        self._prev: tuple[Tensor, ...] = tuple(_children) if tracked else ()
        self._op: str = _op if tracked else ""
        self._backward: Callable[[np.ndarray], None] = _no_backward

    @property
    def data(self) -> np.ndarray:
        """The values, a NumPy array. Assigning to it (``t.data = a``, ``t.data -= g``) bumps the
        version that ``backward()`` checks, so a gradient is never computed from changed values.
        Writing into the array through an index (``w.data[0] = 1``) is not seen: do that only
        between a backward and the next forward pass."""
        return self._data

    @data.setter
    def data(self, values: ArrayLike) -> None:
        global _clock
        self._data = _as_float_array(values, copy=False)
        self._version += 1
        _clock += 1
        self._changed_at = _clock

    # ----------------------------------------------------------------- basic properties
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of axes of ``data``."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The number of elements of ``data``."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data`` (float64 unless you passed float32 or float16 data)."""
        return self._data.dtype

    def numel(self) -> int:
        """The number of elements (PyTorch's name for ``size``)."""
        return self._data.size

    @property
    def is_leaf(self) -> bool:
        """True for a tensor you created (and anything not computed from a tracked tensor):
        the ones ``backward()`` leaves a ``.grad`` in for good."""
        return not self._prev

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) tracking this leaf, in place; returns it, so
        ``Tensor(x).requires_grad_()`` reads as one expression."""
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad_() changes leaves only; this tensor was computed from others. "
                "Use t.detach().requires_grad_() for a new leaf with its values"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor (a single number): use t.item() or t.numel()")
        return len(self.data)

    def __repr__(self) -> str:
        values = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = "" if self.dtype == np.float64 else f", dtype={self.dtype}"
        extras += ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({values}{extras})"

    def item(self) -> float:
        """The value of a one-element tensor as a Python float (e.g. for logging a loss)."""
        if self.size != 1:
            raise ValueError(
                f"item() needs a one-element tensor, this one has shape {self.shape}: pick an "
                "element (t[0]) or reduce first (t.sum(), t.mean())"
            )
        return self.data.item()

    # Python and NumPy conversions: `float(loss)`, `f"{loss:.3f}"`, `np.mean(losses)` and
    # `plt.plot(losses)` read a Tensor as its values, so a list of losses just works.
    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous: use "
                "(t > 0).any() or (t > 0).all(), or t.item() for a one-element tensor"
            )
        return bool(self.data.item())

    def __format__(self, spec: str) -> str:
        if not spec:
            return repr(self)
        if self.size != 1:
            raise TypeError(
                f"format spec {spec!r} needs a one-element tensor, this one has shape "
                f"{self.shape}: format t.item() or t.numpy() instead"
            )
        return format(self.item(), spec)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        values = np.asarray(self.data, dtype=dtype)
        return values.copy() if copy else values

    def tolist(self) -> Any:
        """The values as (nested) Python lists of floats, or a float for a 0-d tensor."""
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied, like PyTorch's ``.numpy()``)."""
        return self.data

    def detach(self) -> Tensor:
        """A constant with a copy of this tensor's values, cut from the graph.

        Gradients do not flow through it. (PyTorch's ``detach`` shares memory instead; a copy
        means changing one can never silently change the other.)
        """
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``, as PyTorch's optimisers do)."""
        self.grad = None

    # ------------------------------------------------------------------ comparisons
    # Elementwise comparisons give a NumPy boolean array: a mask to index with, or to count
    # (`(pred == y).mean()`). They have no gradient (a step function's slope is 0 or undefined).
    def _compare(self, other: object, compare: np.ufunc) -> np.ndarray:
        if isinstance(other, Tensor):
            return compare(self.data, other.data)
        if isinstance(other, (numbers.Real, np.ndarray)):
            return compare(self.data, other)
        return NotImplemented

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: object) -> np.ndarray:
        return self._compare(other, np.less)

    def __le__(self, other: object) -> np.ndarray:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: object) -> np.ndarray:
        return self._compare(other, np.greater)

    def __ge__(self, other: object) -> np.ndarray:
        return self._compare(other, np.greater_equal)

    __hash__ = object.__hash__  # still usable in sets and as dict keys, by identity

    # ------------------------------------------------------------------ backpropagation
    def backward(
        self, grad: ArrayLike | None = None, retain_graph: bool | None = None, *,
        gradient: ArrayLike | None = None,
    ) -> None:
        """Backpropagate: add dL/dx into ``x.grad`` for every tracked x this was computed from.

        L is this tensor when it holds one number (a loss); then leave ``grad`` out (dL/dL = 1).
        To start from a non-scalar, pass ``grad`` = dL/d(this tensor), shaped like it
        (``gradient=`` is PyTorch's name for it; ``retain_graph`` is accepted and ignored).

        Gradients ACCUMULATE, like PyTorch: calling ``backward()`` twice leaves twice the
        gradient in the leaves (the tensors you created with ``requires_grad=True``). That is
        what lets a tensor used in two places, or two losses, sum their contributions; it is
        also why a training step calls ``zero_grad()`` first. Intermediate results keep the
        gradient of the latest ``backward()`` only (a transpose ``W.T`` may hand its gradient
        over to ``W`` instead, see ``Tensor.T``). The graph is not freed, so you may call
        ``backward()`` again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: none of the tensors it "
                "was computed from has requires_grad=True, or it was computed inside no_grad()"
            )
        seed = self._seed_gradient(grad, gradient)
        order = _reverse_topological_order(self)
        for node in order:
            if node._prev:  # an intermediate result: it holds this call's gradient only
                node.grad = None
        self._accumulate(seed)
        for node in order:
            if node._prev and node.grad is not None:  # a leaf has no backward to run
                if node._created_at != _clock:  # something changed since the forward pass
                    node._check_unchanged()
                node._backward(node.grad)

    def _check_unchanged(self) -> None:
        """Refuse to backpropagate through an op whose inputs (or output) changed after it ran.

        Its ``_backward`` would read the new values and silently compute a wrong gradient.
        Every change of any ``.data`` advances one global clock, and each op noted the clock
        when it ran; so if the clock still reads the same, nothing changed and one comparison
        settles it. Only otherwise do we look at when each input last changed.
        """
        if self._created_at == _clock:
            return  # the usual case: no .data anywhere changed since the forward pass
        changed = [
            f"input {position} (shape {child.shape})"
            for position, child in enumerate(self._prev)
            if child._changed_at > self._created_at
        ] + (["its own output"] if self._prev and self._changed_at > self._created_at else [])
        if changed:
            raise RuntimeError(
                f"the values of {', '.join(changed)} of the '{self._op}' op were changed after "
                "the forward pass (through .data or an in-place update), so its gradient would "
                "be computed from the wrong values. Update parameters after backward(), and "
                "run the forward pass again before the next backward()"
            )

    def _seed_gradient(self, grad: ArrayLike | None, gradient: ArrayLike | None) -> np.ndarray:
        """dL/dThis to start from: 1 for a one-element tensor, else the ``grad`` given (or
        ``gradient``, PyTorch's name)."""
        if gradient is not None:
            if grad is not None:
                raise TypeError("give the starting gradient once: grad= or gradient=")
            grad = gradient
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() needs grad= for a tensor of shape {self.shape}: the gradient "
                    "can be implied only for a one-element tensor (a loss). Pass grad= an "
                    "array of that shape, or reduce first, e.g. t.sum().backward()"
                )
            return np.ones_like(self.data)
        seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
        if seed.shape != self.shape:
            raise ValueError(f"grad= has shape {seed.shape} but the tensor has shape {self.shape}")
        return seed

    def _accumulate(self, grad: np.ndarray, *, fresh: bool = False) -> None:
        """Add ``grad`` into ``.grad``: a tensor used twice gets a gradient from each use.

        Constants (``requires_grad=False``) ignore it. A wrongly shaped gradient is a bug in
        an op's ``_backward`` (usually a missing ``unbroadcast``), so it fails loudly here.

        The first gradient to arrive becomes ``.grad``. An op passes ``fresh=True`` when it
        built ``grad`` just now for this input alone (a product, ``grad * mask``): that array
        is kept as it is, no copy. Anything else (the op's own incoming gradient passed on by
        ``+``, a view of it from ``reshape``) is also someone else's ``.grad``, and adding into
        it later would change theirs too, so we keep a copy, laid out in memory like ``data``.
        """
        if not self.requires_grad:
            return
        if type(grad) is not np.ndarray:
            grad = np.asarray(grad)
        if grad.shape != self._data.shape:
            raise RuntimeError(
                f"gradient of shape {grad.shape} for a tensor of shape {self.shape}: an op's "
                "_backward must send each input a gradient shaped like it (use unbroadcast)"
            )
        if self.grad is not None:
            self.grad += grad
        elif fresh and grad.dtype == self.dtype and grad.flags.writeable:
            self.grad = grad  # ours alone: take it
        else:
            self.grad = np.empty_like(self.data)  # our own writable copy
            np.copyto(self.grad, grad)

    # ------------------------------------------------------------------ binary operators
    def _lift(self, other: object, symbol: str) -> Tensor:
        """Make the other operand of a binary op a Tensor (a constant unless it already is one).

        A Python number, or an integer array, takes this tensor's dtype, so
        ``float32_tensor * 2`` stays float32.
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Real):
            return Tensor(np.asarray(other, dtype=self.dtype))
        if isinstance(other, np.ndarray):  # integers take our dtype, as a PyTorch int tensor would
            return Tensor(other.astype(self.dtype) if other.dtype.kind in "iub" else other)
        raise TypeError(
            f"unsupported operand for {symbol}: Tensor and {type(other).__name__} "
            "(use a Tensor, a NumPy array or a number)"
        )

    def __add__(self, other: Tensor | ArrayLike) -> Tensor:
        other = self._lift(other, "+")
        out = Tensor(self.data + other.data, _children=(self, other), _op="+")

        def _backward(grad: np.ndarray) -> None:  # d(a+b)/da = d(a+b)/db = 1
            if self.requires_grad:
                self._accumulate(unbroadcast(grad, self.shape))
            if other.requires_grad:
                other._accumulate(unbroadcast(grad, other.shape))

        out._backward = _backward
        return out

    def __sub__(self, other: Tensor | ArrayLike) -> Tensor:
        other = self._lift(other, "-")
        out = Tensor(self.data - other.data, _children=(self, other), _op="-")

        def _backward(grad: np.ndarray) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
            if self.requires_grad:
                self._accumulate(unbroadcast(grad, self.shape))
            if other.requires_grad:
                other._accumulate(unbroadcast(-grad, other.shape))

        out._backward = _backward
        return out

    def __mul__(self, other: Tensor | ArrayLike) -> Tensor:
        other = self._lift(other, "*")
        out = Tensor(self.data * other.data, _children=(self, other), _op="*")

        def _backward(grad: np.ndarray) -> None:  # d(ab)/da = b, d(ab)/db = a
            if self.requires_grad:
                self._accumulate(unbroadcast(grad * other.data, self.shape))
            if other.requires_grad:
                other._accumulate(unbroadcast(grad * self.data, other.shape))

        out._backward = _backward
        return out

    def __truediv__(self, other: Tensor | ArrayLike) -> Tensor:
        other = self._lift(other, "/")
        out = Tensor(self.data / other.data, _children=(self, other), _op="/")

        def _backward(grad: np.ndarray) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            if self.requires_grad:
                self._accumulate(unbroadcast(grad / other.data, self.shape))
            if other.requires_grad:
                other._accumulate(unbroadcast(-grad * self.data / other.data**2, other.shape))

        out._backward = _backward
        return out

    def __pow__(self, exponent: Tensor | ArrayLike) -> Tensor:
        exponent = self._lift(exponent, "**")
        out_data = self.data**exponent.data
        out = Tensor(out_data, _children=(self, exponent), _op="**")

        def _backward(grad: np.ndarray) -> None:
            a, b = self.data, exponent.data
            with np.errstate(divide="ignore", invalid="ignore"):  # 0^-1 below is masked out
                if self.requires_grad:  # d(a^b)/da = b a^(b-1); 0 where b = 0 (a^0 = 1 is flat)
                    local = np.where(b == 0, 0, b * a ** (b - 1))
                    self._accumulate(unbroadcast(grad * local, self.shape))
                if exponent.requires_grad:  # d(a^b)/db = a^b ln(a); 0 at a = 0, as in PyTorch
                    local = np.where((a == 0) & (b >= 0), 0, out_data * np.log(a))
                    exponent._accumulate(unbroadcast(grad * local, exponent.shape))

        out._backward = _backward
        return out

    def __matmul__(self, other: Tensor | ArrayLike) -> Tensor:
        other = self._lift(other, "@")
        out = Tensor(_matmul(self.data, other.data), _children=(self, other), _op="@")

        def _backward(grad: np.ndarray) -> None:  # for matrices: dA = G B^T, dB = A^T G
            if grad.ndim == 2 and self.ndim == 2 and other.ndim == 2:  # a layer's x @ W.T
                _matrix_product_backward(self, other, grad)
                return
            a, b, g = _as_matrices(self.data, other.data, grad)
            if self.requires_grad:
                grad_a = _product_laid_out_like(g, np.swapaxes(b, -1, -2), a)
                self._accumulate(unbroadcast(grad_a, a.shape).reshape(self.shape), fresh=True)
            if other.requires_grad:
                grad_b = _product_laid_out_like(np.swapaxes(a, -1, -2), g, b)
                other._accumulate(unbroadcast(grad_b, b.shape).reshape(other.shape), fresh=True)

        out._backward = _backward
        return out

    # Reflected forms: `2 * t`, `1 - t`, `ndarray @ t` end up here.
    def __radd__(self, other: ArrayLike) -> Tensor:
        return self._lift(other, "+") + self

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return self._lift(other, "-") - self

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return self._lift(other, "*") * self

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return self._lift(other, "/") / self

    def __rpow__(self, other: ArrayLike) -> Tensor:
        return self._lift(other, "**") ** self

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return self._lift(other, "@") @ self

    def pow(self, exponent: Tensor | ArrayLike) -> Tensor:
        """``t.pow(b)`` is ``t ** b``."""
        return self**exponent

    def matmul(self, other: Tensor | ArrayLike) -> Tensor:
        """``a.matmul(b)`` is ``a @ b``."""
        return self @ other

    # In-place forms `p -= lr * p.grad`, `+=`, `*=`, `/=`, with PyTorch's rules. Under no_grad(),
    # or when no gradient is involved, they change `p.data` in place (same object, same dtype).
    # With gradients on, changing a parameter in place would corrupt the graph, so it raises;
    # any other tracked tensor gets an ordinary new result (`x += y` then means `x = x + y`).
    def _in_place(
        self,
        other: Tensor | ArrayLike,
        symbol: str,
        ufunc: np.ufunc,
        out_of_place: Callable[[Tensor, Tensor | ArrayLike], Tensor],
    ) -> Tensor:
        other_tracked = isinstance(other, Tensor) and other.requires_grad
        if _grad_enabled and (self.requires_grad or other_tracked):
            if self.requires_grad and self.is_leaf:
                raise RuntimeError(
                    f"`{symbol}=` on a tensor that requires grad (a parameter) while gradients "
                    f"are recorded: wrap the update in `with no_grad():` (as PyTorch does), "
                    f"or update .data: p.data {symbol}= ..."
                )
            return out_of_place(self, other)
        values = other.data if isinstance(other, Tensor) else other
        self.data = ufunc(self.data, values, out=self.data)  # the setter bumps the version
        return self

    def __iadd__(self, other: Tensor | ArrayLike) -> Tensor:
        return self._in_place(other, "+", np.add, Tensor.__add__)

    def __isub__(self, other: Tensor | ArrayLike) -> Tensor:
        return self._in_place(other, "-", np.subtract, Tensor.__sub__)

    def __imul__(self, other: Tensor | ArrayLike) -> Tensor:
        return self._in_place(other, "*", np.multiply, Tensor.__mul__)

    def __itruediv__(self, other: Tensor | ArrayLike) -> Tensor:
        return self._in_place(other, "/", np.true_divide, Tensor.__truediv__)

    # ---------------------------------------------------------------- elementwise functions
    def __neg__(self) -> Tensor:
        out = Tensor(-self.data, _children=(self,), _op="neg")

        def _backward(grad: np.ndarray) -> None:  # d(-a)/da = -1
            self._accumulate(-grad)

        out._backward = _backward
        return out

    def exp(self) -> Tensor:
        """e to the power of each element."""
        out_data = np.exp(self.data)
        out = Tensor(out_data, _children=(self,), _op="exp")

        def _backward(grad: np.ndarray) -> None:  # d(e^a)/da = e^a: reuse the output
            self._accumulate(grad * out_data)

        out._backward = _backward
        return out

    def log(self) -> Tensor:
        """Natural logarithm of each element."""
        out = Tensor(np.log(self.data), _children=(self,), _op="log")

        def _backward(grad: np.ndarray) -> None:  # d(ln a)/da = 1/a
            self._accumulate(grad / self.data)

        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        """max(0, x) elementwise. Its gradient at exactly 0 is taken as 0, as in PyTorch."""
        out_data = np.maximum(self.data, 0)
        out = Tensor(out_data, _children=(self,), _op="relu")

        def _backward(grad: np.ndarray) -> None:  # 1 where the input was positive, else 0
            self._accumulate(grad * (out_data > 0), fresh=True)  # out > 0 exactly where x > 0

        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x) elementwise, computed without overflow (see ``stable_sigmoid``)."""
        out_data = stable_sigmoid(self.data)
        out = Tensor(out_data, _children=(self,), _op="sigmoid")

        def _backward(grad: np.ndarray) -> None:  # s'(a) = s(a) (1 - s(a))
            self._accumulate(grad * out_data * (1 - out_data))

        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        """Hyperbolic tangent elementwise."""
        out_data = np.tanh(self.data)
        out = Tensor(out_data, _children=(self,), _op="tanh")

        def _backward(grad: np.ndarray) -> None:  # tanh'(a) = 1 - tanh(a)^2
            self._accumulate(grad * (1 - out_data**2))

        out._backward = _backward
        return out

    def abs(self) -> Tensor:
        """|x| elementwise. Its gradient at exactly 0 is taken as 0, as in PyTorch."""
        out = Tensor(np.abs(self.data), _children=(self,), _op="abs")

        def _backward(grad: np.ndarray) -> None:  # d|a|/da = sign(a)
            self._accumulate(grad * np.sign(self.data))

        out._backward = _backward
        return out

    def sqrt(self) -> Tensor:
        """Square root of each element (its gradient is infinite at 0, as in PyTorch)."""
        out_data = np.sqrt(self.data)
        out = Tensor(out_data, _children=(self,), _op="sqrt")

        def _backward(grad: np.ndarray) -> None:  # d(sqrt a)/da = 1 / (2 sqrt a): reuse the output
            with np.errstate(divide="ignore"):
                self._accumulate(grad / (2 * out_data))

        out._backward = _backward
        return out

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Each element limited to [min, max] (either bound may be None).

        The gradient passes where the input lay inside the bounds (bounds included, as in
        PyTorch) and is 0 where it was cut off: moving a clamped input changes nothing.
        """
        if min is None and max is None:
            raise ValueError("clamp needs min=, max= or both")
        low = -np.inf if min is None else min
        high = np.inf if max is None else max
        out = Tensor(np.minimum(np.maximum(self.data, low), high).astype(self.dtype),
                     _children=(self,), _op="clamp")

        def _backward(grad: np.ndarray) -> None:  # 1 inside [min, max], 0 outside
            self._accumulate(grad * ((self.data >= low) & (self.data <= high)))

        out._backward = _backward
        return out

    clip = clamp  # NumPy's name

    def softmax(self, dim: int = -1) -> Tensor:
        """``backprop.functional.softmax`` along ``dim``."""
        from backprop.functional import softmax  # functional builds on this module

        return softmax(self, dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        """``backprop.functional.log_softmax`` along ``dim``."""
        from backprop.functional import log_softmax

        return log_softmax(self, dim)

    # ------------------------------------------------------------------------ reductions
    def sum(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Sum over ``axis`` (all axes if None). Every summed element gets the output's gradient.

        ``dim=``/``keepdim=`` (PyTorch's names) work too, here and in every reduction.
        """
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), _children=(self,), _op="sum")
        axes = _normalize_axes(axis, self.ndim)

        def _backward(grad: np.ndarray) -> None:  # d(sum)/d(each element) = 1
            self._accumulate(_expand_reduced(grad, self.shape, axes, keepdims))

        out._backward = _backward
        return out

    def mean(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Mean over ``axis`` (all axes if None), built as sum / count, so it needs no backward."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis=axis, keepdims=keepdims) / count

    def max(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Maximum over ``axis`` (all axes if None).

        The gradient flows only to the element(s) that were the maximum; if several tie, they
        share it equally (as ``torch.amax`` does), which keeps the total gradient right. A NaN
        is the maximum of its slice, so it alone gets the gradient there (as ``torch.max``).
        """
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        axes = _normalize_axes(axis, self.ndim)
        peak = self.data.max(axis=axis, keepdims=True)
        out_data = peak if keepdims else np.squeeze(peak, axis=axes)
        out = Tensor(out_data, _children=(self,), _op="max")

        def _backward(grad: np.ndarray) -> None:
            is_peak = (self.data == peak) | np.isnan(self.data)
            share = is_peak / is_peak.sum(axis=axes, keepdims=True)
            self._accumulate(share * _expand_reduced(grad, self.shape, axes, keepdims))

        out._backward = _backward
        return out

    def min(
        self, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Minimum over ``axis``: min(x) = -max(-x), so ``max``'s backward does the work."""
        return -(-self).max(axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
        keepdim: bool | None = None,
    ) -> np.ndarray:
        """Index of the largest element along ``axis`` (of the flattened tensor if None), as
        an int64 NumPy array: an index is not differentiable, so it leaves the graph."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return np.argmax(self.data, axis=axis, keepdims=keepdims).astype(np.int64)

    def argmin(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
        keepdim: bool | None = None,
    ) -> np.ndarray:
        """Index of the smallest element along ``axis``, like ``argmax``."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return np.argmin(self.data, axis=axis, keepdims=keepdims).astype(np.int64)

    # ------------------------------------------------------------------------ reshaping
    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """The same elements in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        out = Tensor(self.data.reshape(shape), _children=(self,), _op="reshape")

        def _backward(grad: np.ndarray) -> None:  # move each gradient back to its element
            self._accumulate(grad.reshape(self.shape))

        out._backward = _backward
        return out

    view = reshape  # PyTorch's name (our result may or may not share memory, as NumPy decides)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge the axes ``start_dim`` to ``end_dim`` (all by default) into one."""
        if self.ndim == 0:
            return self.reshape(1)
        (start,), (end,) = (_normalize_axes(d, self.ndim) for d in (start_dim, end_dim))
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        merged = int(np.prod(self.shape[start : end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert an axis of length 1 at position ``dim`` (negative counts from the end)."""
        return self.reshape(np.expand_dims(self.data, dim).shape)

    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        """Drop axes of length 1 (only ``dim``, if given; an axis longer than 1 is kept, as in
        PyTorch)."""
        axes = _normalize_axes(dim, self.ndim)
        kept = [size for axis, size in enumerate(self.shape) if axis not in axes or size != 1]
        return self.reshape(tuple(kept))

    def clone(self) -> Tensor:
        """A copy that stays in the graph: the gradient flows through it unchanged."""
        out = Tensor(self.data.copy(), _children=(self,), _op="clone")

        def _backward(grad: np.ndarray) -> None:  # d(copy of a)/da = 1
            self._accumulate(grad)

        out._backward = _backward
        return out

    def permute(self, *dims: int) -> Tensor:
        """Reorder the axes: output axis i is input axis ``dims[i]`` (NumPy's ``transpose``)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        ndim = self.ndim
        if sorted(d % ndim if -ndim <= d < ndim else d for d in dims) != list(range(ndim)):
            raise ValueError(f"permute needs each of the {ndim} axes once, got {dims}")
        dims = tuple(d % ndim for d in dims)  # the inverse below needs them non-negative
        inverse = tuple(sorted(range(ndim), key=dims.__getitem__))  # np.argsort, in plain Python
        out = Tensor(self.data.transpose(dims), _children=(self,), _op="permute")

        def _backward(grad: np.ndarray) -> None:  # the inverse permutation undoes it
            self._accumulate(grad.transpose(inverse))

        out._backward = _backward
        return out

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two axes, as ``torch.transpose`` does (for every axis order use ``permute``)."""
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(*dims)

    @property
    def T(self) -> Tensor:
        """All axes reversed; for a matrix, the transpose.

        The same as ``permute`` with the axes reversed, written out because every ``Linear``
        layer calls it on every forward pass: reversing the axes is its own inverse, so the
        backward is ``grad.T`` and there is no permutation to check and invert.

        When ``W`` has no gradient yet (after ``zero_grad()``, the usual case), the backward
        hands its gradient over instead of copying it: ``W.T``'s gradient, transposed, becomes
        ``W.grad``, and ``W.T`` lets go of its own ``.grad`` (None afterwards), so no two
        gradients share memory. Otherwise ``W`` adds a transposed copy and ``W.T`` keeps its
        own. For the first layer of chapter 7's MLP the copy this saves is 800 kB per step in
        float64: measured, 6-7 % of a float64 training step at batch 64, 3-4 % in float32 (30
        interleaved epochs each, MNIST-5k).
        """
        out = Tensor(self.data.T, _children=(self,), _op="permute")
        # A weak reference: `out` holds this backward, which must not hold `out` in turn (the
        # cycle would keep every step's graph, and its arrays, alive until Python's cycle
        # collector ran).
        out_ref = weakref.ref(out)

        def _backward(grad: np.ndarray) -> None:  # reversing all axes undoes itself
            transposed = out_ref()
            if transposed is not None and transposed.grad is grad and self.grad is None:
                self._accumulate(grad.T, fresh=True)  # W's first gradient: hand it over
                transposed.grad = None
            else:
                self._accumulate(grad.T)

        out._backward = _backward
        return out

    def __getitem__(self, index: Any) -> Tensor:
        """``t[i]``, ``t[1:3]``, ``t[[0, 0, 2]]``, ``t[rows, cols]``: anything NumPy accepts.

        The backward scatters the gradient into zeros with ``np.add.at``, which (unlike
        ``zeros[index] += grad``) adds once per occurrence, so repeated indices accumulate.
        """
        index = _own_index(index)
        out = Tensor(self.data[index], _children=(self,), _op="index")

        def _backward(grad: np.ndarray) -> None:
            full_grad = np.zeros_like(self.data)
            np.add.at(full_grad, index, grad)
            self._accumulate(full_grad)

        out._backward = _backward
        return out
