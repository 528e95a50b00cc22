"""What every "Your turn" checker shares: run the learner's function safely, compare each
quantity with the reference in backward order, name the first wrong one, guess the mistake,
and show the verdict as a small table.

The design follows from how the checks are used:

- A chapter runs top to bottom with unsolved exercises, so a skeleton (a body of ``...``, which
  returns ``None``, or ``raise NotImplementedError``) is reported as "not done yet", and an
  exception inside the learner's code is reported, not raised.
- The chapters' saved outputs are compared byte for byte on other machines (nbval), so a passing
  verdict prints no rounding noise: "✓ exact" or "✓ within 1e-8", never 2.7e-17.
- The learner should find the mistake, not be handed the answer: the table shows shapes and
  verdicts, never the expected numbers; the hint names the kind of mistake only.

Hints come from two places. ``diagnose`` tries the mistakes that any gradient can suffer
(transposed, sign flipped, a missing or extra 1/N, a bias gradient not summed over the batch).
Each exercise also lists its own ``Mistake``s, written as the wrong solution a learner would write;
if the learner's value matches what that wrong solution computes, its hint is the one shown.
"""

from __future__ import annotations

import ast
import dis
import html
import inspect
import re
import textwrap
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CheckResult", "Row", "Mistake", "NotDone", "BadReturn", "NOT_DONE", "run_check",
    "distinguish_exact",
]

# Whether a float result equal to the reference bit for bit says "✓ exact" rather than
# "✓ within 1e-8". Off by default: two formulas that differ only in the order of operations
# (or a matrix product on another CPU) agree bit for bit on one machine and not on the next, so
# the word would make a saved notebook's output differ between machines. Integer results (the
# cost exercise) are always "exact". Turn on with ``distinguish_exact(True)`` to explore.
DISTINGUISH_EXACT = False


def distinguish_exact(on: bool = True) -> None:
    """Show "✓ exact" for float results equal to the reference bit for bit (see above)."""
    global DISTINGUISH_EXACT
    DISTINGUISH_EXACT = on


# Hints are matched more loosely than a verdict is given: a known mistake computed in a different
# order still matches, while two different mistakes stay far apart.
HINT_TOLERANCE = 1e-6


class _NotDoneType:
    """The value of a quantity the learner has not filled in yet (``...`` or ``None``)."""

    def __repr__(self) -> str:
        return "NOT_DONE"


NOT_DONE = _NotDoneType()


class NotDone(Exception):
    """Raised by an exercise's adapter when the learner's function is still a skeleton."""


class BadReturn(Exception):
    """Raised by an exercise's adapter when the learner's function returns the wrong kind of
    thing (a tuple of 2 where 3 are expected, a missing key); the message says what is expected."""


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: the wrong solution a learner would write, and the hint it deserves.

    ``solution`` has the learner's signature. ``quantities`` limits the match to some rows
    (e.g. only the bias gradient; a row "db, case 2" counts as "db"); empty means any row.
    """

    hint: str
    solution: Callable[..., Any]
    quantities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One line of the table: a quantity, its expected and received shapes, and the verdict."""

    name: str
    expected_shape: str
    received_shape: str
    verdict: str
    ok: bool
    done: bool = True


class CheckResult:
    """The outcome of one check: truthy when it passed, shown as a table in a notebook.

    ``status`` is "passed", "failed", "not done" or "error". ``message`` is one sentence
    (which quantity is wrong, with its shapes), ``hint`` the likely mistake or ``None``.
    """

    def __init__(
        self,
        exercise: str,
        status: str,
        rows: Sequence[Row] = (),
        message: str = "",
        hint: str | None = None,
    ) -> None:
        self.exercise = exercise
        self.status = status
        self.rows = list(rows)
        self.message = message
        self.hint = hint

    @property
    def passed(self) -> bool:
        """True when every quantity is right."""
        return self.status == "passed"

    def __bool__(self) -> bool:
        """So that a solution cell can write ``assert check.linear_backward(linear_backward)``."""
        return self.passed

    @property
    def _mark(self) -> str:
        return {"passed": "✓", "failed": "✗", "error": "✗", "not done": "…"}[self.status]

    @property
    def headline(self) -> str:
        """The first line: exercise, a mark, and the message."""
        return f"{self.exercise}: {self._mark} {self.message}"

    def __repr__(self) -> str:
        lines = [self.headline]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        if self.rows:
            header = ("quantity", "expected shape", "your shape", "verdict")
            table = [header] + [
                (r.name, r.expected_shape, r.received_shape, r.verdict) for r in self.rows
            ]
            widths = [max(len(row[i]) for row in table) for i in range(3)]
            for row in table:
                cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3]]
                lines.append("  " + "  ".join(cells).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"passed": "#1a7f37", "failed": "#b42318", "error": "#b42318",
                  "not done": "#6e7781"}[self.status]
        parts = [
            '<div class="backprop-check">',
            f'<p><strong>{_e(self.exercise)}</strong>: '
            f'<span style="color:{colour}">{_e(self._mark + " " + self.message)}</span></p>',
        ]
        if self.hint:
            parts.append(f"<p><strong>Hint:</strong> {_e(self.hint)}</p>")
        if self.rows:
            parts.append("<table><thead><tr><th>quantity</th><th>expected shape</th>"
                         "<th>your shape</th><th>verdict</th></tr></thead><tbody>")
            for r in self.rows:
                style = "" if r.ok or not r.done else ' style="color:#b42318"'
                parts.append(
                    f"<tr><td><code>{_e(r.name)}</code></td><td>{_e(r.expected_shape)}</td>"
                    f"<td>{_e(r.received_shape)}</td><td{style}>{_e(r.verdict)}</td></tr>"
                )
            parts.append("</tbody></table>")
        parts.append("</div>")
        return "\n".join(parts)


def _e(text: str) -> str:
    """Escape for HTML, and show `code` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


# ----------------------------------------------------------------------------- comparing


def as_array(value: Any) -> np.ndarray | None:
    """``value`` as a float array, or ``None`` if it is not numbers (a string, a Tensor...)."""
    if hasattr(value, "data") and isinstance(getattr(value, "data"), np.ndarray):
        return None  # a Tensor where an array is expected: reported as the wrong kind
    try:
        array = np.asarray(value)
    except Exception:  # ragged lists and the like
        return None
    if array.dtype.kind not in "biuf":
        return None
    return array.astype(np.float64)


def shape_text(value: Any) -> str:
    """How a shape is shown in the table: ``(4, 3)``, ``scalar``, or what the value is instead."""
    if value is NOT_DONE:
        return "—"
    array = as_array(value)
    if array is None:
        return type(value).__name__
    return "scalar" if array.shape == () else str(array.shape)


def close(received: np.ndarray, expected: np.ndarray, tol: float) -> bool:
    """Same shape, and every difference at most ``tol`` times the largest expected magnitude.

    Relative to the largest value, not to each element, so elements that are nearly 0 (where
    rounding dominates) do not fail a right answer.
    """
    if received.shape != expected.shape:
        return False
    if not np.all(np.isfinite(received)):
        return bool(np.array_equal(received, expected, equal_nan=True))
    scale = float(np.max(np.abs(expected), initial=0.0)) or 1.0
    return bool(np.max(np.abs(received - expected), initial=0.0) <= tol * scale)


def tol_text(tol: float) -> str:
    """1e-08 -> '1e-8': the tolerance as a person writes it."""
    mantissa, exponent = f"{tol:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def verdict(received: Any, expected: np.ndarray, tol: float) -> tuple[str, bool]:
    """The verdict text and whether it passes. Passing verdicts hold no digits but the
    tolerance (``tol`` = 0 asks for equality: "✓ exact"); a wrong value shows its largest
    difference (2 significant digits) when that is large enough not to be rounding noise."""
    if received is NOT_DONE:
        return "… not done", False
    array = as_array(received)
    if array is None:
        return f"✗ not an array ({type(received).__name__})", False
    if array.shape != expected.shape:
        return "✗ wrong shape", False
    if np.array_equal(array, expected) and (tol == 0 or DISTINGUISH_EXACT):
        return "✓ exact", True
    if close(array, expected, tol):
        return f"✓ within {tol_text(tol)}", True
    if not np.all(np.isfinite(array)):
        return "✗ wrong: holds nan or inf", False
    difference = float(np.max(np.abs(array - expected)))
    if difference > 1e-6:
        return f"✗ wrong: max difference {difference:.2g}", False
    return "✗ wrong: off by less than 1e-6", False


def diagnose(received: Any, expected: np.ndarray, batch: int | None = None) -> str | None:
    """Recognise the mistakes any gradient can suffer; ``None`` if none fits."""
    array = as_array(received)
    if array is None:
        return None
    same = lambda a, b: close(a, b, HINT_TOLERANCE)  # noqa: E731
    if array.shape != expected.shape:
        if array.ndim == 2 and array.shape == expected.shape[::-1]:
            if same(array.T, expected):
                return ("it is transposed: the right numbers, rows and columns swapped. Check the "
                        "order of the factors in your matrix product.")
            return ("its shape is the transpose of the expected one: the order of the factors "
                    "in a matrix product is probably swapped.")
        if batch and array.shape == (batch, *expected.shape):
            if same(array.sum(axis=0), expected):
                return ("one value per example: the gradient of a parameter shared by the whole "
                        "batch is the SUM over the batch axis.")
            if same(array.mean(axis=0), expected):
                return ("one value per example: reduce over the batch axis (and check whether it "
                        "should be a sum or a mean).")
        if array.size == expected.size and same(array.reshape(expected.shape), expected):
            return f"the numbers are right but the shape is not: it must be {expected.shape}."
        if expected.shape == ():
            return (f"the result must be ONE number, not {_shape_words(array)}: combine the "
                    "values into a single scalar.")
        return (f"a gradient always has the shape of the thing it is the gradient of: "
                f"{_shape_words(expected)}, not {_shape_words(array)}.")
    if not np.any(array) and np.any(expected):
        return "it is all zeros: is a result computed but never stored or returned?"
    if same(array, -expected):
        return "the sign is flipped: check the direction of a subtraction, e.g. (p - y) vs (y - p)."
    if batch and batch > 1:
        if same(array, expected * batch):
            return (f"it is {batch} times too large, the batch size: a 1/N of the mean over the "
                    "batch is missing.")
        if same(array, expected / batch):
            return (f"it is {batch} times too small, the batch size: there is one 1/N too many "
                    "(was it already in the incoming gradient?).")
    if array.ndim == 2 and array.shape[0] == array.shape[1] and same(array.T, expected):
        return "it is transposed: check the order of the factors in your matrix product."
    # For a single number any wrong value is "c times" the right one, which says nothing unless
    # c is a round factor (2, 1/2, 10): a constant counted twice or left out.
    ratio = _constant_ratio(array, expected)
    if ratio is not None and np.count_nonzero(expected) <= 1 and not _round_factor(ratio):
        ratio = None
    if ratio is not None:
        return (f"every value is {ratio:.3g} times the expected one: a constant factor is "
                "missing or extra.")
    return None


def _shape_words(array: np.ndarray) -> str:
    return "a scalar" if array.shape == () else f"shape {array.shape}"


def _round_factor(c: float) -> bool:
    """c or 1/c is a whole number from 2 to 100 (up to sign)."""
    for v in (abs(c), 1 / abs(c)):
        if 2 <= round(v) <= 100 and abs(v - round(v)) <= 1e-6 * v:
            return True
    return False


def _constant_ratio(array: np.ndarray, expected: np.ndarray) -> float | None:
    """The c with array = c * expected, if there is one (other than 1 and -1)."""
    norm = float(np.sum(expected * expected))
    if norm == 0.0:
        return None
    c = float(np.sum(array * expected)) / norm
    if abs(c) < 1e-12 or abs(abs(c) - 1) < 1e-9 or not close(array, c * expected, HINT_TOLERANCE):
        return None
    return c


# ----------------------------------------------------------------------------- running


def run_check(
    exercise: str,
    learner: Callable[..., Any],
    run: Callable[[Callable[..., Any]], dict[str, Any]],
    reference: Callable[..., Any],
    *,
    mistakes: Sequence[Mistake] = (),
    batch: int | None = None,
    tol: float = 1e-8,
    error_hints: Sequence[tuple[type[BaseException], str, str]] = (),
    explain: Callable[[Callable[..., Any]], str | None] | None = None,
) -> CheckResult:
    """Check ``learner`` against ``reference``, both run through ``run``.

    ``run(f)`` calls ``f`` on the exercise's fixed inputs (fresh copies each time) and returns
    ``{quantity name: value}`` in backward order; it raises ``NotDone`` for a skeleton and
    ``BadReturn`` for a result of the wrong form. Running the reference through the same adapter
    means the expected values come from one code path: the library's own.
    ``error_hints`` are ``(exception type, text in the message, hint)`` for exceptions that a
    known mistake raises (a broadcasting error from a forgotten ``expand_dims``).
    ``explain(learner)``, when the answer is wrong, may return a hint about its structure (a
    tensor listed twice, values in the wrong order) that outranks the value-based hints.
    """
    name = getattr(learner, "__name__", "your function")
    if not callable(learner):
        return CheckResult(exercise, "error", message=(
            f"expected a function, got {type(learner).__name__}: pass the function itself, "
            "without calling it."))
    expected = run(reference)
    try:
        received = run(learner)
    except NotDone:
        if not is_skeleton(learner):
            return CheckResult(exercise, "failed", message=(
                f"`{name}` returned None. Is a `return` statement missing at the end of it?"))
        return _not_done(exercise, name, expected)
    except NotImplementedError:
        return _not_done(exercise, name, expected)
    except BadReturn as error:
        return CheckResult(exercise, "failed", message=f"`{name}` {error}")
    except Exception as error:  # the learner's own code failed: report it, do not raise
        return _learner_error(exercise, name, learner, error, error_hints)

    rows = []
    first_wrong = None
    for key, want in expected.items():
        want = np.asarray(want, dtype=np.float64)
        got = received.get(key, NOT_DONE)
        text, ok = verdict(got, want, tol)
        rows.append(Row(key, shape_text(want), shape_text(got), text, ok, got is not NOT_DONE))
        if not ok and got is not NOT_DONE and first_wrong is None:
            first_wrong = key
    if first_wrong is not None:
        want = np.asarray(expected[first_wrong], dtype=np.float64)
        got = received[first_wrong]
        message = (f"the first wrong quantity is {first_wrong} (expected shape "
                   f"{shape_text(want)}, yours {shape_text(got)}).")
        hint = ((explain(learner) if explain else None)
                or _integer_dtype(got, want)
                or _known_mistake(run, mistakes, first_wrong, got)
                or _swapped(first_wrong, received, expected)
                or diagnose(got, want, batch))
        return CheckResult(exercise, "failed", rows, message, hint)
    missing = [row.name for row in rows if not row.done]
    if missing:
        done = len(rows) - len(missing)
        return CheckResult(exercise, "not done", rows,
                           f"not done yet: {done} of {len(rows)} quantities filled in, all right "
                           f"so far; still missing {', '.join(missing)}.")
    what = {1: "the one quantity is", 2: "both quantities are"}.get(
        len(rows), f"all {len(rows)} quantities are")
    return CheckResult(exercise, "passed", rows, f"{what} right.")


# What the body of a skeleton compiles to: `...`, `pass` or only a docstring (3.11 and 3.12).
_SKELETON_OPS = {"RESUME", "NOP", "CACHE", "LOAD_CONST", "RETURN_VALUE", "RETURN_CONST",
                 "POP_TOP"}


def is_skeleton(learner: Callable[..., Any]) -> bool:
    """Whether ``learner``'s body does nothing (``...``, ``pass``): then returning ``None`` means
    "not done yet". A body that computes something and returns ``None`` forgot its ``return``.
    Anything whose code cannot be read counts as a skeleton, the gentler verdict."""
    code = getattr(learner, "__code__", None)
    if code is None:
        return True
    if _has_placeholder(learner):
        return True
    try:
        return all(op.opname in _SKELETON_OPS for op in dis.get_instructions(code))
    except Exception:
        return True


def _has_placeholder(learner: Callable[..., Any]) -> bool:
    """Whether the function still holds a bare ``...`` statement: the student notebook's
    placeholder for the lines to write, which may follow set-up lines that do run."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(learner)))
    except (OSError, TypeError, SyntaxError):
        return False
    return any(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
               and node.value.value is Ellipsis for node in ast.walk(tree))


def _integer_dtype(got: Any, want: np.ndarray) -> str | None:
    """An integer array where fractions are expected: the fractions were cut off."""
    kind = getattr(np.asarray(got) if not hasattr(got, "backward_fn") else None, "dtype", None)
    if (kind is None or kind.kind not in "iub" or np.shape(got) != want.shape
            or np.all(want == np.round(want))):
        return None
    return (f"your result has the integer dtype {kind}, so every fraction was cut off. "
            "Build it as a float array (an array created from integers, e.g. with "
            "np.zeros_like of an integer array, stays integer).")


def _swapped(key: str, received: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """``key`` and another quantity hold each other's values: the results are swapped."""
    mine = as_array(received.get(key, NOT_DONE))
    for other, value in expected.items():
        theirs = as_array(received.get(other, NOT_DONE))
        if other == key or mine is None or theirs is None:
            continue
        want_key = np.asarray(expected[key], dtype=np.float64)
        want_other = np.asarray(value, dtype=np.float64)
        if (mine.shape == want_other.shape and theirs.shape == want_key.shape
                and close(mine, want_other, HINT_TOLERANCE)
                and close(theirs, want_key, HINT_TOLERANCE)):
            return (f"your {key} and {other} hold each other's values: they are returned in "
                    "the wrong order, or under each other's names.")
    return None


def _not_done(exercise: str, name: str, expected: dict[str, Any]) -> CheckResult:
    rows = [Row(key, shape_text(np.asarray(value)), "—", "… not done", False, False)
            for key, value in expected.items()]
    return CheckResult(exercise, "not done", rows,
                       f"not done yet: write the body of `{name}`, then run this cell again.")


def _known_mistake(run: Callable, mistakes: Sequence[Mistake], key: str, got: Any) -> str | None:
    """The hint of the first listed mistake whose wrong solution computes the learner's value."""
    array = as_array(got)
    if array is None:
        return None
    for mistake in mistakes:
        if mistake.quantities and key.split(",")[0] not in mistake.quantities:
            continue
        try:
            wrong = run(mistake.solution).get(key, NOT_DONE)
        except Exception:  # a wrong solution may fail on some inputs: it then matches nothing
            continue
        wrong_array = None if wrong is NOT_DONE else as_array(wrong)
        if wrong_array is not None and close(array, wrong_array, HINT_TOLERANCE):
            return mistake.hint
    return None


def _learner_error(
    exercise: str,
    name: str,
    learner: Callable[..., Any],
    error: BaseException,
    error_hints: Sequence[tuple[type[BaseException], str, str]],
) -> CheckResult:
    """Say which exception the learner's code raised, and on which of its lines."""
    message = f"`{name}` raised {type(error).__name__}: {error}"
    line = _learner_line(learner, error)
    if line:
        message += f" (in the line `{line}`)"
    hint = next((text for kind, fragment, text in error_hints
                 if isinstance(error, kind) and fragment in str(error)), None)
    return CheckResult(exercise, "error", message=message, hint=hint)


def _learner_line(learner: Callable[..., Any], error: BaseException) -> str | None:
    """The deepest line of the traceback that lies in the learner's cell (or file)."""
    code = getattr(learner, "__code__", None)
    if code is None:
        return None
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == code.co_filename and frame.line:
            return frame.line.strip()
    return None


def returned(value: Any, names: Sequence[str]) -> dict[str, Any]:
    """Map what the learner returned onto quantity names.

    One name: the value itself. Several: a tuple or list of that length (a dict with those keys
    also works). ``None`` or ``...`` as the whole result means a skeleton; as one element, that
    quantity is not done yet.
    """
    if value is None or value is Ellipsis:
        raise NotDone
    if len(names) == 1:
        return {names[0]: value}
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        if missing:
            raise BadReturn(f"returned a dict without the key(s) {', '.join(missing)}; "
                            f"expected the keys {', '.join(names)}.")
        values = [value[n] for n in names]
    elif isinstance(value, (tuple, list)) and len(value) == len(names):
        values = list(value)
    else:
        what = (f"a {type(value).__name__} of {len(value)}"
                if isinstance(value, (tuple, list)) else f"a {type(value).__name__}")
        raise BadReturn(f"returned {what}; expected a tuple of {len(names)}: "
                        f"({', '.join(names)}).")
    return {n: (NOT_DONE if v is None or v is Ellipsis else v) for n, v in zip(names, values)}
