"""The shared training loop: every example once per epoch, seeded, and loud on divergence."""

import numpy as np
import pytest

from backprop.train import History, accuracy, fit, minibatches


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
    assert history["loss"][0] == pytest.approx(sum(range(7)) / 2)
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
