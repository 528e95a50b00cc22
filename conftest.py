"""Repository-wide pytest settings: a closing line that says how many notebooks nbval ran."""

from __future__ import annotations

import os


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
