"""Tests for backprop.cost: exact memory accounting of a recorded graph, and the timing helper."""

import time

import numpy as np
import pytest

from backprop import functional as F
from backprop import nn
from backprop.autograd import Tensor, no_grad
from backprop.cost import GraphMemory, graph_memory, time_forward_backward


def _mlp(hidden: list[int], seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    sizes = [784, *hidden, 10]
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out, rng=rng), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _loss(model: nn.Module, batch: int) -> Tensor:
    rng = np.random.default_rng(1)
    x = Tensor(rng.random((batch, 784), dtype=np.float32))
    return F.cross_entropy(model(x), rng.integers(0, 10, size=batch))


def test_single_op_counts_output_and_leaves():
    a = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.ones((3, 4)))
    memory = graph_memory(a * b)
    assert memory == GraphMemory(activations=96, inputs=96, parameters=96, tensors=3)
    assert memory.saved_for_backward == 192


def test_views_are_counted_once():
    w = Tensor(np.ones((5, 2)), requires_grad=True)
    memory = graph_memory((w.T * 2.0).sum())
    # w.T shares w's buffer: only the product (80 bytes), the sum (8) and the constant 2.0 (8)
    assert memory.parameters == 80
    assert memory.activations == 80 + 8
    assert memory.inputs == 8


def test_shared_tensor_counted_once():
    x = Tensor(np.ones(10), requires_grad=True)
    assert graph_memory((x * x).sum()).parameters == 80


def test_parameters_match_the_model():
    model = _mlp([128, 64])
    memory = graph_memory(_loss(model, 8))
    assert memory.parameters == sum(p.data.nbytes for p in model.parameters())
    assert memory.parameters == (784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10) * 8


def test_activations_grow_linearly_with_batch():
    model = _mlp([128, 64])
    sizes = [graph_memory(_loss(model, b)).activations for b in (16, 32, 48, 64)]
    steps = np.diff(sizes)
    assert np.all(steps == steps[0]) and steps[0] > 0
    per_example = steps[0] // 16
    # 128 * 2 + 64 * 2 + 10 activations in the layers (each linear op's output and each
    # ReLU's), 33 doubles in the loss
    assert per_example == (256 + 128 + 10 + 33) * 8


def test_each_hidden_layer_adds_the_same_activations():
    batch = 32
    sizes = [graph_memory(_loss(_mlp([64] * depth), batch)).activations for depth in (1, 2, 3)]
    # each hidden layer keeps two activations: its linear op's output and its ReLU's
    assert sizes[2] - sizes[1] == sizes[1] - sizes[0] == 2 * batch * 64 * 8


def test_no_grad_keeps_nothing():
    model = _mlp([32])
    with no_grad():
        loss = _loss(model, 8)
    memory = graph_memory(loss)
    assert memory.tensors == 1 and memory.inputs == 8 and memory.activations == 0


def test_deep_chain_has_no_recursion_error():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    assert graph_memory(y).activations == 5000 * 8


def test_time_forward_backward_reports_positive_times():
    model = _mlp([16])
    result = time_forward_backward(lambda: _loss(model, 4), repeats=3, warmup=1)
    assert set(result) == {"forward", "forward_backward", "backward", "ratio"}
    assert result["forward"] > 0 and result["forward_backward"] > 0
    assert result["ratio"] == pytest.approx(result["forward_backward"] / result["forward"])
    with pytest.raises(ValueError, match="repeats"):
        time_forward_backward(lambda: _loss(model, 4), repeats=0)


def test_counted_multiply_adds_equal_the_prediction():
    from backprop.cost import counted_multiply_adds, predicted_multiply_adds

    for hidden, batch in [([128, 64], 64), ([32], 5), ([16, 16, 16], 3)]:
        counted = counted_multiply_adds(_loss(_mlp(hidden), batch))
        predicted = predicted_multiply_adds([784, *hidden, 10], batch)
        assert counted == {"forward": predicted["forward"], "backward": predicted["backward"]}


def test_gradients_after_backward_and_optimizer_state_are_counted():
    from backprop.cost import optimizer_state_bytes
    from backprop.optim import SGD, Adam

    model = _mlp([32])
    loss = _loss(model, 8)
    loss.backward()
    memory = graph_memory(loss)
    parameter_bytes = sum(p.data.nbytes for p in model.parameters())
    assert memory.parameter_grads == parameter_bytes and memory.intermediate_grads > 0
    sgd = SGD(model.parameters(), lr=0.1, momentum=0.9)
    assert optimizer_state_bytes(sgd) == 0
    sgd.step()
    assert optimizer_state_bytes(sgd) == parameter_bytes
    adam = Adam(model.parameters())
    adam.step()
    assert optimizer_state_bytes(adam) == 2 * parameter_bytes


def test_optimizer_memory_counts_the_scratch_arrays_too():
    """The review's control: SGD's step keeps a scratch array per parameter beside the
    momentum buffers; Adam keeps three parameter-sized arrays (m, v, scratch), not 2."""
    from backprop.cost import optimizer_memory
    from backprop.optim import SGD, Adam

    model = _mlp([32])
    _loss(model, 8).backward()
    parameter_bytes = sum(p.data.nbytes for p in model.parameters())
    params = model.parameters()
    optimizers = {"plain SGD": (SGD(params, lr=0.1), 0, 1),
                  "SGD with momentum": (SGD(params, lr=0.1, momentum=0.9), 1, 1),
                  "Adam": (Adam(params), 2, 1)}
    for name, (optimizer, state, scratch) in optimizers.items():
        assert optimizer_memory(optimizer) == {"state": 0, "scratch": 0}
        optimizer.step()
        kept = optimizer_memory(optimizer)
        assert kept == {"state": state * parameter_bytes,
                        "scratch": scratch * parameter_bytes}, name


def test_traced_bytes_sees_what_a_step_keeps_and_its_peak():
    from backprop.cost import optimizer_memory, traced_bytes
    from backprop.optim import SGD

    model = _mlp([64])
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = Tensor(np.random.default_rng(1).random((32, 784), dtype=np.float32))
    targets = np.arange(32) % 10

    def step():
        loss = F.cross_entropy(model(x), targets)
        loss.backward()
        optimizer.step()
        return loss

    loss, traced = traced_bytes(step)
    memory = graph_memory(loss)
    counted = (memory.activations + memory.intermediate_grads + memory.parameter_grads
               + sum(optimizer_memory(optimizer).values()))
    # what the step left allocated is what the counts say, plus the Python objects
    assert counted <= traced.held < 1.05 * counted
    assert traced.peak >= traced.held
    big = traced_bytes(lambda: np.ones(100_000).sum())[1]
    assert big.peak >= 800_000 and big.held < 1_000


def test_checkpointing_gives_the_same_gradients_and_keeps_less():
    from backprop.cost import Checkpointed

    plain = _mlp([16, 16, 16, 16], seed=4)
    layers = list(plain)
    checkpointed = nn.Sequential(Checkpointed(nn.Sequential(*layers[:4])),
                                 Checkpointed(nn.Sequential(*layers[4:])))
    assert len(checkpointed.parameters()) == len(plain.parameters())
    loss = _loss(plain, 6)
    loss.backward()
    plain_grads = [p.grad.copy() for p in plain.parameters()]
    plain_kept = graph_memory(loss).activations
    plain.zero_grad()
    loss_c = _loss(checkpointed, 6)
    assert np.isclose(loss_c.item(), loss.item(), rtol=0, atol=1e-12)
    kept = graph_memory(loss_c).activations
    loss_c.backward()
    for grad, p in zip(plain_grads, plain.parameters()):
        assert np.allclose(grad, p.grad, rtol=0, atol=1e-12)
    assert kept < plain_kept


def test_power_law_exponent():
    from backprop.cost import power_law_exponent

    sizes = np.array([1, 2, 4, 8])
    assert np.isclose(power_law_exponent(sizes, 3 * sizes**2.0), 2.0)


def test_observed_multiply_adds_see_what_backward_computes():
    from backprop.cost import observed_multiply_adds, predicted_multiply_adds

    model = _mlp([32, 16])
    assert observed_multiply_adds(_loss(model, 8)) == {
        key: predicted_multiply_adds([784, 32, 16, 10], 8)[key] for key in ("forward", "backward")}
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    _loss(model, 8).backward()  # the observed run computed the same gradients
    assert all(type(p.grad) is np.ndarray and np.array_equal(p.grad, g)
               for p, g in zip(model.parameters(), grads))
    # an input that requires grad: the first layer's input gradient is observed too
    x = Tensor(np.ones((4, 784)), requires_grad=True)
    observed = observed_multiply_adds(F.cross_entropy(model(x), np.zeros(4, dtype=int)))
    assert observed["backward"] == 2 * observed["forward"]
    # a 1-D and a batched operand
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones((3, 4)), requires_grad=True)
    assert observed_multiply_adds((a @ b).sum()) == {"forward": 12, "backward": 24}
    a = Tensor(np.ones((2, 5, 3)), requires_grad=True)
    assert observed_multiply_adds((a @ b).sum()) == {"forward": 120, "backward": 240}


# --- profile ------------------------------------------------------------------------------------
def test_profile_ranks_functions_by_own_time_and_counts_their_calls():
    from backprop.cost import profile

    def slow():
        total = 0
        for i in range(200_000):
            total += i
        return total

    def caller():
        for _ in range(3):
            slow()
        return sum(range(10))

    rows = profile(caller, top=None)
    names = [row.function for row in rows]
    assert names[0].endswith("slow")  # its loop is its own time; caller's time is mostly in slow
    slow_row = rows[0]
    assert slow_row.calls == 3
    assert [row.seconds for row in rows] == sorted((row.seconds for row in rows), reverse=True)
    assert any(name.endswith("caller") for name in names)
    assert len(profile(caller, top=2)) == 2


def test_profile_names_functions_by_file_and_a_notebook_cell_as_notebook():
    from backprop.cost import profile

    code = compile("def work():\n    return sum(range(1000))\n",
                   "/tmp/ipykernel_123/456.py", "exec")
    space: dict = {}
    exec(code, space)
    names = [row.function for row in profile(space["work"], top=None)]
    assert "notebook:work" in names
    assert not any("ipykernel" in name or "456" in name for name in names)


def test_profile_over_rounds_keeps_the_run_with_the_smallest_total():
    from backprop.cost import profile

    pauses = iter([0.06, 0.0, 0.03])  # the second run is the quick one

    def sometimes_slow():
        wait = next(pauses)
        if wait:
            time.sleep(wait)  # wall clock: as if another program held the core
        return sum(range(1000))

    rows = profile(sometimes_slow, top=None, rounds=3)
    assert sum(row.seconds for row in rows) < 0.02
    assert next(row for row in rows if row.function.endswith("sometimes_slow")).calls == 1
