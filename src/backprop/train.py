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

import numpy as np
from tqdm.std import tqdm


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


def progress(
    iterable: Iterable | None = None, desc: str = "", total: int | None = None, enabled: bool = True
) -> tqdm:
    """A text progress bar on standard output (plain text renders the same in Jupyter and on
    the static site, where a widget would not)."""
    return tqdm(
        iterable, desc=desc, total=total, disable=not enabled, file=sys.stdout,
        ncols=90, ascii=True, mininterval=0.5,
    )


def minibatches(n_examples: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield index arrays that visit ``range(n_examples)`` once, in a fresh random order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = rng.permutation(n_examples)
    for start in range(0, n_examples, batch_size):
        yield order[start : start + batch_size]


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

    ``history["batch_loss"]`` holds every step's loss, ``history["loss"]`` each epoch's mean, and
    each metric ``evaluate()`` returns (for example test accuracy) is recorded once per epoch.
    The shuffling is seeded, so the same call gives the same history.
    """
    rng = np.random.default_rng(seed)
    history = History()
    batches_per_epoch = int(np.ceil(n_examples / batch_size))
    bar = progress(desc=desc, total=epochs * batches_per_epoch, enabled=show_progress)
    for _ in range(epochs):
        epoch_losses = []
        for indices in minibatches(n_examples, batch_size, rng):
            loss = float(train_step(indices))
            bar.update(1)
            if not np.isfinite(loss):
                bar.close()
                raise FloatingPointError(
                    f"The loss became {loss} at step {len(history.records['batch_loss']) + 1}: "
                    "training diverged. Lower the learning rate or clip the gradients."
                )
            history.log(batch_loss=loss)
            epoch_losses.append(loss)
        history.log(loss=np.mean(epoch_losses))
        if evaluate is not None:
            history.log(**evaluate())
        bar.set_postfix({name: f"{values[-1]:.4g}" for name, values in history.records.items()
                         if name != "batch_loss"}, refresh=False)
    bar.close()
    return history


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose highest score is at the true label (scores: (N, classes))."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(
            f"accuracy expects scores of shape (N, classes) and N labels, got {scores.shape} "
            f"and {labels.shape}"
        )
    return float(np.mean(scores.argmax(axis=1) == labels))
