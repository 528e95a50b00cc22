"""Time one training epoch of the course's MLP: the engine, its floors and PyTorch, in one run.

    BACKPROP_MNIST_DIR=... BACKPROP_FASHION_MNIST_DIR=... .venv/bin/python benchmarks/mlp_epoch.py

Every column trains chapter 7's 784-128-64-10 ReLU MLP (cross-entropy, lr 0.05) from the same
initial weights over the same shuffled mini-batches, for batch 64 and 256, float32 and float64,
on the 5,000-image MNIST subset and on a full 60,000-image Fashion-MNIST epoch:

- engine        ``backprop.nn`` + autograd + ``optim.SGD`` (momentum 0.9), one BLAS thread;
- plain         the same with the engine's speed paths off (``autograd.fast_paths(False)``);
- old           with ``--baseline COMMIT``: the engine of that commit, extracted with
                ``git archive`` and imported beside today's (e.g. 5fe09c2, before issue 21);
- manual        ManualGrad (``backprop.manual``, hand-written backward), same optimiser;
- numpy         a bare hand-written NumPy step: forward, backward, plain SGD (no momentum);
- matmul        the step's eight matrix products alone: the floor no NumPy code can go below;
- torch 1       the same model and loop in PyTorch, ``torch.set_num_threads(1)``;
- engine N, torch N: both with their default thread counts (all cores).

The columns are timed in turn, epoch by epoch, ``--repeats`` times (each round starting at
the next column), so a busy machine slows them alike (after a few untimed warm-up steps); each column's fastest epoch is kept (the
median-based ratio is printed too). ratio = seconds /
PyTorch's seconds with the same thread count; below 1 the library is faster. Finally both
sides train ``--epochs`` epochs on Fashion-MNIST from the same start and report test accuracy.

``--columns`` times only some columns (``engine 1`` and ``torch 1`` always).

Not a test: `make test` does not run it. It needs PyTorch (`pip install torch==2.13.0`).
"""

from __future__ import annotations

import argparse
import importlib
import io
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from backprop import manual, nn, optim
from backprop.autograd import Tensor, fast_paths, no_grad
from backprop.data import load_fashion_mnist, load_mnist
from backprop.train import minibatches

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("benchmarks/mlp_epoch.py compares the library with PyTorch, which is not installed.\n"
             "Install it first: .venv/bin/python -m pip install torch==2.13.0")

LR, MOMENTUM, SEED = 0.05, 0.9, 0
DEFAULT_THREADS = torch.get_num_threads()


def initial_weights() -> list[np.ndarray]:
    """W1, b1, W2, b2, W3, b3 in float64, as ``backprop.nn.Linear`` draws them from SEED."""
    rng = np.random.default_rng(SEED)
    layers = [nn.Linear(784, 128, rng=rng), nn.Linear(128, 64, rng=rng), nn.Linear(64, 10, rng=rng)]
    return [p.data.copy() for layer in layers for p in (layer.weight, layer.bias)]


# --- one epoch of each column: build from `weights`, train over `batches`, return the model ----
def engine_model(weights: list[np.ndarray], dtype: type, nn: ModuleType = nn) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    for parameter, values in zip(model.parameters(), weights):
        parameter.data = values.astype(dtype)
    return model


def engine_epoch(model: nn.Sequential, inputs: Tensor, y: np.ndarray, batches,
                 nn: ModuleType = nn, optim: ModuleType = optim) -> float:
    """The loop a learner writes, the same as PyTorch's below.

    ``inputs`` is the whole training set as one Tensor, made once before training, as a training
    script does. (``Tensor(x)`` copies, like ``torch.tensor``: 31 MB for MNIST-5k in float64, 3 ms,
    which the first version of this benchmark paid again every epoch. PyTorch's loop takes the
    array through ``torch.from_numpy``, which copies nothing.)
    """
    optimizer = optim.SGD(model.parameters(), LR, MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    for indices in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs[indices]), y[indices])
        loss.backward()
        optimizer.step()
    return loss.item()


def manual_epoch(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, batches) -> float:
    model = manual.Sequential(manual.Linear(784, 128), manual.ReLU(), manual.Linear(128, 64),
                              manual.ReLU(), manual.Linear(64, 10))
    for parameter, values in zip(model.parameters(), weights):
        parameter.data = values.astype(x.dtype)
    optimizer, loss_fn = optim.SGD(model.parameters(), LR, MOMENTUM), manual.SoftmaxCrossEntropy()
    for indices in batches:
        loss = loss_fn.forward(model.forward(x[indices]), y[indices])
        model.backward(loss_fn.backward())
        optimizer.step()
    return loss


def numpy_epoch(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, batches) -> float:
    """Forward, the backward chapter 7 derives, plain SGD: no graph, no objects, no momentum."""
    w1, b1, w2, b2, w3, b3 = (w.astype(x.dtype) for w in weights)
    for indices in batches:
        xb, yb = x[indices], y[indices]
        h1 = np.maximum(xb @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        z = h2 @ w3.T + b3
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(yb)), yb]).mean()
        p[np.arange(len(yb)), yb] -= 1
        g3 = p / len(yb)
        g2 = (g3 @ w3) * (h2 > 0)
        g1 = (g2 @ w2) * (h1 > 0)
        for w, b, g, a in ((w3, b3, g3, h2), (w2, b2, g2, h1), (w1, b1, g1, xb)):
            w -= LR * (g.T @ a)
            b -= LR * g.sum(axis=0)
    return float(loss)


def matmul_epoch(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, batches) -> float:
    """Only the step's matrix products, on arrays of the right shapes: 3 forward, 5 backward."""
    w1, _, w2, _, w3, _ = (w.astype(x.dtype) for w in weights)
    rng = np.random.default_rng(SEED)
    made = {}  # activations and gradients of each batch size, made once, outside the timing
    for n in {len(indices) for indices in batches}:
        made[n] = [rng.random((n, width)).astype(x.dtype) for width in (128, 64, 128, 64, 10)]
    for indices in batches:
        xb = x[indices]
        h1, h2, g1, g2, g3 = made[len(xb)]
        xb @ w1.T, h1 @ w2.T, h2 @ w3.T  # noqa: B018 (the forward products)
        g3.T @ h2, g3 @ w3, g2.T @ h1, g2 @ w2, g1.T @ xb  # noqa: B018 (the backward products)
    return 0.0


def torch_model(weights: list[np.ndarray], dtype: torch.dtype) -> torch.nn.Sequential:
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    with torch.no_grad():
        for parameter, values in zip(model.parameters(), weights):
            parameter.copy_(torch.from_numpy(values))
    return model.to(dtype)


def torch_epoch(model: torch.nn.Sequential, x: np.ndarray, y: np.ndarray, batches) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn, inputs, targets = torch.nn.CrossEntropyLoss(), torch.from_numpy(x), torch.from_numpy(y)
    for indices in batches:
        index = torch.from_numpy(indices)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs[index]), targets[index])
        loss.backward()
        optimizer.step()
    return loss.item()


def load_baseline(commit: str) -> dict[str, ModuleType]:
    """The library as it was at ``commit``, importable beside today's as ``backprop_baseline``.

    ``git archive`` extracts its ``src/backprop`` into a temporary folder, where every import of
    ``backprop`` is renamed; returns its ``nn``, ``optim`` and ``autograd`` modules.
    """
    repository = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", commit, "src/backprop"], cwd=repository,
                             capture_output=True, check=True).stdout
    root = Path(tempfile.mkdtemp(prefix="backprop_baseline_"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    package = root / "backprop_baseline"
    (root / "src" / "backprop").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bbackprop(?=\.|\s+import)", "backprop_baseline", text))
    sys.path.insert(0, str(root))
    return {name: importlib.import_module(f"backprop_baseline.{name}")
            for name in ("nn", "optim", "autograd")}


BASELINE: dict[str, ModuleType] = {}  # filled by --baseline
ALL_COLUMNS = ["engine 1", "plain 1", "old 1", "manual 1", "numpy 1", "matmul 1", "torch 1",
               "engine N", "torch N"]
COLUMNS: list[str] = list(ALL_COLUMNS)


def columns(weights: list[np.ndarray], x: np.ndarray) -> dict[str, Callable]:
    """Each column as (x, y, batches) -> last loss, with its thread settings applied inside.

    The engine's columns train on ``x`` made a Tensor here, once, outside the timed epochs.
    "plain 1" is the engine with its speed paths off (``autograd.fast_paths(False)``), and
    "old 1" the engine of the ``--baseline`` commit.
    """
    dtype = x.dtype.type
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    inputs = Tensor(x)

    def one_thread(run):
        def timed(*args):
            torch.set_num_threads(1)
            with threadpool_limits(1, user_api="blas"):
                return run(*args)
        return timed

    def all_threads(run):
        def timed(*args):
            torch.set_num_threads(DEFAULT_THREADS)
            return run(*args)
        return timed

    def engine_run(_x: np.ndarray, y: np.ndarray, batches) -> float:  # _x: the numbers in inputs
        return engine_epoch(engine_model(weights, dtype), inputs, y, batches)

    def plain_run(*args) -> float:
        with fast_paths(False):
            return engine_run(*args)

    found = {
        "engine 1": one_thread(engine_run),
        "plain 1": one_thread(plain_run),
        "manual 1": one_thread(lambda *a: manual_epoch(weights, *a)),
        "numpy 1": one_thread(lambda *a: numpy_epoch(weights, *a)),
        "matmul 1": one_thread(lambda *a: matmul_epoch(weights, *a)),
        "torch 1": one_thread(lambda *a: torch_epoch(torch_model(weights, torch_dtype), *a)),
        "engine N": all_threads(engine_run),
        "torch N": all_threads(lambda *a: torch_epoch(torch_model(weights, torch_dtype), *a)),
    }
    if BASELINE:
        old_inputs = BASELINE["autograd"].Tensor(x)

        def old_run(_x: np.ndarray, y: np.ndarray, batches) -> float:
            model = engine_model(weights, dtype, BASELINE["nn"])
            return engine_epoch(model, old_inputs, y, batches, BASELINE["nn"], BASELINE["optim"])

        found["old 1"] = one_thread(old_run)
    return {name: run for name, run in found.items() if name in COLUMNS}


def measure(x: np.ndarray, y: np.ndarray, batch: int, dtype: type, repeats: int) -> dict:
    """Seconds per epoch of every column, interleaved; and the engine's and PyTorch's last loss."""
    x = x.astype(dtype)
    batches = list(minibatches(len(x), batch, np.random.default_rng(SEED)))
    runs = columns(initial_weights(), x)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    # Warm-up, untimed; and a check that the engine and PyTorch train the same model: after 5
    # steps their losses agree to rounding. (Not after a whole epoch: rounding differences
    # between two BLAS libraries grow over hundreds of steps, most of all in float32.)
    warm_up = {name: run(x, y, batches[:5]) for name, run in runs.items()}
    tolerance = 1e-9 if dtype == np.float64 else 1e-4
    if not np.isclose(warm_up["engine 1"], warm_up["torch 1"], rtol=tolerance):
        sys.exit(f"after 5 steps the losses differ ({warm_up['engine 1']} vs "
                 f"{warm_up['torch 1']}): the engine and PyTorch did not train the same model")
    names = list(runs)
    for round_ in range(repeats):
        # each round starts at the next column: a column that follows another (whose caches
        # and allocations it inherits) does not always follow the same one
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            runs[name](x, y, batches)
            seconds[name].append(time.perf_counter() - start)
    torch.set_num_threads(DEFAULT_THREADS)
    return seconds


def report(title: str, x: np.ndarray, y: np.ndarray, repeats: int) -> None:
    print(f"\n{title}: {len(x):,} training images, {repeats} interleaved runs per column; "
          "seconds per epoch (fastest run), ratio = / PyTorch with the same threads "
          "(median-based ratio in brackets)")
    names = [n for n in ALL_COLUMNS if n in COLUMNS and (n != "old 1" or BASELINE)]
    ratios = [n for n in names if not n.startswith("torch")]
    print(f"{'batch':>5} {'dtype':>7} " + " ".join(f"{n:>9}" for n in names)
          + "   " + "  ".join(f"{n.split()[0] + ' ' + n.split()[1]:>13}" for n in ratios))
    for batch in (64, 256):
        for dtype in (np.float32, np.float64):
            s = measure(x, y, batch, dtype, repeats)
            best = {n: min(v) for n, v in s.items()}
            median = {n: statistics.median(v) for n, v in s.items()}
            cells = []
            for n in ratios:
                torch_name = "torch N" if n.endswith("N") else "torch 1"
                cells.append(f"{best[n] / best[torch_name]:5.2f} ({median[n] / median[torch_name]:4.2f})")
            print(f"{batch:>5} {np.dtype(dtype).name:>7} "
                  + " ".join(f"{best[n]:9.3f}" for n in names) + "   "
                  + "  ".join(f"{c:>13}" for c in cells), flush=True)


def accuracies(data: tuple, epochs: int, dtype: type) -> tuple[float, float]:
    """Test accuracy of the engine and of PyTorch after ``epochs`` epochs from the same start."""
    x_train, y_train, x_test, y_test = (a.astype(dtype) if a.dtype.kind == "f" else a for a in data)
    weights = initial_weights()
    ours = engine_model(weights, dtype)
    theirs = torch_model(weights, torch.float32 if dtype == np.float32 else torch.float64)
    inputs = Tensor(x_train)
    for epoch in range(epochs):
        batches = list(minibatches(len(x_train), 64, np.random.default_rng(SEED + epoch)))
        engine_epoch(ours, inputs, y_train, batches)
        torch_epoch(theirs, x_train, y_train, batches)
    with no_grad():
        our_accuracy = float(np.mean(ours(Tensor(x_test)).argmax(axis=1) == y_test))
    with torch.no_grad():
        scores = theirs(torch.from_numpy(x_test)).numpy()
    return our_accuracy, float(np.mean(scores.argmax(axis=1) == y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="runs per column, MNIST-5k")
    parser.add_argument("--fashion-repeats", type=int, default=3, help="runs per column, Fashion")
    parser.add_argument("--epochs", type=int, default=5, help="Fashion epochs for the accuracy")
    parser.add_argument("--skip-fashion", action="store_true", help="time MNIST only")
    parser.add_argument("--skip-mnist", action="store_true", help="Fashion-MNIST only")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="add a column 'old 1': the engine at this git commit")
    parser.add_argument("--columns", default=",".join(ALL_COLUMNS),
                        help="the columns to time, comma-separated (default: all); "
                             "'engine 1' and 'torch 1' are always timed")
    args = parser.parse_args()
    COLUMNS[:] = sorted({*args.columns.split(","), "engine 1", "torch 1"}
                        | ({"old 1"} if args.baseline else set()), key=ALL_COLUMNS.index)
    if args.baseline:
        BASELINE.update(load_baseline(args.baseline))

    blas = next((pool for pool in threadpool_info() if pool["user_api"] == "blas"), {})
    print(f"{platform.machine()}, NumPy {np.__version__} ({blas.get('internal_api', '?')} "
          f"{blas.get('architecture', '')}, {blas.get('num_threads', '?')} threads by default), "
          f"PyTorch {torch.__version__} ({DEFAULT_THREADS} threads by default)")
    if not args.skip_mnist:
        x, y, _, _ = load_mnist(verbose=False)
        report("MNIST", x, y, args.repeats)
    if args.skip_fashion:
        return
    fashion = load_fashion_mnist(verbose=False)
    report("Fashion-MNIST", fashion[0], fashion[1], args.fashion_repeats)
    print(f"\nFashion-MNIST test accuracy after {args.epochs} epochs (batch 64, SGD momentum 0.9, "
          "lr 0.05), both from the same initial weights and batches:")
    for dtype in (np.float32, np.float64):
        ours, theirs = accuracies(fashion, args.epochs, dtype)
        print(f"  {np.dtype(dtype).name}: engine {ours:.2%}, PyTorch {theirs:.2%}", flush=True)


if __name__ == "__main__":
    main()
