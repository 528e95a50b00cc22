"""Optimisers from scratch: SGD (with momentum) and Adam, with PyTorch's exact update rules.

An optimiser only needs two attributes of each parameter: ``.data``, a NumPy array it updates
in place, and ``.grad``, the gradient array (or ``None`` when the parameter got no gradient,
which is then skipped). Autograd ``Tensor``s and ManualGrad's ``Parameter``s both qualify, so
the same optimiser trains networks whose gradients come from either.

Each optimiser keeps per-parameter state (momentum buffers, Adam's moment estimates) in lists
aligned with its parameter list.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

__all__ = ["Optimizer", "SGD", "Adam", "clip_grad_norm_", "clip_grad_value_"]


class HasGrad(Protocol):
    """What an optimiser needs of a parameter: values to update and their gradient."""

    data: np.ndarray
    grad: np.ndarray | None


def _is_parameter(value: Any) -> bool:
    """Anything with ``.data`` and ``.grad``: a Tensor or a ManualGrad ``Parameter``."""
    return hasattr(value, "data") and hasattr(value, "grad")


def _parameter_list(params: Any, who: str) -> list[HasGrad]:
    """``params`` as a list of trainable parameters, or an error that says what to pass instead.

    Each mistake here used to fail later, or never: a single tensor was iterated row by row
    (copies, so ``step()`` changed nothing); a tensor without ``requires_grad`` never gets a
    gradient, so it would silently stay as it is.
    """
    if hasattr(params, "parameters") and not _is_parameter(params):
        raise TypeError(
            f"{who} got the model itself; pass its parameters: {who}(model.parameters(), ...)"
        )
    if callable(params):
        raise TypeError(f"{who} got a function or method; call it: {who}(model.parameters(), ...)")
    if _is_parameter(params):
        raise TypeError(
            f"{who} takes a list of parameters, got a single one; write {who}([w], ...)"
        )
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{who} takes a list of parameters, got {type(params).__name__}") from None
    for position, param in enumerate(params):
        if not _is_parameter(param):
            raise TypeError(
                f"{who}: parameter {position} is a {type(param).__name__}, which has no .grad; "
                "make parameters with Tensor(values, requires_grad=True)"
            )
        if not getattr(param, "requires_grad", True):
            raise ValueError(
                f"{who}: parameter {position} (shape {param.data.shape}) has requires_grad=False, "
                "so backward() never gives it a gradient and it would never change; create it "
                "with requires_grad=True or call .requires_grad_()"
            )
        if getattr(param, "inputs", ()):
            raise ValueError(
                f"{who}: parameter {position} was computed from other tensors (it is not a leaf), "
                "so it is rebuilt every forward pass; make it a leaf, e.g. "
                "Tensor(values * 0.01, requires_grad=True), or w.detach().requires_grad_()"
            )
    return params


def _check_hyperparameter(name: str, value: Any) -> float:
    """A learning rate, momentum or weight decay must be a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


class Optimizer:
    """Holds the parameters; subclasses define ``step`` (one update from the current grads)."""

    def __init__(self, params: Iterable[HasGrad], lr: float) -> None:
        self.params: list[HasGrad] = _parameter_list(params, type(self).__name__)
        if not self.params:
            raise ValueError("the optimiser got no parameters (an empty list or a spent generator)")
        self.lr = _check_hyperparameter("lr", lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every gradient before the next backward pass, which would otherwise add to it.

        ``set_to_none=True`` (PyTorch's default) sets ``grad = None``; ``False`` fills the
        existing arrays with zeros instead.
        """
        for param in self.params:
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad[...] = 0

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def _scratch(self, index: int, like: np.ndarray) -> np.ndarray:
        """A work array shaped like parameter ``index``'s gradient, made once and then reused.

        Why not just write ``p.data -= lr * buffer``? ``lr * buffer`` is a new array every
        step, and a new array of a weight's size is fresh memory, which costs more than the
        multiplication itself (profiled: a sixth of an MLP epoch went to such arrays). Writing
        into the same array each step (NumPy's ``out=``) costs only the arithmetic.
        """
        if not hasattr(self, "_scratch_arrays"):
            self._scratch_arrays: dict[int, np.ndarray] = {}
        work = self._scratch_arrays.get(index)
        if work is None or work.shape != like.shape or work.dtype != like.dtype:
            work = self._scratch_arrays[index] = np.empty_like(like)
        return work


class SGD(Optimizer):
    """Stochastic gradient descent: p <- p - lr * d, where d is the gradient or its momentum.

    With ``momentum`` mu, d is a running buffer b <- mu * b + g (b = g on the first step), so
    steps along a direction the gradient keeps pointing to grow, and zig-zags cancel out.
    ``weight_decay`` lambda adds lambda * p to the gradient (L2 regularisation).
    """

    def __init__(
        self,
        params: Iterable[HasGrad],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_hyperparameter("momentum", momentum)
        self.weight_decay = _check_hyperparameter("weight_decay", weight_decay)
        self.momentum_buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """p <- p - lr * (momentum buffer or gradient), for every parameter with a gradient.

        Every array is updated in place (``out=``, ``*=``, ``-=``); see ``_scratch`` for why.
        """
        for index, param in enumerate(self.params):
            if param.grad is None:
                continue
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data
            if self.momentum:
                grad = self._update_buffer(index, grad)
            param.data -= np.multiply(grad, self.lr, out=self._scratch(index, grad))

    def _update_buffer(self, index: int, grad: np.ndarray) -> np.ndarray:
        """b <- mu * b + g, starting from b = g, in the same buffer every step."""
        buffer = self.momentum_buffers[index]
        if buffer is None:
            buffer = self.momentum_buffers[index] = grad.copy()
        else:
            buffer *= self.momentum
            buffer += grad
        return buffer


class Adam(Optimizer):
    """Adam: a step along a running mean of gradients, scaled per element by their running size.

    m <- b1 m + (1 - b1) g and v <- b2 v + (1 - b2) g^2 average the gradient and its square.
    Both start at 0, which biases them towards 0 early on; dividing by (1 - b^t) after t steps
    removes that bias. Then p <- p - lr * m_hat / (sqrt(v_hat) + eps): each element moves about
    ``lr`` per step however large or small its gradient is. ``weight_decay`` adds lambda * p to
    the gradient, as PyTorch's ``Adam`` does (not the decoupled ``AdamW``).
    """

    def __init__(
        self,
        params: Iterable[HasGrad],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        self.betas = betas
        self.eps = _check_hyperparameter("eps", eps)
        self.weight_decay = _check_hyperparameter("weight_decay", weight_decay)
        self.steps: list[int] = [0] * len(self.params)
        self.first_moments: list[np.ndarray | None] = [None] * len(self.params)
        self.second_moments: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """One Adam update for every parameter with a gradient (each counts its own steps)."""
        beta1, beta2 = self.betas
        for index, param in enumerate(self.params):
            if param.grad is None:
                continue
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data
            m, v = self._update_moments(index, grad)
            self.steps[index] += 1
            m_hat = m / (1 - beta1 ** self.steps[index])
            v_hat = np.divide(v, 1 - beta2 ** self.steps[index], out=self._scratch(index, v))
            denominator = np.sqrt(v_hat, out=v_hat)
            denominator += self.eps
            param.data -= self.lr * m_hat / denominator

    def _update_moments(self, index: int, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Running averages of the gradient (m) and of its square (v), starting from zeros.

        Both are updated in place, m <- b1 m + (1 - b1) g as ``m *= b1; m += (1 - b1) g``: the
        same numbers as a fresh ``b1 * m + ...`` without a new array each step.
        """
        beta1, beta2 = self.betas
        m = self.first_moments[index]
        v = self.second_moments[index]
        if m is None:
            m = self.first_moments[index] = np.zeros_like(grad)
            v = self.second_moments[index] = np.zeros_like(grad)
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        return m, v


def clip_grad_norm_(params: Iterable[HasGrad], max_norm: float) -> float:
    """Scale all gradients together so their joint L2 norm is at most ``max_norm``.

    The norm is taken over every gradient element of every parameter, as if they formed one
    vector, so the update keeps its direction and only its length shrinks. Returns the norm
    BEFORE clipping (as PyTorch does), handy to log exploding gradients. Like PyTorch, the
    scale is max_norm / (norm + 1e-6), applied only when that is below 1. Changes ``.grad``
    in place (the trailing underscore says so); parameters without a gradient are skipped.
    """
    params = [params] if _is_parameter(params) else params  # one tensor, as PyTorch allows
    grads = [param.grad for param in params if param.grad is not None]
    squares = sum(float(np.sum(np.square(grad, dtype=np.float64))) for grad in grads)
    total_norm = float(np.sqrt(squares))
    scale = max_norm / (total_norm + 1e-6)
    if scale < 1.0:
        for grad in grads:
            grad *= scale
    return total_norm


def clip_grad_value_(params: Iterable[HasGrad], clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value], in place.

    Cruder than ``clip_grad_norm_``: it changes the gradient's direction, not just its length.
    """
    params = [params] if _is_parameter(params) else params  # one tensor, as PyTorch allows
    for param in params:
        if param.grad is not None:
            np.clip(param.grad, -clip_value, clip_value, out=param.grad)
