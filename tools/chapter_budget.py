"""What a reader of each chapter sees, against the design guide's budget.

    .venv/bin/python tools/chapter_budget.py          # a table, one row per chapter

The budget (../GUIDE.md, "A chapter"): at most 4,000 words of Markdown, 40 code cells shown
(input neither removed nor folded), 30 lines in any shown cell, 88 characters in any shown line
of code or of text output. The page height (30 screens of 1,280 x 900 px) is measured in the
browser by tests/test_site.py; this script needs only the notebooks.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
BUDGET = {"words": 4000, "code cells shown": 40, "longest shown cell": 30,
          "widest shown line": 88}
HIDDEN = {"remove-cell", "remove-input", "hide-cell", "hide-input"}


def text_outputs(cell) -> list[str]:
    """The text a page shows for a cell's outputs (streams, and plain text with no richer form)."""
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            texts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "text/plain" in data and not ({"text/html", "image/png", "text/markdown",
                                               "image/svg+xml", "text/latex"} & set(data)):
                texts.append(data["text/plain"])
    return texts


def measure(path: Path) -> dict[str, int]:
    notebook = nbformat.read(path, as_version=4)
    words = shown = longest = widest = 0
    for cell in notebook.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            words += len(re.findall(r"\S+", cell.source))
            continue
        if cell.cell_type != "code" or "remove-cell" in tags:
            continue
        lines = []
        if not tags & HIDDEN:
            shown += 1
            longest = max(longest, len(cell.source.splitlines()))
            lines += cell.source.splitlines()
        if not tags & {"remove-output", "hide-output", "hide-cell"}:
            lines += [line for text in text_outputs(cell) for line in text.splitlines()]
        widest = max([widest] + [len(line) for line in lines])
    return {"words": words, "code cells shown": shown, "longest shown cell": longest,
            "widest shown line": widest}


def main() -> int:
    chapters = sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))
    header = ["chapter"] + list(BUDGET)
    print(" | ".join(header))
    over = 0
    for path in chapters:
        numbers = measure(path)
        cells = []
        for key, limit in BUDGET.items():
            mark = "" if numbers[key] <= limit else " (over)"
            over += bool(mark)
            cells.append(f"{numbers[key]:,}{mark}")
        print(" | ".join([path.stem] + cells))
    print(f"budget: " + ", ".join(f"{key} <= {limit}" for key, limit in BUDGET.items()))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
