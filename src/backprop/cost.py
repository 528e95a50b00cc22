"""What backpropagation costs: the work it does, the memory it keeps, the time it takes.

- Work: ``predicted_multiply_adds`` counts, on paper, the multiply-adds of an MLP's
  forward and backward matrix products; ``counted_multiply_adds`` counts those the
  engine recorded, and ``observed_multiply_adds`` runs ``backward()`` and counts the
  products it really computes.
- Memory: ``graph_memory`` counts what a recorded graph really keeps (values, and after
  ``backward`` the gradients of intermediates and parameters); ``optimizer_memory`` what
  an optimiser keeps between steps (its state and its scratch arrays); ``traced_bytes``
  measures, instead of counting, what a function leaves allocated and its peak.
- Time: ``fastest_seconds`` (the chapter's timer), ``median_seconds``,
  ``time_forward_backward`` and ``power_law_exponent``; ``profile`` says which functions
  the time went to.
- The trade: ``checkpoint`` keeps a segment's input only and recomputes its inside
  during backward.

Reverse mode gets every gradient in one backward sweep, but the sweep runs *after* the
forward pass and needs the forward pass's intermediate results: a Linear layer's weight
gradient is G^T X, so X must still be there when G arrives. The engine keeps them by
keeping the graph, and ``graph_memory`` counts exactly what that graph holds, by walking
it from the loss.

Arrays that share memory (``W.T`` is a view of ``W``) are counted once, by the buffer
they view. Each op's backward function may hold a little more (ReLU's gradient reads its
input, which is already counted; indexing keeps its index array), so the count is what
the graph's tensors hold, not every byte of the process.
"""

from __future__ import annotations

import cProfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop.autograd import Tensor, no_grad, nodes, watch_backward
from backprop.nn import Module, Sequential

__all__ = [
    "GraphMemory",
    "graph_memory",
    "optimizer_state_bytes",
    "optimizer_memory",
    "Traced",
    "traced_bytes",
    "predicted_multiply_adds",
    "counted_multiply_adds",
    "observed_multiply_adds",
    "ProfileRow",
    "profile",
    "checkpoint",
    "Checkpointed",
    "checkpoint_every",
    "median_seconds",
    "fastest_seconds",
    "power_law_exponent",
    "time_forward_backward",
]


@dataclass(frozen=True)
class GraphMemory:
    """Bytes held by a recorded graph, split by role.

    - ``activations``: results of operations (the tensors with inputs), kept for
      backward;
    - ``inputs``: leaves that need no gradient (the data batch, targets, constants);
    - ``parameters``: leaves with ``requires_grad=True`` (weights and biases);
    - ``tensors``: how many distinct tensors the graph holds;
    - ``intermediate_grads``: ``.grad`` arrays held by results of operations (after
      backward);
    - ``parameter_grads``: ``.grad`` arrays held by the parameters (after backward).
    """

    activations: int
    inputs: int
    parameters: int
    tensors: int
    intermediate_grads: int = 0
    parameter_grads: int = 0

    @property
    def saved_for_backward(self) -> int:
        """Activations plus inputs: what exists only because a backward may follow."""
        return self.activations + self.inputs


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``array`` looks at (itself, unless a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def graph_memory(root: Any) -> GraphMemory:
    """Walk the graph that computed ``root`` and sum the bytes its tensors hold.

    Every buffer is counted once, under the first role that claims it: parameters first,
    so ``W.T`` (a view of ``W``) costs nothing extra, then inputs, then activations.
    """
    tensors = nodes(root, constants=True)
    roles: dict[str, list[Any]] = {"parameters": [], "inputs": [], "activations": []}
    for tensor in tensors:
        if tensor.inputs:
            roles["activations"].append(tensor)
        elif tensor.requires_grad:
            roles["parameters"].append(tensor)
        else:
            roles["inputs"].append(tensor)
    counted: set[int] = set()
    totals: dict[str, int] = {}
    for role in ("parameters", "inputs", "activations"):
        totals[role] = 0
        for tensor in roles[role]:
            owner = _owner(tensor.data)
            if id(owner) not in counted:
                counted.add(id(owner))
                totals[role] += owner.nbytes
    grads = {"intermediate_grads": 0, "parameter_grads": 0}
    for tensor in tensors:
        if tensor.grad is not None:
            kind = "intermediate_grads" if tensor.inputs else "parameter_grads"
            grads[kind] += tensor.grad.nbytes
    return GraphMemory(tensors=len(tensors), **totals, **grads)


def optimizer_memory(optimizer: Any) -> dict[str, int]:
    """Bytes an optimiser keeps between steps, in two kinds.

    - ``"state"``: what its update rule carries from one step to the next: SGD's
      momentum buffers, Adam's running means m and v;
    - ``"scratch"``: work arrays made once and reused every step instead of a new array
      per step (``optim.Optimizer._scratch``): memory kept for speed, not for the rule.
      SGD uses one per parameter for ``lr * d``, Adam one for its denominator.
    """
    arrays = []
    for name in ("momentum_buffers", "first_moments", "second_moments"):
        arrays += [a for a in getattr(optimizer, name, []) if a is not None]
    scratch = getattr(optimizer, "_scratch_arrays", {}).values()
    return {"state": int(sum(a.nbytes for a in arrays)),
            "scratch": int(sum(a.nbytes for a in scratch))}


def optimizer_state_bytes(optimizer: Any) -> int:
    """Bytes of an optimiser's state alone (momentum buffers, Adam's m and v); its
    scratch arrays come on top: ``optimizer_memory`` counts both."""
    return optimizer_memory(optimizer)["state"]


@dataclass(frozen=True)
class Traced:
    """Bytes measured around one call by ``traced_bytes``, beyond those held before."""

    held: int  # still allocated when the call returned (what its result keeps)
    peak: int  # the most allocated at once during the call


def traced_bytes(function: Callable[[], Any]) -> tuple[Any, Traced]:
    """Run ``function()`` under Python's ``tracemalloc`` and return its result and the
    bytes it allocated: still held at the end, and at the peak.

    A measurement, not a count: ``tracemalloc`` sees every allocation Python and NumPy
    make (arrays, and the Python objects around them: tensors, closures, lists),
    including the temporary arrays an operation makes and drops. Keep the result alive
    (it is returned) so that what it holds is counted in ``held``. BLAS's own work
    buffers are not seen.
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = function()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return result, Traced(held=now - before, peak=peak - before)


def predicted_multiply_adds(sizes: list[int], batch: int = 1) -> dict[str, int]:
    """Multiply-adds of an MLP's matrix products, for ``sizes`` and ``batch`` examples.

    Forward, layer k does X W^T: batch * n_in * n_out. Backward, each layer does the
    same number for its weight gradient G^T X, and again for its input gradient G W,
    except the first layer, whose input (the data) needs no gradient. Biases, ReLUs and
    the loss add a few operations per layer output only (for 784-128-64-10, 202 outputs
    per example against 109,184 multiply-adds: under one per cent) and are not counted.
    """
    layers = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    forward = batch * sum(layers)
    weight_grads = forward
    input_grads = batch * sum(layers[1:])
    return {"forward": forward, "backward_weights": weight_grads,
            "backward_inputs": input_grads, "backward": weight_grads + input_grads}


def counted_multiply_adds(root: Any) -> dict[str, int]:
    """Multiply-adds of every matrix product recorded in the graph of ``root``.

    A product (m, k) @ (k, n) costs m k n forward; its backward computes G B^T only if
    the left operand requires a gradient and A^T G only if the right one does, each m k
    n again (that is what ``Tensor.__matmul__``'s backward does).
    """
    forward = backward = 0
    for tensor in nodes(root, constants=True):
        if tensor.op not in ("@", "linear"):  # linear: x @ W.T + b as one op
            continue
        left, right = tensor.inputs[:2]
        work = int(tensor.data.size * left.shape[-1])
        forward += work
        backward += work * (int(left.requires_grad) + int(right.requires_grad))
    return {"forward": forward, "backward": backward}


class _CountedGradient(np.ndarray):
    """A gradient that notes the size of every matrix product it takes part in.

    NumPy hands any ufunc with such an operand (``g @ b``, ``a.T @ g``) to
    ``__array_ufunc__``; it computes the plain result, and for ``matmul`` adds m k n
    multiply-adds to ``log``.
    """

    log: list[int]

    def __array_finalize__(self, obj: Any) -> None:  # views (reshape, ...) keep the log
        self.log = getattr(obj, "log", [])

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any
                        ) -> Any:
        plain = [np.asarray(a) if isinstance(a, _CountedGradient) else a
                 for a in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        if ufunc is np.matmul and method == "__call__":
            left, right = (np.atleast_2d(a) for a in plain[:2])
            work = left.shape[-1] * int(np.prod(np.broadcast_shapes(
                left.shape[:-1] + (1,), right.shape[:-2] + (1, right.shape[-1]))))
            for operand in inputs:
                if isinstance(operand, _CountedGradient):
                    operand.log.append(work)
                    break
        return result


def observed_multiply_adds(root: Any) -> dict[str, int]:
    """Run ``root.backward()`` and count the multiply-adds of the products it computes.

    Forward: the products recorded in the graph (as ``counted_multiply_adds``).
    Backward: not a count by rule but an observation. For the duration of the call every
    node's backward receives its gradient as an array that logs each matrix product it
    enters; whatever the closures really compute with it is what gets counted. The
    gradients come out unchanged.
    """
    log: list[int] = []

    def observing(node: Any, grad: np.ndarray, backward_fn: Callable) -> None:
        counted = np.asarray(grad).view(_CountedGradient)
        counted.log = log
        backward_fn(counted)

    with watch_backward(observing):
        root.backward()
    forward = counted_multiply_adds(root)["forward"]
    return {"forward": forward, "backward": int(sum(log))}


def checkpoint(segment: Any, x: Any) -> Any:
    """Run ``segment`` (a ``backprop.nn`` module) on ``x`` without keeping its inside.

    Forward runs under ``no_grad()``: nothing inside the segment is recorded, only its
    input and output. Backward recomputes the segment from the kept input, with
    recording on, and backpropagates through that fresh graph: the parameters inside
    receive their gradients and ``x`` receives dL/dx. Memory falls to the segment
    boundaries; time rises by one more forward pass through the segment.
    """
    with no_grad():
        out_data = segment(Tensor(x.data)).data
    parameters = list(segment.parameters())
    out = Tensor(out_data, inputs=(x, *parameters), op="checkpoint")

    def backward(grad: np.ndarray) -> None:
        start = Tensor(x.data, requires_grad=x.requires_grad)
        segment(start).backward(grad)  # recompute, then backpropagate through it
        if x.requires_grad:
            x.add_grad(start.grad)

    out.backward_fn = backward
    return out


class Checkpointed(Module):
    """A module whose ``forward`` is ``checkpoint(segment, x)``, for a Sequential."""

    def __init__(self, segment: Any) -> None:
        self.segment = segment

    def forward(self, x: Any) -> Any:
        return checkpoint(self.segment, x)

    def __repr__(self) -> str:
        return f"Checkpointed({self.segment!r})"


def checkpoint_every(model: Any, modules_per_segment: int) -> Any:
    """The modules of ``model`` (an ``nn.Sequential``) regrouped into checkpointed
    segments of ``modules_per_segment`` modules each. The layers are shared, not copied:
    the new model has the same parameters and computes the same function, keeping only
    the segment boundaries."""
    modules = list(model)
    size = modules_per_segment
    return Sequential(*[Checkpointed(Sequential(*modules[start:start + size]))
                        for start in range(0, len(modules), size)])


def fastest_seconds(functions: dict[Any, Callable[[], Any]], rounds: int = 5,
                    clock: Callable[[], float] = time.process_time) -> dict[Any, float]:
    """The shortest of ``rounds`` timed runs of each function, taking turns.

    The default clock is the processor time of this process (``time.process_time``): the
    time the machine's cores spent running it, not the time it waited while other programs
    ran, so a busy machine inflates it far less than the wall clock. It adds up the time of
    all the process's threads: time with one BLAS thread (``threadpool_limits(1)``), or
    pass ``clock=time.perf_counter`` for the wall clock. Other programs still slow some runs
    down (they share the caches); they never speed one up. The fastest run is therefore the
    best estimate of the work itself, and taking turns spreads a slow spell over all the
    functions instead of spoiling one of them.
    """
    best = {name: float("inf") for name in functions}
    for function in functions.values():
        function()  # warm-up: first-call costs (allocation, caches) are not the work
    for _ in range(rounds):
        for name, function in functions.items():
            start = clock()
            function()
            best[name] = min(best[name], clock() - start)
    return best


def power_law_exponent(sizes: Any, values: Any) -> float:
    """The least-squares slope of log(values) against log(sizes): values ~ size**a."""
    logs = np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float))
    slope, _ = np.polyfit(*logs, 1)
    return float(slope)


def time_forward_backward(
    forward: Callable[[], Any], repeats: int = 20, warmup: int = 2
) -> dict[str, float]:
    """Median seconds of ``forward()`` alone, and of ``forward()`` followed by
    ``.backward()``.

    ``forward`` computes a one-element tensor (a loss) from scratch each call, so each
    timed backward runs on a fresh graph (gradients accumulate in the leaves; that costs
    no extra time). The median resists the odd slow run caused by other programs.
    Returns ``forward``, ``forward_backward``, ``backward`` (their difference) and
    ``ratio`` = forward_backward / forward. Timings depend on the machine: report them,
    never assert them.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")

    def forward_and_backward() -> None:
        forward().backward()

    forward_time = median_seconds(forward, repeats, warmup)
    both_time = median_seconds(forward_and_backward, repeats, warmup)
    return {
        "forward": forward_time,
        "forward_backward": both_time,
        "backward": both_time - forward_time,
        "ratio": both_time / forward_time,
    }


def median_seconds(function: Callable[[], Any], repeats: int = 5, warmup: int = 1
                   ) -> float:
    """Run ``function`` ``warmup`` times untimed, then ``repeats`` times; the median."""
    for _ in range(warmup):
        function()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    return float(np.median(durations))


@dataclass(frozen=True)
class ProfileRow:
    """One function's line in a profile: its name, how often it ran, its own time."""

    function: str  # "fast.py:_product", or a built-in such as "<method 'reduce' ...>"
    calls: int
    seconds: float  # inside the function itself, not in the functions it called


def profile(function: Callable[[], Any], top: int | None = 10, rounds: int = 1
            ) -> list[ProfileRow]:
    """Run ``function`` under Python's profiler (cProfile) ``rounds`` times and return,
    from the run with the smallest total, the ``top`` functions by own time (every
    function with ``top=None``; their own times add up to the whole run).

    Own time is what a function spent in its own lines, not in the functions it called,
    so a NumPy call made by an op shows up as the op's C built-in (``matmul`` is inside
    ``_product``'s own time, since ``@`` is an operator, not a call). Each op's backward
    closure is named by where it is defined: ``relu.<locals>.backward``; a function
    defined in a notebook cell is ``notebook:name``. cProfile reads the wall clock, so
    other programs on the machine inflate a run; they never shorten one, hence the
    fastest of several runs (as ``fastest_seconds``). The profiler adds a little time to
    every Python call it records, which makes small, often-called functions look slower
    than they are: read the ranking and the large items, not every microsecond.
    """
    best: list[ProfileRow] = []
    for _ in range(rounds):
        profiler = cProfile.Profile()
        profiler.runcall(function)
        rows = []
        for entry in profiler.getstats():  # one per function: code, calls, own time
            code = entry.code
            name = (code if isinstance(code, str)
                    else f"{_file_of(code)}:{code.co_qualname}")
            rows.append(ProfileRow(name, entry.callcount, entry.inlinetime))
        if not best or sum(r.seconds for r in rows) < sum(r.seconds for r in best):
            best = rows
    return sorted(best, key=lambda row: row.seconds, reverse=True)[:top]


def _file_of(code: Any) -> str:
    """The file a function is defined in, by name; ``notebook`` for a notebook's cell,
    which IPython compiles from a temporary file (``.../ipykernel_NNN/NNN.py``)."""
    path = code.co_filename
    if "ipykernel_" in path or path.startswith("<ipython-input"):
        return "notebook"
    return path.rsplit("/", 1)[-1]
