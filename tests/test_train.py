"""The shared training loop: every example once per epoch, seeded, and loud on divergence."""

import numpy as np
import pytest

from backprop.train import History, accuracy, fit, minibatches, validation_split


def test_minibatches_visit_every_example_once():
    batches = list(minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_fit_records_losses_and_metrics_and_is_seeded():
    seen = []

    def step(indices):
        seen.append(indices.copy())
        return float(indices.sum())

    history = fit(step, 7, epochs=2, batch_size=4, seed=3, show_progress=False,
                  evaluate=lambda: {"accuracy": 0.5})
    assert len(history["batch_loss"]) == 4 and len(history["loss"]) == 2
    assert history["accuracy"] == [0.5, 0.5]
    # the epoch loss weights each batch by its size: (4 * loss of 4 + 3 * loss of 3) / 7
    first_two = [float(i.sum()) for i in seen[:2]]
    assert history["loss"][0] == pytest.approx((4 * first_two[0] + 3 * first_two[1]) / 7)
    again = []
    fit(lambda i: again.append(i.copy()) or 0.0, 7, epochs=2, batch_size=4, seed=3,
        show_progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(seen, again))


def test_fit_stops_when_the_loss_diverges():
    with pytest.raises(FloatingPointError, match="diverged"):
        fit(lambda i: float("nan"), 4, epochs=1, batch_size=2, show_progress=False)


def test_history_names_missing_records():
    history = History()
    history.log(loss=1.0)
    with pytest.raises(KeyError, match="recorded: \\['loss'\\]"):
        history["accuracy"]


def test_accuracy_and_its_shape_check():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert accuracy(scores, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shape"):
        accuracy(scores[:, 0], np.array([1, 0, 0]))


def test_progress_bar_always_ends_with_its_final_state(capsys):
    from backprop.train import progress

    for _ in progress(range(3), desc="quick"):
        pass
    out = capsys.readouterr().out
    assert out.count("quick") == 1 and "3/3" in out and out.endswith("\n")


def test_epoch_loss_weights_each_batch_by_its_size():
    # A per-example loss that is constant within a batch would show the bug: five examples in
    # batches of 4 and 1, with batch losses 1.0 (four examples) and 6.0 (one example).
    losses = iter([1.0, 6.0])
    history = fit(lambda i: next(losses), 5, epochs=1, batch_size=4, show_progress=False)
    assert history["loss"] == [pytest.approx((4 * 1.0 + 1 * 6.0) / 5)]  # 2.0, not 3.5


def test_frozen_weights_give_the_same_epoch_loss_every_epoch():
    per_example = np.random.default_rng(0).random(50)
    history = fit(lambda i: float(per_example[i].mean()), 50, epochs=4, batch_size=16,
                  seed=1, show_progress=False)
    assert np.allclose(history["loss"], per_example.mean(), rtol=0, atol=1e-12)


def test_validation_split_is_disjoint_complete_and_seeded():
    train, validation = validation_split(100, 20, seed=3)
    assert len(validation) == 20 and len(train) == 80
    assert sorted(np.concatenate([train, validation])) == list(range(100))
    again = validation_split(100, 20, seed=3)
    assert np.array_equal(again[1], validation)
    with pytest.raises(ValueError):
        validation_split(10, 10)
