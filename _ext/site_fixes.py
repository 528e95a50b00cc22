"""Small fixes to the site's HTML: a clean browser console, launch buttons that open a
notebook which renders where it lands, and an execution-status table that is never empty.

sphinx-thebe and sphinx-togglebutton (loaded by Jupyter Book) register an inline configuration
script twice, once with the file name ``None`` and once with ``''``, so Sphinx does not see the two
as equal and each page carries both; the browser then reports "Identifier 'THEBE_JS_URL' has
already been declared". This extension drops such repeated scripts, keeping the first of each.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1]
STUDENT = BOOK / "student"
RUN_TABLE = "<!-- saved-run-table"


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


def student_notebook(docname: str) -> str | None:
    """``student/NN_name.ipynb`` for a chapter that has one, else None."""
    chapter = re.fullmatch(r"chapters/(\d\d_\w+)", docname)
    if chapter and (STUDENT / f"{chapter[1]}.ipynb").exists():
        return f"student/{chapter[1]}.ipynb"
    return None


def ship_student_notebook(app, doctree) -> None:
    """Copy each chapter's student notebook into the site (Sphinx's downloads), so that the
    header's download button can serve it (``download_student_notebooks``)."""
    student = student_notebook(app.env.docname)
    if student:
        app.env.dlfiles.add_file(app.env.docname, student)


def download_student_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Give a chapter's header download menu the student notebook, first.

    The theme's ".ipynb" downloads the page's own notebook, solutions included: a learner who
    downloads the page to work in would find every exercise solved. The menu now offers the
    student notebook first, and says what the page's own notebook holds.
    """
    student = student_notebook(pagename)
    if not student or student not in app.env.dlfiles:
        return
    url = f"{context['pathto']('_downloads', 1)}/{app.env.dlfiles[student][1]}"
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("label") == "download-source-button":
                button.update(text=".ipynb, solved",
                              tooltip="Download this page's notebook, solutions included")
        group["buttons"].insert(0, {
            "type": "link", "url": url, "text": ".ipynb, to work in", "icon": "fas fa-code",
            "tooltip": "Download the student notebook (exercises unsolved)",
            "label": "download-student-button",
        })


def label_solution_folds(app, doctree) -> None:
    """A folded solution cell says so: "Show the solution", not "Show code cell source",
    which a reader may open expecting the exercise's skeleton."""
    from docutils import nodes

    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") == "cell_code" and cell.get("hide_mode") \
                and "### BEGIN SOLUTION" in cell.astext():
            cell["prompt_show"] = "Show the solution"
            cell["prompt_hide"] = "Hide the solution"


def saved_run_table() -> str:
    """A Markdown table: each chapter, when its saved outputs were made, how long it ran.

    Read from the execution records nbclient writes into each code cell's metadata, so it
    describes the outputs on the page, whether the build executed the notebooks (`make book`)
    or rendered the saved outputs (`make test`), where MyST-NB's own table would be empty.
    """
    rows = ["| chapter | outputs made (UTC) | run time | code cells |", "| --- | --- | --- | --- |"]
    for path in sorted((BOOK / "chapters").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        times = [cell.metadata.get("execution", {}) for cell in code]
        starts = [t["iopub.execute_input"] for t in times if "iopub.execute_input" in t]
        ends = [t["iopub.status.idle"] for t in times if "iopub.status.idle" in t]
        title = next((cell.source.split("\n")[0][2:] for cell in notebook.cells
                      if cell.cell_type == "markdown" and cell.source.startswith("# ")), path.stem)
        link = f"{{doc}}`{title} <{path.stem}>`"
        if not starts or not ends:
            rows.append(f"| {link} | not recorded | | {len(code)} |")
            continue
        start, end = (datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                      for stamp in (min(starts), max(ends)))
        seconds = (end - start).total_seconds()
        rows.append(f"| {link} | {start:%Y-%m-%d %H:%M} | {seconds:.0f} s | {len(code)} |")
    return "\n".join(rows)


def fill_status_page(app, docname, source) -> None:
    if docname == "chapters/status" and RUN_TABLE in source[0]:
        source[0] = re.sub(r"<!-- saved-run-table.*?-->", saved_run_table(), source[0])


def describe_figures(app, doctree, docname) -> None:
    """Give every figure drawn by a notebook an alt text better than its file name.

    MyST-NB uses an image output's file path as its alt text; a screen reader then reads
    "underscore images slash 3f2a...png". Unless the cell sets one (``mystnb: image: alt:``), the
    figure is described by where it stands: "Figure in the section ‘...’ of ‘...’".
    """
    from docutils import nodes

    page = next(iter(doctree.findall(nodes.title)), None)
    page_title = page.astext() if page is not None else docname
    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if alt and alt != image.get("uri") and not alt.endswith((".png", ".svg", ".jpg")):
            continue
        section = image.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        titled = section is not None and section.children \
            and isinstance(section.children[0], nodes.title)
        heading = section.children[0].astext() if titled else page_title
        where = f"the section ‘{heading}’ of ‘{page_title}’" if heading != page_title \
            else f"‘{page_title}’"
        image["alt"] = f"Figure drawn by the code above it, in {where}"


def setup(app):
    app.connect("doctree-resolved", describe_figures)
    app.connect("source-read", fill_status_page)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    app.connect("html-page-context", launch_student_notebooks, priority=600)
    app.connect("html-page-context", download_student_notebooks, priority=600)
    app.connect("doctree-read", ship_student_notebook)
    app.connect("doctree-read", label_solution_folds)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
