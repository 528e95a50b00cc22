"""backprop.failing: the experiments of "When training fails" and the helpers they use."""

import numpy as np
import pytest

from backprop import failing
from backprop.data import paraboloid
from backprop.show import show_source
from backprop.train import fit


@pytest.fixture(scope="module")
def data():
    x, t = paraboloid(600, seed=0)
    return failing.split(x, t, 100, seed=1)


def test_split_is_disjoint_and_complete(data):
    assert len(data.x_train) == 500 and len(data.x_val) == 100
    rows = {tuple(row) for row in np.concatenate([data.x_train, data.x_val])}
    assert len(rows) == 600


def test_randn_init_draws_every_parameter_from_a_standard_normal():
    model = failing.paraboloid_net("randn", 0)
    values = np.concatenate([p.data.ravel() for p in model.parameters()])
    assert values.size == 41 and np.all(values != 0) and 0.6 < values.std() < 1.4


def test_train_records_one_entry_per_epoch_and_step(data):
    run = failing.train(data, "default", 0.01, seed=0, epochs=3, batch_size=50)
    assert len(run.val_mse) == 4 and len(run.grad_norm) == 30 == len(run.largest_parameter)
    assert run.exploded_at is None and run.val_mse[-1] < run.val_mse[0]


def test_an_exploding_run_is_recorded_not_raised(data):
    run = failing.train(data, "randn", 50.0, seed=0, epochs=20, batch_size=50)
    assert run.exploded_at is not None and np.all(np.isfinite(run.val_mse))
    assert len(run.val_mse) <= run.exploded_at // 10 + 1  # the epochs before the overflow


def test_standardised_targets_are_a_first_layer_rate_divided_by_var_t(data):
    """SGD on (t - mean) / std equals SGD on raw t with the first layer at lr / Var[t] and the
    read-out started std times larger and shifted by the mean: the same run, to rounding."""
    mean, std = data.t_train.mean(), data.t_train.std()
    scaled = failing.train(data, "randn", 0.1, seed=0, epochs=5, scaled="targets")
    twin = failing.train(data, "randn", 0.1, seed=0, epochs=5, lr_first=0.1 / std**2,
                         read_out=(std, mean))
    assert np.allclose(scaled.val_mse, twin.val_mse, rtol=1e-9, atol=0)
    assert np.allclose(scaled.predict(data.x_val), twin.predict(data.x_val), rtol=1e-9)


def test_scaled_targets_leaves_the_inputs_alone(data):
    run = failing.train(data, "default", 0.1, seed=0, epochs=1, scaled="targets")
    assert run.scaling[:2] == (0.0, 1.0) and run.scaling[2] == pytest.approx(data.t_train.mean())
    with pytest.raises(ValueError, match="scaled"):
        failing.train(data, "default", 0.1, seed=0, epochs=1, scaled="inputs")


def test_layer_sgd_steps_each_layer_at_its_own_rate():
    model = failing.paraboloid_net("default", 0)
    before = [p.data.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    failing.LayerSGD(model, [0.5, 2.0]).step()
    changes = [float((b - p.data).max()) for b, p in zip(before, model.parameters())]
    assert changes == pytest.approx([0.5, 0.5, 2.0, 2.0])


def test_clipping_by_value_is_recorded_when_it_acts(data):
    run = failing.train(data, "randn", 0.1, seed=0, epochs=1, batch_size=50, clip_value=1e-3)
    assert run.value_clipped == [1.0] * 10


def test_symmetrised_set_has_zero_correlation():
    x, t = paraboloid(50, seed=3)
    xs, ts = failing.symmetrised(x, t)
    assert xs.shape == (200, 2) and np.allclose(ts, 5 * xs[:, :1] ** 2 + 3 * xs[:, 1:] ** 2)
    assert np.all(np.abs(failing.correlations(xs, ts)) < 1e-12)


def test_escape_epoch():
    assert failing.escape_epoch([70, 69, 50, 40], 60) == 2
    assert failing.escape_epoch([70, 69], 60) is None


def test_show_source_between_shows_a_slice_with_true_line_numbers():
    whole, part = show_source(fit), show_source(fit, between=("for _ in range", "return history"))
    assert part.text.startswith("for _ in range") and part.text.endswith("return history")
    offset = whole.text.splitlines().index(next(line for line in whole.text.splitlines()
                                                if line.lstrip().startswith("for _ in range")))
    assert part.first_line == whole.first_line + offset
    with pytest.raises(ValueError, match="no lines"):
        show_source(fit, between=("no such line", "return"))


def test_saturated_share_is_recorded_before_training_and_after_every_epoch(data):
    run = failing.train(data, "randn", 0.01, seed=0, epochs=3, batch_size=50)
    assert len(run.saturated) == len(run.val_mse) == 4
    assert run.saturated[-1] == failing.saturation(run.model, data.x_val)


def test_start_continues_a_copy_of_a_trained_network(data):
    first = failing.train(data, "randn", 0.01, seed=0, epochs=2, batch_size=50)
    before = [p.data.copy() for p in first.model.parameters()]
    more = failing.train(data, "randn", 0.01, seed=0, epochs=1, batch_size=50, start=first.model)
    assert more.val_mse[0] == pytest.approx(first.val_mse[-1])
    assert all(np.array_equal(b, p.data) for b, p in zip(before, first.model.parameters()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_tiny_start_escapes_through_the_samples_chance_correlation(seed):
    """Chapter 3's Road 1, the evidence taken off the page: on the page's training set the tiny
    network escapes the constant within 100 epochs; on a sign-symmetrised set of the same size
    (every correlation of x1, x2 with t exactly 0) it does not. What remains then is only the
    weaker second-order term."""
    x, t = paraboloid(5_000, seed=seed)
    data = failing.split(x, t, n_val=1_000, seed=seed + 1)
    level = 0.75 * float(np.mean((data.t_train.mean() - data.t_val) ** 2))
    sym = failing.Split(*failing.symmetrised(*paraboloid(1_000, seed=seed + 20)),
                        data.x_val, data.t_val)
    escapes = [failing.escape_epoch(failing.train(split, 0.01, 0.01, seed=seed, epochs=100,
                                                  stop_below=level).val_mse, level)
               for split in (data, sym)]
    assert escapes[0] is not None and escapes[1] is None, f"seed {seed}: {escapes}"
