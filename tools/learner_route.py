"""The learner's route, as a test: every notebook runs in a Jupyter that holds only the library.

    .venv/bin/python tools/learner_route.py      # `make test-learner`

A learner does not have this repository's `.venv`: Colab's set-up cell, Binder and "any
Jupyter" give them `pip install` of the library and a kernel, nothing else (no MyST-NB, no test
tools, no data variable). So this script

1. makes a fresh venv in ``_build/learner/`` and installs the library into it as a learner does,
   ``pip install .`` (a real install, not an editable one: the package data must be in the
   wheel), from a copy of the checkout's files (a stale ``build/`` folder must not leak into the
   wheel), plus ``ipykernel``, and registers that venv as a Jupyter kernel. The versions are
   Colab's where Colab pins them (``COLAB``, below: the oldest the library declares it works
   with), so what Colab's learners run is what is tested;
2. checks that the kernel imports the installed library, not this checkout, and that MyST-NB is
   absent;
3. copies every chapter and every student notebook into an empty folder outside the repository
   and executes each from there with that kernel, with no data variable set (Debian's
   Fashion-MNIST package is found without one, as a learner's would be), at the book's seed 2;
4. fails if a notebook stops before its end, prints a folder of this machine or a download, or
   if a student notebook's check says anything but "not done yet" (nothing is solved in a fresh
   student notebook).

The Jupyter machinery that drives the kernel (nbclient) runs from the build's `.venv`: a learner's
JupyterLab or Colab plays that part.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "_build" / "learner"
KERNEL = "backprop-learner"
# What Colab's runtime has installed (as an independent review found it in December 2026; Colab
# itself cannot be reached from here): the set-up cell's `pip install` keeps these, since the
# library's floors are these versions. The kernel is ipykernel 6 (Colab runs its own 5.5.6,
# which does not change what the library sees, and which drove one notebook here to nbclient's
# timeout once while the same notebook ran in a minute on its own).
COLAB = ["numpy==2.0.2", "matplotlib==3.10.0", "ipython==7.34.0", "ipykernel==6.29.5"]


def run(*command: str | Path, **kwargs) -> str:
    result = subprocess.run([str(part) for part in command], check=True, text=True,
                            capture_output=True, **kwargs)
    return result.stdout


def make_learner_venv() -> Path:
    """A fresh venv with the library installed as a learner installs it, and a kernel."""
    shutil.rmtree(WORK, ignore_errors=True)
    venv = WORK / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    source = WORK / "source"
    files = run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in files.splitlines():
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    constraints = WORK / "colab.txt"
    constraints.write_text("\n".join(COLAB) + "\n")
    run(python, "-m", "pip", "install", "--quiet", "--constraint", constraints, source,
        "ipykernel", cwd=WORK)
    shutil.rmtree(source)
    run(python, "-m", "ipykernel", "install", "--prefix", WORK / "jupyter", "--name", KERNEL,
        "--display-name", "backprop (learner)")
    return python


def learner_environment() -> dict[str, str]:
    """This process's environment, less everything a learner would not have set, but for the
    book's seed: the route runs the notebooks at seed 2 (``BACKPROP_SEED``), so it also does the
    work of `make test`'s seed-2 job (every assertion checked at another random draw)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("BACKPROP_", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["JUPYTER_PATH"] = str(WORK / "jupyter" / "share" / "jupyter")
    env["BACKPROP_SEED"] = "2"
    return env


def check_the_kernel(folder: Path) -> None:
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import importlib.util, backprop\n"
        "print(backprop.__file__)\n"
        "print(importlib.util.find_spec('myst_nb') is None)\n"
        "import os; print(os.environ.get('HOME'), os.environ.get('OPENBLAS_NUM_THREADS'))")])
    execute(probe, folder)
    where, no_myst, home, threads = probe.cells[0].outputs[0]["text"].split()
    # The kernel keeps the learner's own environment (a home folder, for Matplotlib's font
    # cache; the BLAS thread count `make test` sets, without which two BLAS threads fight the
    # other job for a core and the heavy notebooks run several times slower).
    assert home == str(os.environ.get("HOME")), f"the kernel's HOME is {home}"
    assert threads == os.environ.get("OPENBLAS_NUM_THREADS", "None"), \
        f"the kernel's OPENBLAS_NUM_THREADS is {threads}"
    assert str(WORK / "venv") in where, f"the kernel imported backprop from {where}"
    assert no_myst == "True", "MyST-NB is installed in the learner's venv"


def execute(notebook: nbformat.NotebookNode, folder: Path) -> None:
    NotebookClient(notebook, timeout=600, kernel_name=KERNEL,
                   resources={"metadata": {"path": str(folder)}}).execute()


# An absolute path under a folder only a machine has, or a download the course should not need.
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(?:work|home|root|tmp|usr|opt|var|Users)/")


def outputs_a_learner_should_not_see(notebook: nbformat.NotebookNode) -> list[str]:
    """Outputs that print a folder of this machine, or say that something was downloaded."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            if MACHINE_PATH.search(text):
                found.append(f"cell {index} prints a machine path")
            if "Downloading" in text:
                found.append(f"cell {index} downloads something")
    return found


def unsolved_checks_say_not_done(notebook: nbformat.NotebookNode) -> list[str]:
    """The check cells of a fresh student notebook that said anything but "not done yet"."""
    wrong = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            if "backprop-check" in html and "not done yet" not in html:
                wrong.append(cell.source.splitlines()[-1])
    return wrong


def main() -> int:
    started = time.perf_counter()
    make_learner_venv()
    environment = learner_environment()  # read before clearing: it starts from this one
    os.environ.clear()
    os.environ.update(environment)
    installed = time.perf_counter() - started
    failures = []
    with tempfile.TemporaryDirectory(prefix="learner-") as folder:
        folder = Path(folder)
        check_the_kernel(folder)
        notebooks = sorted((REPO / "student").glob("[0-9][0-9]_*.ipynb")) + sorted(
            (REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))
        for path in notebooks:
            name = f"{path.parent.name}/{path.name}"
            copy = folder / path.name
            shutil.copy(path, copy)
            notebook = nbformat.read(copy, as_version=4)
            begun = time.perf_counter()
            try:
                execute(notebook, folder)
            except CellExecutionError as error:
                failures.append(f"{name}: stopped: {str(error).splitlines()[-1]}")
                print(f"FAILED {name}", flush=True)
                continue
            finally:
                copy.unlink()
            failures += [f"{name}: {problem}"
                         for problem in outputs_a_learner_should_not_see(notebook)]
            if path.parent.name == "student":
                failures += [f"{name}: a fresh check did not say 'not done yet': {line}"
                             for line in unsolved_checks_say_not_done(notebook)]
            print(f"ran {name} to the end in {time.perf_counter() - begun:.0f} s", flush=True)
    total = time.perf_counter() - started
    print(f"learner route: venv and install {installed:.0f} s, {len(notebooks)} notebooks, "
          f"{total:.0f} s in all")
    for failure in failures:
        print("FAILED", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
