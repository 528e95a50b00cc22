"""Small fixes to the site's HTML: a clean browser console, and launch buttons that open a
notebook which renders where it lands.

sphinx-thebe and sphinx-togglebutton (loaded by Jupyter Book) register an inline configuration
script twice, once with the file name ``None`` and once with ``''``, so Sphinx does not see the two
as equal and each page carries both; the browser then reports "Identifier 'THEBE_JS_URL' has
already been declared". This extension drops such repeated scripts, keeping the first of each.
"""

from __future__ import annotations

import re
from pathlib import Path

STUDENT = Path(__file__).resolve().parents[1] / "student"


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    """Remove scripts that repeat an earlier one (same file or body, same attributes)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def launch_student_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Point a chapter's Colab and Binder buttons at its student notebook.

    sphinx-book-theme launches the page's own notebook, ``chapters/NN_name.ipynb``: MyST
    Markdown (shown raw by Colab and JupyterLab) with the solutions in it. The student notebook,
    ``student/NN_name.ipynb``, is plain Jupyter Markdown with the hints folded and the
    solutions left for the learner. Runs after the theme has made the buttons (priority 501).
    """
    chapter = re.fullmatch(r"chapters/(\d\d_\w+)", pagename)
    if not chapter or not (STUDENT / f"{chapter[1]}.ipynb").exists():
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if "url" in button:
                button["url"] = button["url"].replace(f"{pagename}.ipynb",
                                                      f"student/{chapter[1]}.ipynb")


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    app.connect("html-page-context", launch_student_notebooks, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
