"""The experiments of "When training fails": the 41-parameter network on t = 5 x1² + 3 x2².

``paraboloid_net`` builds ``Linear(2, 10) → Softmax → Linear(10, 1)`` with a chosen initialisation
(``"randn"`` draws every weight AND bias from N(0, 1), as ``torch.randn`` does); ``train`` runs
the course's loop (``backprop.train.fit`` with ``manual_step``) and records what a failing run
needs watching: the validation error after every epoch, the joint gradient norm before clipping
and each parameter's gradient norm after it, at every step, the largest parameter, and the share
of saturated inputs after every epoch. A run whose loss stops being finite is recorded as
exploded (with the step) instead of raising. ``LayerSGD`` gives each layer its own learning
rate: with raw targets and the first layer's rate divided by Var[t], it reproduces a run on
standardised targets.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from backprop.manual import Linear, MSELoss, Sequential, Softmax
from backprop.optim import SGD
from backprop.train import History, fit, manual_step

__all__ = ["Split", "Run", "LayerSGD", "split", "paraboloid_net", "train", "correlations",
           "symmetrised", "saturation", "escape_epoch"]


@dataclass
class Split:
    """Training and validation data, and the statistics used for scaling (training set only)."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_val: np.ndarray
    t_val: np.ndarray

    @property
    def scaling(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Means and standard deviations of the training inputs and targets."""
        return (self.x_train.mean(axis=0), self.x_train.std(axis=0),
                float(self.t_train.mean()), float(self.t_train.std()))


def split(x: np.ndarray, t: np.ndarray, n_val: int, seed: int) -> Split:
    """Carve a random validation set of ``n_val`` examples out of the training data."""
    order = np.random.default_rng(seed).permutation(len(x))
    val, train_ = order[:n_val], order[n_val:]
    return Split(x[train_], t[train_], x[val], t[val])


def paraboloid_net(init: str | float, seed: int,
                   hidden: type = Softmax) -> Sequential:
    """``Linear(2, 10) → hidden → Linear(10, 1)``.

    ``init="randn"``: all 41 numbers from N(0, 1), as ``torch.randn`` draws them.
    """
    if init != "randn":
        return Sequential(Linear(2, 10, init=init, rng=seed), hidden(),
                          Linear(10, 1, init=init, rng=seed + 1))
    model = Sequential(Linear(2, 10, rng=seed), hidden(),
                       Linear(10, 1, rng=seed + 1))
    rng = np.random.default_rng(seed)
    for param in model.parameters():
        param.data = rng.normal(size=param.data.shape)
    return model


class LayerSGD:
    """Plain SGD with a learning rate per layer: ``rates[i]`` for the i-th layer
    with parameters. One ``SGD`` per layer, stepped together.

    With raw targets and the first layer's rate divided by Var[t], it takes
    exactly the steps that one rate takes on standardised targets.
    """

    def __init__(self, model: Sequential, rates: list[float]) -> None:
        layers = [layer for layer in model.layers if layer.parameters()]
        self.optimizers = [SGD(layer.parameters(), lr=rate)
                           for layer, rate in zip(layers, rates, strict=True)]

    def step(self) -> None:
        """One SGD step of every layer, each with its own learning rate."""
        for optimizer in self.optimizers:
            optimizer.step()


PARAMETER_NAMES = ("W", "b", "v", "beta")  # first layer's weight and bias, read-out's weight and bias


@dataclass
class Run:
    """What one training run recorded. ``val_mse[e]`` is the validation MSE after e epochs."""

    model: Sequential
    val_mse: list[float]
    # after every epoch (and before the first): share of validation inputs saturated
    saturated: list[float]
    grad_norm: list[float]
    largest_parameter: list[float]  # after every step
    exploded_at: int | None = None  # the step whose loss was not finite
    value_clipped: list[float] = field(default_factory=list)  # 1 where clipping by value acted
    scaling: tuple = field(default=(0.0, 1.0, 0.0, 1.0))
    # per parameter (W, b, v, beta): the norm of the gradient the optimiser applied, every step
    layer_grad_norm: dict[str, list[float]] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # train's arguments: init, lr, batch_size, ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions in the units of t, whatever scale the network was trained on."""
        x_shift, x_scale, t_shift, t_scale = self.scaling
        return self.model((x - x_shift) / x_scale) * t_scale + t_shift

    def mse(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean squared error in the units of t."""
        with np.errstate(all="ignore"):
            return float(np.mean((self.predict(x) - t) ** 2))

    def clipped_share(self, threshold: float) -> float:
        """Share of steps whose gradient norm exceeded ``threshold`` (clipping by norm acted)."""
        return float(np.mean(np.asarray(self.grad_norm) > threshold))


def train(data: Split, init: str | float, lr: float, *, seed: int, epochs: int = 20,
          batch_size: int = 64, scaled: bool | str = False, lr_first: float | None = None,
          read_out: tuple[float, float] | None = None, clip_value: float | None = None,
          clip_norm: float | None = None, hidden: type = Softmax,
          stop_below: float | None = None, start: Sequential | None = None,
          show_progress: bool = False, desc: str = "training") -> Run:
    """Train the network with SGD through ``fit``; the network and the shuffling use ``seed``.

    ``scaled``: ``True`` standardises inputs and targets with the training set's statistics,
    ``"targets"`` only the targets (predictions are scaled back: every error is in units of t).
    ``lr_first``: the first layer's learning rate, if it differs from ``lr`` (``LayerSGD``).
    ``read_out=(scale, shift)``: multiply the read-out's initial weights and bias by ``scale``
    and add ``shift`` to its bias (the raw-target twin of a run on standardised targets).
    ``stop_below``: end the run after the first epoch whose validation MSE is below this level
    (to time an escape from a plateau without training on after it).
    ``start``: continue from a copy of this trained network instead of a fresh one (``init``
    and ``read_out`` are then ignored).
    """
    scaling = _scaling(data, scaled)
    x_shift, x_scale, t_shift, t_scale = scaling
    model = (paraboloid_net(init, seed, hidden) if start is None
             else copy.deepcopy(start))
    if read_out is not None and start is None:  # (scale, shift)
        model[2].weight.data *= read_out[0]
        model[2].bias.data = model[2].bias.data * read_out[0] + read_out[1]
    if lr_first is None:
        optimizer = SGD(model.parameters(), lr=lr)
    else:  # the first layer at lr_first, the read-out at lr
        optimizer = LayerSGD(model, [lr_first, lr])
    x = (data.x_train - x_shift) / x_scale
    t = (data.t_train - t_shift) / t_scale
    steps = History()  # what every step records (below)
    step = manual_step(model, MSELoss(), optimizer, x, t,
                       clip_value=clip_value, clip_norm=clip_norm, log=steps)
    run = Run(model, [], [], [], [], scaling=scaling,
              settings=dict(init=init, lr=lr, lr_first=lr_first, batch_size=batch_size,
                            scaled=scaled, clip_value=clip_value, clip_norm=clip_norm))

    parameters = model.parameters()

    def logged_step(indices: np.ndarray) -> float:
        # Logged every step, so written to cost little: np.vdot(g, g) is the sum of squares in
        # one call, without the temporary array g**2 (the network is tiny: calls are the cost).
        loss = step(indices)
        steps.log(largest=max(max(p.data.max(), -p.data.min()) for p in parameters),
                  **{name: np.sqrt(np.vdot(p.grad, p.grad))
                     for name, p in zip(PARAMETER_NAMES, parameters)})
        if clip_value is not None:  # after clipping, an element sits exactly at the bound
            steps.log(value_clipped=any(np.any(np.abs(p.grad) >= clip_value)
                                        for p in parameters))
        return loss

    def evaluate() -> dict[str, float]:  # after every epoch (and once before the first)
        run.val_mse.append(run.mse(data.x_val, data.t_val))
        run.saturated.append(saturation(model, (data.x_val - x_shift) / x_scale))
        if stop_below is not None and len(run.val_mse) > 1 and run.val_mse[-1] < stop_below:
            raise _Escaped
        return {"val_mse": run.val_mse[-1]}

    evaluate()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            fit(logged_step, len(data.x_train), epochs=epochs, batch_size=batch_size,
                seed=seed, evaluate=evaluate, desc=desc, show_progress=show_progress)
    except _Escaped:  # run.val_mse holds every epoch's error, the last one below stop_below
        pass
    except FloatingPointError:
        run.exploded_at = len(steps["grad_norm"])
        finite = [bool(np.isfinite(value)) for value in run.val_mse]
        if not all(finite):  # keep the errors measured before the overflow
            del run.val_mse[finite.index(False):]
            del run.saturated[len(run.val_mse):]
    run.grad_norm = steps["grad_norm"] if "grad_norm" in steps else []
    run.largest_parameter = steps["largest"] if "largest" in steps else []
    run.value_clipped = steps["value_clipped"] if "value_clipped" in steps else []
    run.layer_grad_norm = {name: steps[name] for name in PARAMETER_NAMES if name in steps}
    return run


def _scaling(data: Split, scaled: bool | str) -> tuple:
    """(x_shift, x_scale, t_shift, t_scale) for ``train``'s ``scaled``."""
    if scaled not in (False, True, "targets"):
        raise ValueError(f'scaled must be False, True or "targets", got {scaled!r}')
    if not scaled:
        return (0.0, 1.0, 0.0, 1.0)
    return (0.0, 1.0, *data.scaling[2:]) if scaled == "targets" else data.scaling


class _Escaped(Exception):
    """Raised by ``train``'s evaluation to end a run early (``stop_below``)."""


def correlations(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The sample correlation of each input column with the target (0 in expectation here)."""
    return np.array([np.corrcoef(x[:, i], t[:, 0])[0, 1] for i in range(x.shape[1])])


def symmetrised(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every example also with x1, x2 or both negated: t is unchanged (it is even in both), and
    every correlation of an input with t is exactly 0."""
    signs = np.array([[1, 1], [-1, 1], [1, -1], [-1, -1]])
    return np.concatenate([x * sign for sign in signs]), np.concatenate([t] * 4)


def saturation(model: Sequential, x: np.ndarray) -> float:
    """Share of inputs whose largest softmax output exceeds 0.99 (the softmax is saturated)."""
    with np.errstate(all="ignore"):
        s = model[:2](x)
    return float(np.mean(s.max(axis=1) > 0.99))


def escape_epoch(val_mse: list[float], level: float) -> int | None:
    """The first epoch after which the error is below ``level``, or None if it never is."""
    below = np.flatnonzero(np.asarray(val_mse) < level)
    return int(below[0]) if below.size else None
