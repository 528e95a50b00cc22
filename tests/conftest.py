"""Every engine test runs twice: with the engine's speed paths on (the default) and off.

``backprop.autograd.fast`` replaces a few plain ops with faster twins; the two must find
the same values and gradients, so each test below is collected as ``[fast]`` and
``[plain]``. Tests of a shortcut's own behaviour (a gradient handed over without a copy)
are marked ``fast_paths_only``; modules that never touch the engine run once.
"""

from __future__ import annotations

import pytest

from backprop.autograd import fast_paths

# modules with no engine in them, or that only read files and notebooks
RUN_ONCE = {
    "test_book", "test_site", "test_student_notebooks", "test_data", "test_show",
    "test_symbolic", "test_symbolic_where", "test_seeding", "test_metrics",
    "test_toy_data",
    "test_helpers_habits", "test_manual", "test_manual_step", "test_check_layer",
    "test_tinynet", "test_graph_plots", "test_budget", "test_notation",
    "test_learner_routes",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fast_paths_only: tests a speed path's own behaviour; runs with it on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    marker = metafunc.definition.get_closest_marker("fast_paths_only")
    once = module in RUN_ONCE or marker is not None
    modes = [True] if once else [True, False]
    metafunc.parametrize(
        "speed_paths", modes, ids=["fast" if on else "plain" for on in modes],
        indirect=True, scope="module",
    )


@pytest.fixture(autouse=True, scope="module")
def speed_paths(request: pytest.FixtureRequest):
    """The engine's speed paths on or off for every test of the module (default: on)."""
    with fast_paths(getattr(request, "param", True)):
        yield request.param if hasattr(request, "param") else True
