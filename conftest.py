"""Repository-wide pytest settings: glued values are not compared, and a closing line says how
many notebooks nbval ran."""

from __future__ import annotations

import os

import nbformat
from nbval.plugin import IPyNbCell

# `glue("name", value)` saves the value's full repr (5.869539597291399) for the prose to format
# ({glue:text}`name:.2f`). Digits past what the page shows are a machine's rounding, and a choice
# glued from a chaotic run (the best of several thresholds) may differ from one CPU to the next.
# So nbval compares everything in a cell but its glued values; the cell's own assertions say what
# the value must satisfy on any machine.
GLUE_MIMETYPE_PREFIX = "application/papermill.record/"


def _without_glued_values(outputs):
    """The outputs minus the data glue stores for the prose (display=False leaves nothing else)."""
    kept = []
    for output in outputs:
        data = output.get("data")
        if data is not None:
            data = {k: v for k, v in data.items() if not k.startswith(GLUE_MIMETYPE_PREFIX)}
            if not data:
                continue
            output = nbformat.from_dict({**output, "data": data})
        kept.append(output)
    return kept


_compare_outputs = IPyNbCell.compare_outputs


def _compare_outputs_but_glue(self, test, ref, skip_compare=None):
    return _compare_outputs(
        self, _without_glued_values(test), _without_glued_values(ref), skip_compare
    )


IPyNbCell.compare_outputs = _compare_outputs_but_glue


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Report the notebooks executed as tests, next to pytest's own count of tests."""
    notebooks: dict[str, list[str]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            path = report.nodeid.split("::")[0]
            if path.endswith(".ipynb") and report.when == "call":
                notebooks.setdefault(path, []).append(outcome)
    if notebooks:
        cells = sum(len(outcomes) for outcomes in notebooks.values())
        clean = sum(all(o == "passed" for o in outcomes) for outcomes in notebooks.values())
        lax = config.getoption("nbval_lax", False)
        what = "cells run, outputs not compared (--nbval-lax)" if lax else "cells compared"
        seed = os.environ.get("BACKPROP_SEED", "0")
        terminalreporter.write_line(
            f"nbval: {len(notebooks)} notebooks executed at seed {seed} ({cells} {what}), "
            f"{clean} with every cell passing"
        )
