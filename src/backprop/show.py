"""Show the library's own source code in a notebook, so chapters never re-type what runs.

``show_source(Tensor.__add__)`` returns an object that Jupyter displays as a highlighted Python
block. It is rendered from Markdown, which both JupyterLab and the book's site (MyST-NB) turn into
highlighted code, so the same cell output looks right in both places. In a plain Python console
its ``repr`` is the source text itself.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path


class SourceCode:
    """The source of one Python object, with where it lives, displayable in Jupyter."""

    def __init__(self, obj: object, between: tuple[str, str] | None = None) -> None:
        target = inspect.unwrap(obj.fget if isinstance(obj, property) else obj)
        try:
            lines, first = inspect.getsourcelines(target)
            path = Path(inspect.getsourcefile(target) or "<unknown>")
        except (TypeError, OSError) as error:
            raise TypeError(
                f"Cannot show the source of {obj!r}: {error}. Pass a function, class, method "
                "or module defined in Python source."
            ) from None
        self.name = getattr(target, "__qualname__", getattr(target, "__name__", repr(target)))
        self.path = _short_path(path)
        self.first_line = first or 1  # a module's source starts at line 1 (inspect says 0)
        if between is not None:
            start, stop = _span(lines, *between, name=self.name)
            lines, self.first_line = lines[start:stop + 1], self.first_line + start
        self.text = _dedent("".join(lines)).rstrip()

    @property
    def last_line(self) -> int:
        return self.first_line + self.text.count("\n")

    def _repr_markdown_(self) -> str:
        fence = "`" * max(3, _longest_backtick_run(self.text) + 1)
        where = f"`{self.path}`, lines {self.first_line}–{self.last_line}"
        return f"**`{self.name}`** · {where}\n\n{fence}python\n{self.text}\n{fence}\n"

    def __repr__(self) -> str:
        return f"# {self.path}, lines {self.first_line}-{self.last_line}\n{self.text}"


def show_source(obj: object, between: tuple[str, str] | None = None) -> SourceCode:
    """Return the source of ``obj`` (function, class, method, property or module) for display.

    The last expression of a notebook cell is displayed, so ``show_source(f)`` on its own shows
    the highlighted code of ``f`` with its file and line numbers. ``between=(first, last)``
    shows only the lines that teach: from the first line containing ``first`` to the next line
    containing ``last`` (a listing should stay short enough to read).
    """
    return SourceCode(obj, between)


def _span(lines: list[str], first: str, last: str, name: str) -> tuple[int, int]:
    """Indices of the first line containing ``first`` and the next one containing ``last``."""
    start = next((i for i, line in enumerate(lines) if first in line), None)
    stop = None if start is None else next(
        (i for i in range(start, len(lines)) if last in lines[i]), None)
    if start is None or stop is None:
        raise ValueError(f"show_source: no lines from {first!r} to {last!r} in {name}")
    return start, stop


def _short_path(path: Path) -> str:
    """``src/backprop/autograd.py`` rather than an absolute path that differs per machine."""
    parts = path.parts
    if "backprop" in parts:
        index = len(parts) - 1 - parts[::-1].index("backprop")
        return "/".join(("src",) + parts[index:])
    return path.name


def _dedent(text: str) -> str:
    """Remove the common indentation, so a method reads as if it stood at the top level."""
    lines = text.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def glue(name: str, value: object, display: bool = False) -> None:
    """Keep ``value`` under ``name`` for the book's prose (``{glue:text}`name```), as MyST-NB's
    ``glue`` does, when MyST-NB is installed (the site's build); elsewhere (JupyterLab, Colab,
    a plain Jupyter with only this library) do nothing visible, so the chapter still runs.

    The student notebooks carry the glued values written into their text, so nothing is lost
    where MyST-NB is absent.
    """
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy scalar: its text must read as a number, e.g. 1.5
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)
