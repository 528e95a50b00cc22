"""ManualGrad: neural-network layers whose backward pass is written by hand.

Every layer here works on plain NumPy arrays, batch first: an input ``x`` has
shape ``(batch, features)``. Each layer has two methods that sit side by side:

- ``forward(x)`` computes the layer's output and *caches* whatever the
  derivative will need (the input, or the output itself);
- ``backward(grad_out)`` receives dL/d(output) and returns dL/d(input), using
  only the layer's own *local* derivative and the cache.

That is all backpropagation is. No layer knows about the rest of the network:
each one owns its local derivative, and the chain rule is the short loop in
``Sequential.backward`` that hands each layer's ``grad_in`` to the layer before
it. A loss layer starts the chain: ``loss.backward()`` takes no argument
because dL/dL = 1.

Layers with weights store them as ``Parameter`` objects (``.data`` and
``.grad``), so an optimiser can update any of them without knowing which layer
it belongs to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
import numpy as np
from numpy.typing import ArrayLike, NDArray

from backprop.autograd.numerics import softmax_cross_entropy, stable_sigmoid
from backprop.gradcheck import ATOL, RTOL, agrees, compare, numerical_grad

__all__ = [
    "Parameter",
    "Layer",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Softmax",
    "Sequential",
    "Loss",
    "MSELoss",
    "SoftmaxCrossEntropy",
    "check_layer",
    "named_parameters",
    "GradCheckRow",
    "GradCheckTable",
    "GRADCHECK_ATOL",
    "GRADCHECK_RTOL",
]

Array = NDArray[np.float64]
Init = str | float
Seed = int | np.random.Generator | None

INIT_CHOICES = ("default", "xavier", "he")


def _as_float_array(values: ArrayLike) -> Array:
    """Return ``values`` as a float64 array, so every computation has the same precision."""
    return np.asarray(values, dtype=np.float64)


def _as_batch(x: ArrayLike, owner: object, features: int | None = None) -> Array:
    """``x`` as a float64 ``(batch, features)`` array, or an error naming both shapes."""
    x = _as_float_array(x)
    if x.ndim != 2 or (features is not None and x.shape[1] != features):
        raise ValueError(
            f"{owner!r} expects input of shape (batch, {features or 'features'}), "
            f"got {x.shape}"
        )
    return x


def _require_forward(owner: object, cache: object) -> None:
    """Raise a clear error if ``backward`` runs before ``forward`` has filled the cache."""
    if cache is None:
        raise RuntimeError(
            f"{owner!r}: backward() was called before forward(). "
            "Run forward first: backward needs the values forward caches."
        )


def _incoming(
    owner: object, grad_out: ArrayLike, cache: Array | None, width: int | None = None
) -> Array:
    """``grad_out`` as float64, once forward has run, checked against forward's output.

    ``cache`` is what forward stored (None before it ran); the output has its shape, or
    ``(batch, width)`` for a layer that changes the number of features.
    """
    _require_forward(owner, cache)
    grad_out = _as_float_array(grad_out)
    expected = cache.shape if width is None else (cache.shape[0], width)
    if grad_out.shape != expected:
        raise ValueError(
            f"{owner!r}.backward expects grad_out of shape {expected} "
            f"(the shape forward returned), got {grad_out.shape}"
        )
    return grad_out


class Parameter:
    """A trainable array and its gradient.

    ``data`` holds the values; ``grad`` holds dL/d(data) once a backward pass
    has run (``None`` before). Optimisers only rely on these two attributes:
    they read ``grad`` and update ``data`` in place.
    """

    def __init__(self, data: ArrayLike, name: str) -> None:
        self.data: Array = _as_float_array(data)
        self.grad: Array | None = None
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data`` (and of ``grad``)."""
        return self.data.shape

    def zero_grad(self) -> None:
        """Set the gradient to zeros of the right shape (not ``None``: optimisers can read it)."""
        self.grad = np.zeros_like(self.data)

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.shape})"


class Layer(ABC):
    """What every ManualGrad layer has: forward, backward, parameters."""

    @abstractmethod
    def forward(self, x: ArrayLike) -> Array:
        """Compute the output and cache what backward needs."""

    @abstractmethod
    def backward(self, grad_out: ArrayLike) -> Array:
        """Turn dL/d(output) into dL/d(input) by the local derivative."""

    def parameters(self) -> list[Parameter]:
        """The layer's trainable parameters; activations have none."""
        return []

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zeros."""
        for parameter in self.parameters():
            parameter.zero_grad()

    def __call__(self, x: ArrayLike) -> Array:
        """``layer(x)`` is ``layer.forward(x)``."""
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Layer):
    """An affine layer: ``y = x @ W.T + b``.

    ``weight`` has shape ``(out_features, in_features)`` and ``bias`` shape
    ``(out_features,)``, as in PyTorch.

    The initial weights decide whether signals survive the trip through many
    layers. Each output sums ``in_features`` products, so its variance is about
    ``in_features * Var(W) * Var(x)``: too large a ``Var(W)`` and activations
    explode (or saturate a sigmoid), too small and they fade to zero. The
    choices below keep that variance roughly constant from layer to layer:

    - ``"default"``: PyTorch's default, weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
      Var(W) = 1/(3 in), a safe, slightly shrinking scale.
    - ``"xavier"``: Glorot uniform, weight ~ U(-a, a) with a = sqrt(6/(in+out)),
      zero bias. Var(W) = 2/(in+out) is a compromise between keeping the forward
      variance (in * Var(W) = 1) and the backward one (out * Var(W) = 1); it meets
      both only when in = out.
    - ``"he"``: weight ~ N(0, 2/in), zero bias. ReLU zeroes half its inputs,
      halving the variance; the factor 2 puts it back.
    - a float ``std``: weight ~ N(0, std**2), zero bias. The "naive" choice that
      ignores the layer size; with std=1.0 or more, a deep sigmoid network
      saturates and stops learning. Only the weight scale differs from the
      other choices, so the comparison isolates it.

    ``rng`` makes the initialisation reproducible: pass a seed (int) or a
    ``np.random.Generator``; ``None`` draws fresh randomness.
    """

    def __init__(
        self, in_features: int, out_features: int, init: Init = "default", rng: Seed = None
    ) -> None:
        for name, size in [("in_features", in_features), ("out_features", out_features)]:
            if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
                raise ValueError(f"{name} must be a positive integer, got {size!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.init = init
        weight, bias = _initial_weights(in_features, out_features, init, np.random.default_rng(rng))
        self.weight = Parameter(weight, "weight")
        self.bias = Parameter(bias, "bias")
        self._x: Array | None = None

    def forward(self, x: ArrayLike) -> Array:
        """y = x @ W.T + b; caches x, which dL/dW needs."""
        self._x = _as_batch(x, self, self.in_features)
        return self._x @ self.weight.data.T + self.bias.data

    def backward(self, grad_out: ArrayLike) -> Array:
        """From G = dL/dy, shape (batch, out): set dL/dW and dL/db, return dL/dx.

        The gradients are SET, not added: one backward per forward, so the latest
        batch's gradient is the one the optimiser wants. (PyTorch adds, and needs
        ``zero_grad()``.) A layer used twice in one forward pass needs the sum.
        """
        grad_out = _incoming(self, grad_out, self._x, width=self.out_features)
        self.weight.grad = grad_out.T @ self._x  # G^T X
        self.bias.grad = grad_out.sum(axis=0)  # 1^T G: b is added to every row
        return grad_out @ self.weight.data  # G W

    def parameters(self) -> list[Parameter]:
        """``[weight, bias]``."""
        return [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, init={self.init!r})"


def _initial_weights(
    fan_in: int, fan_out: int, init: Init, rng: np.random.Generator
) -> tuple[Array, Array]:
    """Draw ``(weight, bias)`` for a ``Linear(fan_in, fan_out)`` by the rule ``init``."""
    shape = (fan_out, fan_in)
    if init == "default":
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape), rng.uniform(-bound, bound, fan_out)
    if init == "xavier":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, shape), np.zeros(fan_out)
    if init == "he":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape), np.zeros(fan_out)
    if isinstance(init, int | float) and not isinstance(init, bool) and init >= 0:
        return rng.normal(0.0, float(init), shape), np.zeros(fan_out)
    raise ValueError(
        f"init must be one of {INIT_CHOICES} or a non-negative float std, got {init!r}"
    )


class Sigmoid(Layer):
    """σ(x) = 1 / (1 + e^(-x)), elementwise: any number into (0, 1)."""

    def __init__(self) -> None:
        self._out: Array | None = None

    def forward(self, x: ArrayLike) -> Array:
        """σ(x), computed without overflow (``stable_sigmoid`` only ever takes e^(-|x|))."""
        self._out = stable_sigmoid(_as_float_array(x))  # the engine's own, one formula
        return self._out

    def backward(self, grad_out: ArrayLike) -> Array:
        """dσ/dx = σ(1 - σ), written with the output σ that forward cached.

        At most 1/4 (at x = 0); nearly 0 where σ saturates near 0 or 1.
        """
        grad_out = _incoming(self, grad_out, self._out)
        return grad_out * self._out * (1.0 - self._out)


class Tanh(Layer):
    """tanh(x), elementwise: like a sigmoid but centred on zero, range (-1, 1)."""

    def __init__(self) -> None:
        self._out: Array | None = None

    def forward(self, x: ArrayLike) -> Array:
        """tanh(x); caches the output, which is all the derivative needs."""
        self._out = np.tanh(_as_float_array(x))
        return self._out

    def backward(self, grad_out: ArrayLike) -> Array:
        """d tanh/dx = 1 - tanh², written with the output that forward cached."""
        grad_out = _incoming(self, grad_out, self._out)
        return grad_out * (1.0 - self._out**2)


class ReLU(Layer):
    """ReLU(x) = max(0, x), elementwise."""

    def __init__(self) -> None:
        self._positive: NDArray[np.bool_] | None = None

    def forward(self, x: ArrayLike) -> Array:
        """max(0, x); caches where x > 0, the only thing the derivative needs."""
        x = _as_float_array(x)
        self._positive = x > 0
        return np.where(self._positive, x, 0.0)

    def backward(self, grad_out: ArrayLike) -> Array:
        """dReLU/dx = 1 where x > 0, else 0: the gradient passes or stops.

        At x = 0 the derivative is undefined; we use 0, as PyTorch does.
        """
        grad_out = _incoming(self, grad_out, self._positive)
        return np.where(self._positive, grad_out, 0.0)


class Softmax(Layer):
    """Row-wise softmax, s_i = e^(u_i) / Σ_j e^(u_j): each row sums to 1.

    Used here as a hidden activation. For the output of a classifier, use
    ``SoftmaxCrossEntropy``, which fuses softmax with the loss.
    """

    def __init__(self) -> None:
        self._out: Array | None = None

    def forward(self, u: ArrayLike) -> Array:
        """Subtracting the row's maximum first changes nothing (it cancels in
        the ratio) and keeps e^u from overflowing."""
        u = _as_batch(u, self)
        e = np.exp(u - u.max(axis=1, keepdims=True))
        self._out = e / e.sum(axis=1, keepdims=True)
        return self._out

    def backward(self, grad_out: ArrayLike) -> Array:
        """ds_i/du_k = s_i ([i = k] - s_k): each output needs every input.

        The vector-Jacobian product, without building the Jacobian:
        dL/du = s * (g - g·s), with g = grad_out and g·s summed by row.
        """
        g = _incoming(self, grad_out, self._out)
        s = self._out
        return s * (g - np.sum(g * s, axis=1, keepdims=True))


def _not_a_layer(position: int, value: object) -> str:
    """Why ``value`` cannot be layer ``position`` of a ManualGrad ``Sequential``, and the fix."""
    where = f"Sequential argument {position}"
    if isinstance(value, type) and issubclass(value, Layer):
        return f"{where} is the class {value.__name__}, not a layer: create one, {value.__name__}()"
    if isinstance(value, (list, tuple)):
        return (
            f"{where} is a {type(value).__name__}: pass layers as separate arguments, "
            "Sequential(*layers)"
        )
    if type(value).__module__ in ("backprop.nn", "backprop.autograd"):
        return (
            f"{where} is the autograd module {value!r}, whose backward autograd derives; a "
            f"ManualGrad network needs backprop.manual layers, e.g. manual.{type(value).__name__}"
        )
    if callable(value) and not isinstance(value, str):
        name = getattr(value, "__name__", type(value).__name__)
        return f"{where} is the function {name}, not a layer: use a layer such as Tanh()"
    return f"{where} is a {type(value).__name__} ({value!r}), not a layer such as Linear(2, 3)"


class Sequential(Layer):
    """Layers applied one after another; backward runs them in reverse.

    ``Sequential.backward`` *is* the chain rule: each layer turns the gradient
    of its output into the gradient of its input, which is the gradient of the
    previous layer's output.
    """

    def __init__(self, *layers: Layer) -> None:
        for position, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(_not_a_layer(position, layer))
        self.layers: list[Layer] = list(layers)

    def forward(self, x: ArrayLike) -> Array:
        """Feed ``x`` through every layer in order."""
        out = _as_float_array(x)
        for layer in self.layers:
            out = layer.forward(out)
        return out

    def backward(self, grad_out: ArrayLike) -> Array:
        """The chain rule: each layer's backward in turn, last layer first."""
        grad = _as_float_array(grad_out)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def parameters(self) -> list[Parameter]:
        """All layers' parameters, first layer first."""
        return [parameter for layer in self.layers for parameter in layer.parameters()]

    def __getitem__(self, index: int | slice) -> Layer:
        """``model[i]`` is the i-th layer; ``model[a:b]`` a Sequential of those layers."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


class Loss(ABC):
    """A loss layer: ``forward(prediction, target)`` returns a number,
    ``backward()`` returns dL/d(prediction). It takes no argument because it
    starts the chain (dL/dL = 1)."""

    @abstractmethod
    def forward(self, prediction: ArrayLike, target: ArrayLike) -> float:
        """Compute the loss and cache what backward needs."""

    @abstractmethod
    def backward(self) -> Array:
        """Return dL/d(prediction)."""

    def parameters(self) -> list[Parameter]:
        """Losses have no trainable parameters."""
        return []

    def __call__(self, prediction: ArrayLike, target: ArrayLike) -> float:
        """``loss(prediction, target)`` is ``loss.forward(prediction, target)``."""
        return self.forward(prediction, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    """Mean squared error, mean((p - t)²) over ALL elements (PyTorch's)."""

    def __init__(self) -> None:
        self._diff: Array | None = None

    def forward(self, prediction: ArrayLike, target: ArrayLike) -> float:
        """The mean of the squared differences; caches p - t.

        The shapes must match: broadcasting (batch, 1) against (batch,) would
        silently compare every prediction with every target.
        """
        prediction = _as_float_array(prediction)
        target = _as_float_array(target)
        if prediction.shape != target.shape:
            raise ValueError(
                "MSELoss needs prediction and target of the same shape, got "
                f"prediction {prediction.shape} and target {target.shape}"
            )
        self._diff = prediction - target
        return float(np.mean(self._diff**2))

    def backward(self) -> Array:
        """dL/dp = 2 (p - t) / N, with N the number of elements."""
        _require_forward(self, self._diff)
        return 2.0 * self._diff / self._diff.size


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused: L = mean over the batch of -log softmax(z)[target].

    ``forward(logits, targets)``: logits of shape (batch, classes), targets
    integer class indices of shape (batch,).

    Fusing the two is both stabler and simpler: log softmax is computed as
    z - logsumexp(z) (no exp overflow, no log of 0), and the gradient collapses
    to softmax - onehot.
    """

    def __init__(self) -> None:
        self._grad_rows: Array | None = None  # softmax(z) - onehot(target), by row
        self._targets: NDArray[np.intp] | None = None

    def forward(self, logits: ArrayLike, targets: ArrayLike) -> float:
        """Mean cross-entropy; caches softmax(logits) - onehot(targets).

        The log-sum-exp trick and the gradient's rows are the engine's own formula
        (``autograd.numerics.softmax_cross_entropy``), which the fused op of
        ``functional`` and the hand-written MLP of ``backprop.mlp`` use too: one
        implementation for all three.
        """
        logits = _as_float_array(logits)
        targets = np.asarray(targets)
        self._check_inputs(logits, targets)
        self._targets = targets.astype(np.intp)
        losses, self._grad_rows = softmax_cross_entropy(logits, self._targets)
        return float(np.mean(losses))

    def backward(self) -> Array:
        """dL/dz = (softmax(z) - onehot(target)) / batch.

        The softmax Jacobian s_i([i = k] - s_k) times d(-log s_t)/ds_i = -[i = t] / s_t
        simplifies to s_k - [k = t] ([i = k] is 1 where i = k, else 0); the 1/batch comes from the mean.
        """
        _require_forward(self, self._grad_rows)
        return self._grad_rows / len(self._grad_rows)

    def _check_inputs(self, logits: Array, targets: np.ndarray) -> None:
        """Raise if the shapes, dtype or values of the inputs cannot be a classification batch."""
        if logits.ndim != 2:
            raise ValueError(
                f"SoftmaxCrossEntropy expects logits of shape (batch, classes), got {logits.shape}"
            )
        if targets.shape != (logits.shape[0],):
            raise ValueError(
                f"SoftmaxCrossEntropy expects targets of shape ({logits.shape[0]},) "
                f"(one class index per row of logits {logits.shape}), got {targets.shape}"
            )
        if not np.issubdtype(targets.dtype, np.integer):
            raise TypeError(f"targets must be integer class indices, got dtype {targets.dtype}")
        if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
            raise ValueError(
                f"targets must lie in [0, {logits.shape[1]}) for {logits.shape[1]} classes, "
                f"got values from {targets.min()} to {targets.max()}"
            )


# --- checking a hand-written backward ------------------------------------------------------

# ``check_layer`` passes a gradient by the course's one pass rule, ``backprop.gradcheck.agrees``:
# every element within GRADCHECK_RTOL of its own value plus GRADCHECK_ATOL of the gradient's
# largest element. Central differences in float64 agree with a correct backward to about 1e-9 of
# the gradient's scale; a real mistake (a missing factor, a transposed matrix, a mean instead of
# a sum) is off by a sizeable fraction of the gradient itself, so the margin between the two is
# wide. The relative error is reported but not used for the verdict: where a gradient element
# is itself almost 0, its relative error is rounding noise divided by almost nothing.
GRADCHECK_ATOL = ATOL  # the one rule, stated in backprop.gradcheck
GRADCHECK_RTOL = RTOL


class GradCheckRow:
    """One gradient compared with central differences: which layer, which gradient, how far apart."""

    def __init__(
        self, layer: str, gradient: str, max_abs: float, rel_error: float, passed: bool
    ) -> None:
        self.layer = layer
        self.gradient = gradient
        self.max_abs = max_abs
        self.rel_error = rel_error
        self.passed = passed

    def __repr__(self) -> str:
        return (
            f"GradCheckRow({self.layer!r}, {self.gradient!r}, max_abs={self.max_abs:.2e}, "
            f"rel_error={self.rel_error:.2e}, passed={self.passed})"
        )


class GradCheckTable(list):
    """Rows of ``GradCheckRow``, displayed in a notebook as a table with a verdict per row."""

    @property
    def passed(self) -> bool:
        """True when every row passed."""
        return all(row.passed for row in self)

    @property
    def max_rel_error(self) -> float:
        """The worst relative error in the table."""
        return max((row.rel_error for row in self), default=0.0)

    def _repr_markdown_(self) -> str:
        lines = [
            "| layer | gradient | max abs diff. | rel. error | verdict |",
            "| --- | --- | ---: | ---: | --- |",
        ]
        for row in self:
            verdict = "✓" if row.passed else "✗ **wrong**"
            lines.append(
                f"| {row.layer} | {row.gradient} | {row.max_abs:.1e} | {row.rel_error:.1e} "
                f"| {verdict} |"
            )
        return "\n".join(lines) + "\n"

    WIDTH = 88  # the course's widest line of output

    def __repr__(self) -> str:
        # Each name column is as wide as its longest entry; the numbers and the verdict
        # take 30 characters, and names too long for the rest are cut with an ellipsis.
        room = self.WIDTH - 30
        gradient = min(max(len(r.gradient) for r in [*self, _HEADER]), room // 2)
        layer = min(max(len(r.layer) for r in [*self, _HEADER]), room - gradient)
        lines = [f"{'layer':{layer}} {'gradient':{gradient}} {'max abs':>9} "
                 f"{'rel error':>9}  verdict"]
        for row in self:
            verdict = "agrees" if row.passed else "WRONG"
            lines.append(
                f"{_fit(row.layer, layer):{layer}} "
                f"{_fit(row.gradient, gradient):{gradient}} {row.max_abs:9.1e} "
                f"{row.rel_error:9.1e}  {verdict}"
            )
        return "\n".join(lines)


_HEADER = GradCheckRow("layer", "gradient", 0.0, 0.0, True)


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, its last one an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def check_layer(
    layer: Layer | Loss,
    x: ArrayLike,
    target: ArrayLike | None = None,
    *,
    seed: int = 0,
    eps: float = 1e-6,
    name: str | None = None,
) -> GradCheckTable:
    """Compare every gradient a layer's hand-written backward computes with central differences.

    For a ``Layer``, the check needs a number to differentiate, so it builds one that depends on
    every output: L = sum(layer(x) * R), with R a fixed random array (seeded by ``seed``). Then
    dL/d(output) = R, and ``backward(R)`` must return dL/dx and set each parameter's ``.grad``;
    ``backprop.gradcheck.numerical_grad`` computes the same derivatives from L alone.
    For a ``Loss``, L = loss(x, target) and ``backward()`` must return dL/dx.

    Returns one row per gradient (dL/dx, then one per parameter) with the largest absolute
    difference and the relative error of ``backprop.gradcheck.compare``, and a verdict (see
    ``GRADCHECK_ATOL``); ``table.passed`` is True when every row passed. Keep ``x`` away from
    kinks such as ReLU's at 0: there the derivative does not exist and the two methods may
    rightly disagree. Runs in float64; the parameters are left as they were.
    """
    x = np.array(x, dtype=np.float64)  # a copy: the check perturbs it in place
    label = name or (repr(layer) if "\n" not in repr(layer) else type(layer).__name__)
    parameters = named_parameters(layer)
    for _, parameter in parameters:
        parameter.grad = None  # a gradient backward forgets to set must not pass as a stale one
    if isinstance(layer, Loss):
        if target is None:
            raise ValueError(f"check_layer({label}) needs the target the loss compares x with")
        target = np.asarray(target)  # as given: class indices must stay integers
        layer.forward(x, target)
        analytic = {"dL/dx": layer.backward()}

        def loss_value() -> float:
            return layer.forward(x, target)
    else:
        projection = np.random.default_rng(seed).normal(size=layer.forward(x).shape)
        analytic = {"dL/dx": layer.backward(projection)}

        def loss_value() -> float:
            return float(np.sum(layer.forward(x) * projection))

    for key, parameter in parameters:
        grad = parameter.grad
        analytic[f"dL/d{key}"] = np.zeros_like(parameter.data) if grad is None else grad.copy()
    numeric = {"dL/dx": _numeric_grad_of(loss_value, x, eps)}
    for key, parameter in parameters:
        numeric[f"dL/d{key}"] = _numeric_grad_of(loss_value, parameter, eps)
    return GradCheckTable(
        GradCheckRow(
            label,
            key,
            **compare(analytic[key], numeric[key]),
            passed=agrees(analytic[key], numeric[key], GRADCHECK_ATOL, GRADCHECK_RTOL),
        )
        for key in analytic
    )


def named_parameters(layer: Layer | Loss) -> list[tuple[str, Parameter]]:
    """``(name, parameter)`` pairs, named as PyTorch does: ``weight``, or ``0.weight`` for the
    first layer of a ``Sequential``, so every parameter of a network has its own name."""
    if isinstance(layer, Sequential):
        return [
            (f"{index}.{name}", parameter)
            for index, inner in enumerate(layer.layers)
            for name, parameter in named_parameters(inner)
        ]
    return [(parameter.name, parameter) for parameter in layer.parameters()]


def _numeric_grad_of(
    loss_value: Callable[[], float], values: Array | Parameter, eps: float
) -> Array:
    """Central differences of ``loss_value()`` with respect to an input array (changed in place)
    or a parameter's data, restoring the original values afterwards."""
    array = values.data if isinstance(values, Parameter) else values
    original = array.copy()

    def loss_at(point: Array) -> float:
        array[...] = point
        return loss_value()

    try:
        return numerical_grad(loss_at, original, eps)
    finally:
        array[...] = original
