"""The training loop the chapters share: shuffle, cut into mini-batches, step, record, repeat.

The loop knows nothing about how a step is computed. A chapter passes a ``train_step`` function
that takes the indices of one mini-batch, runs forward, backward and the parameter update, and
returns the batch loss. That way the same loop (with the same progress bar and the same history)
drives the hand-written ManualGrad networks, the autograd engine and PyTorch alike.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from tqdm.std import tqdm

from backprop.optim import Optimizer, clip_grad_norm_, clip_grad_value_


class History:
    """Named lists of numbers recorded during training, e.g. ``history["loss"]``."""

    def __init__(self) -> None:
        self.records: dict[str, list[float]] = defaultdict(list)

    def log(self, **metrics: float) -> None:
        """Append one value to each named record."""
        for name, value in metrics.items():
            self.records[name].append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.records:
            raise KeyError(f"No record named {name!r}; recorded: {sorted(self.records)}")
        return self.records[name]

    def __contains__(self, name: str) -> bool:
        return name in self.records

    def __repr__(self) -> str:
        lasts = ", ".join(f"{name}={values[-1]:.4g}" for name, values in self.records.items())
        return f"History({lasts})"


class ProgressBar(tqdm):
    """A text progress bar that always shows its final state when it closes.

    It waits a second before its first update and then redraws at most every two seconds, so a
    saved notebook (and the site built from it) keeps one or a few lines per run rather than a
    snapshot per redraw; closing shows the final line even for a run shorter than that delay.
    """

    def close(self) -> None:
        self.delay = 0
        super().close()


def progress(
    iterable: Iterable | None = None, desc: str = "", total: int | None = None, enabled: bool = True
) -> ProgressBar:
    """A text progress bar on standard output (plain text renders the same in Jupyter and on
    the static site, where a widget would not)."""
    return ProgressBar(
        iterable, desc=desc, total=total, disable=not enabled, file=sys.stdout,
        ascii=True, delay=1.0, mininterval=2.0,
    )


def minibatches(n_examples: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield index arrays that visit ``range(n_examples)`` once, in a fresh random order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = rng.permutation(n_examples)
    for start in range(0, n_examples, batch_size):
        yield order[start : start + batch_size]


def validation_split(
    n_examples: int, n_validation: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)`` that split ``range(n_examples)`` at random, seeded.

    Anything a chapter chooses (a threshold, a learning rate, the number of epochs, an
    optimiser) is chosen on the validation part, carved out of the training data, so that the
    test set is used once, at the end, to measure the choice.
    """
    if not 0 < n_validation < n_examples:
        raise ValueError(
            f"n_validation must lie between 1 and n_examples - 1 = {n_examples - 1}, "
            f"got {n_validation}"
        )
    order = np.random.default_rng(seed).permutation(n_examples)
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def fit(
    train_step: Callable[[np.ndarray], float],
    n_examples: int,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    evaluate: Callable[[], dict[str, float]] | None = None,
    desc: str = "training",
    show_progress: bool = True,
) -> History:
    """Run ``epochs`` passes over the data and return the history.

    ``history["batch_loss"]`` holds every step's loss, ``history["loss"]`` each epoch's mean loss
    per example, and each metric ``evaluate()`` returns (for example validation accuracy) is
    recorded once per epoch. The epoch's loss weights each batch by its size: 5,000 examples in
    batches of 64 leave a last batch of 8, which must count an eighth as much as a full one, not
    as much. The shuffling is seeded, so the same call gives the same history.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rng = np.random.default_rng(seed)
    history = History()
    batches_per_epoch = int(np.ceil(n_examples / batch_size))
    bar = progress(desc=desc, total=epochs * batches_per_epoch, enabled=show_progress)
    for _ in range(epochs):
        epoch_losses, batch_sizes = [], []
        for indices in minibatches(n_examples, batch_size, rng):
            loss = _as_loss(train_step(indices))
            bar.update(1)
            if not np.isfinite(loss):
                bar.close()
                raise FloatingPointError(
                    f"The loss became {loss} at step {len(history.records['batch_loss']) + 1}: "
                    "training diverged. Lower the learning rate or clip the gradients."
                )
            history.log(batch_loss=loss)
            epoch_losses.append(loss)
            batch_sizes.append(len(indices))
        history.log(loss=np.average(epoch_losses, weights=batch_sizes))
        if evaluate is not None:
            history.log(**evaluate())
        bar.set_postfix({name: f"{values[-1]:.4g}" for name, values in history.records.items()
                         if name != "batch_loss"}, refresh=False)
    bar.close()
    return history


def _as_loss(value: Any) -> float:
    """The batch loss a ``train_step`` returned, as a float: a number, or a one-element Tensor or
    array (``float`` reads both); anything else is a mistake in the step, said so."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"train_step must return the batch loss as one number (e.g. loss.item()), got "
            f"{type(value).__name__}{' (did it forget to return?)' if value is None else ''}"
        ) from None


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose highest score is at the true label (scores: (N, classes))."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.ndim != 2 or labels.shape != (len(scores),):
        raise ValueError(
            f"accuracy expects scores of shape (N, classes) and labels of shape (N,), got "
            f"{scores.shape} and {labels.shape}; flatten column labels with labels.reshape(-1)"
        )
    return float(np.mean(scores.argmax(axis=1) == labels))


def manual_step(
    model: Any,
    loss: Any,
    optimizer: Optimizer,
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    clip_value: float | None = None,
    clip_norm: float | None = None,
    log: History | None = None,
) -> Callable[[np.ndarray], float]:
    """Build the ``train_step`` that ``fit`` calls, for a ManualGrad model (``backprop.manual``).

    One step on the mini-batch ``inputs[indices]``, ``targets[indices]``: forward through
    ``model``, ``loss.forward``, then the chain rule backwards (``model.backward(loss.backward())``
    leaves every parameter's ``.grad`` set), optional clipping, one ``optimizer.step()``. It
    returns the batch loss, measured before the update.

    - ``clip_value``: clip every gradient element into [-clip_value, clip_value] first;
    - ``clip_norm``: then scale all gradients together so their joint norm is at most clip_norm;
    - ``log``: a ``History`` that records, every step, ``grad_norm``, the joint gradient norm
      before clipping: the number to watch when training stalls or explodes.

    ManualGrad layers *set* their gradients on each backward instead of adding to them, so no
    ``zero_grad()`` is needed between steps.
    """
    parameters = model.parameters()

    def train_step(indices: np.ndarray) -> float:
        value = loss.forward(model.forward(inputs[indices]), targets[indices])
        model.backward(loss.backward())
        _clip_and_step(parameters, optimizer, clip_value, clip_norm, log)
        return value

    return train_step


def _clip_and_step(
    parameters: list[Any],
    optimizer: Optimizer,
    clip_value: float | None,
    clip_norm: float | None,
    log: History | None,
) -> None:
    """The end of every training step, whatever computed the gradients: record their joint
    norm, clip by value, then by norm, then update the parameters."""
    if log is not None:
        log.log(grad_norm=_joint_norm(parameters))
    if clip_value is not None:
        clip_grad_value_(parameters, clip_value)
    if clip_norm is not None:
        clip_grad_norm_(parameters, clip_norm)
    optimizer.step()


def _joint_norm(parameters: Iterable[Any]) -> float:
    """The L2 norm of all gradients taken together, as one long vector.

    ``np.vdot(g, g)`` is g's sum of squares in one call, without the temporary array ``g**2``:
    this runs on every logged step, and for a small network the calls are what costs.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))


def autograd_step(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    optimizer: Optimizer,
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    clip_value: float | None = None,
    clip_norm: float | None = None,
    log: History | None = None,
) -> Callable[[np.ndarray], float]:
    """Build the ``train_step`` that ``fit`` calls, for an autograd model (``backprop.nn``).

    The autograd twin of ``manual_step``, with the same options: one step on the mini-batch
    ``inputs[indices]``, ``targets[indices]`` is ``optimizer.zero_grad()``, the forward pass,
    ``loss = loss_fn(model(x), y)`` (e.g. ``backprop.functional.mse_loss``),
    ``loss.backward()``, optional clipping, ``optimizer.step()``. It returns the batch loss,
    measured before the update.

    Unlike ManualGrad's layers, autograd ADDS each backward's gradients to ``.grad`` (like
    PyTorch), so the step must clear them first: without ``zero_grad()`` every update would use
    the sum of all gradients so far. Inputs and targets enter the graph as constants.
    """
    from backprop.autograd import Tensor  # imported here: the loop itself needs no autograd

    parameters = model.parameters()

    def train_step(indices: np.ndarray) -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(Tensor(inputs[indices])), Tensor(targets[indices]))
        loss.backward()
        _clip_and_step(parameters, optimizer, clip_value, clip_norm, log)
        return loss.item()

    return train_step
