"""Time one training epoch of the course's MLP against the same model in PyTorch, in one run.

    BACKPROP_MNIST_DIR=/path/to/mnist .venv/bin/python benchmarks/mlp_epoch.py [--repeats 2]

Both sides train the 784-128-64-10 ReLU MLP with SGD (momentum 0.9, lr 0.05) and cross-entropy,
from the same initial weights, on the same mini-batches of 64 (the same shuffled order), in
float64 and in float32. PyTorch runs with one thread (like NumPy's element-wise code; its matrix
products may use more) and with its default thread count. Each epoch is timed `--repeats` times
and the fastest run is kept. The ratio library / PyTorch says how many times slower the
NumPy engine is; absolute seconds depend on the machine, ratios much less.

Not a test: `make test` does not run it. It needs PyTorch (`pip install torch`).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

# One BLAS thread for NumPy, like PyTorch's one-thread column: a like-for-like comparison that
# also keeps the numbers steady on a busy machine. Set OPENBLAS_NUM_THREADS yourself to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings, which NumPy reads on import)

from backprop import functional as F  # noqa: E402
from backprop import nn, optim  # noqa: E402
from backprop.data import load_mnist  # noqa: E402
from backprop.train import autograd_step, minibatches  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit(
        "benchmarks/mlp_epoch.py compares the library with PyTorch, which is not installed.\n"
        "Install it into the course's environment first: .venv/bin/pip install torch"
    )

BATCH, LR, MOMENTUM, SEED = 64, 0.05, 0.9, 0


def library_mlp(dtype: np.dtype) -> nn.Sequential:
    rng = np.random.default_rng(SEED)
    model = nn.Sequential(
        nn.Linear(784, 128, rng=rng), nn.ReLU(),
        nn.Linear(128, 64, rng=rng), nn.ReLU(),
        nn.Linear(64, 10, rng=rng),
    )
    for parameter in model.parameters():
        parameter.data = parameter.data.astype(dtype)
    return model


def torch_mlp(source: nn.Sequential, dtype: torch.dtype) -> torch.nn.Sequential:
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    ).to(dtype)
    with torch.no_grad():
        for ours, theirs in zip(source.parameters(), model.parameters()):
            theirs.copy_(torch.from_numpy(np.array(ours.data)))
    return model


def batches(n: int) -> list[np.ndarray]:
    return list(minibatches(n, BATCH, np.random.default_rng(SEED)))


def time_library_epoch(x: np.ndarray, y: np.ndarray, dtype: np.dtype) -> tuple[float, float]:
    """Seconds for one epoch, and the last batch loss (a sanity check that both sides learn)."""
    model = library_mlp(dtype)
    step = autograd_step(model, F.cross_entropy, optim.SGD(model.parameters(), LR, MOMENTUM), x, y)
    start = time.perf_counter()
    for indices in batches(len(x)):
        loss = step(indices)
    return time.perf_counter() - start, loss


def time_torch_epoch(x: np.ndarray, y: np.ndarray, dtype: torch.dtype) -> tuple[float, float]:
    model = torch_mlp(library_mlp(np.float64), dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    inputs, targets = torch.from_numpy(x).to(dtype), torch.from_numpy(y)
    start = time.perf_counter()
    for indices in batches(len(x)):
        index = torch.from_numpy(indices)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs[index]), targets[index])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, loss.item()


def best_of(repeats: int, run) -> tuple[float, float]:
    results = [run() for _ in range(repeats)]
    return min(seconds for seconds, _ in results), results[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="epochs timed per setting")
    args = parser.parse_args()

    x_train, y_train, _, _ = load_mnist()
    default_threads = torch.get_num_threads()
    print(f"one epoch = {len(x_train):,} examples in batches of {BATCH}; "
          f"{platform.processor() or platform.machine()}, NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}, {default_threads} default threads")
    print(f"{'dtype':8} {'library s':>10} {'torch 1 thr s':>14} {'ratio':>7} "
          f"{'torch ' + str(default_threads) + ' thr s':>14} {'ratio':>7}")
    for np_dtype, torch_dtype in [(np.float64, torch.float64), (np.float32, torch.float32)]:
        x = x_train.astype(np_dtype)
        ours, our_loss = best_of(args.repeats, lambda: time_library_epoch(x, y_train, np_dtype))
        torch.set_num_threads(1)
        single, their_loss = best_of(
            args.repeats, lambda: time_torch_epoch(x, y_train, torch_dtype))
        torch.set_num_threads(default_threads)
        multi, _ = best_of(args.repeats, lambda: time_torch_epoch(x, y_train, torch_dtype))
        name = np.dtype(np_dtype).name
        print(f"{name:8} {ours:10.3f} {single:14.3f} {ours / single:7.2f} "
              f"{multi:14.3f} {ours / multi:7.2f}")
        if not np.isclose(our_loss, their_loss, rtol=1e-3, atol=1e-4):
            sys.exit(f"{name}: the last batch losses differ ({our_loss} vs {their_loss}): "
                     "the two models did not train the same way")
    print("ratio = library seconds / PyTorch seconds for the same epoch (higher = library slower)")


if __name__ == "__main__":
    main()
