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

Three rules keep near misses out:

- **The pass rule** (``agrees``): every element within ``rtol`` of itself plus ``atol`` of its
  quantity's own largest magnitude, so a small quantity (a bias gradient of 1e-4) is judged on
  its own scale, not on an absolute floor. float64 answers: rtol 1e-5, atol 1e-6, loose enough
  for a habitual ``+ 1e-7`` and far too tight for a 1 % error. float32 answers, where the
  chapter works in float32: rtol 1e-4, atol 1e-5 (about 840 and 84 float32 epsilons), shown as
  "✓ up to float32 rounding"; where it does not, a float32 answer is told so, not misdiagnosed.
- **Several cases per check** (``Case``, ``run_cases``): each chosen to split a near miss (a
  batch of 1, large logits, unsorted axes); the caller's arrays are compared before and after
  each call, so an answer that changes them in place is caught and told so.
- **The library may not answer for the learner** (``forbid``): while the learner's function
  runs, a profile hook watches for calls into the library's own implementation of the same
  thing (its code objects, however it was imported); such an answer fails and says why. Each
  check lists the library helpers it allows.
"""

from __future__ import annotations

import ast
import dis
import html
import inspect
import re
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CheckResult", "Row", "Mistake", "NotDone", "BadReturn", "NOT_DONE", "run_check",
    "distinguish_exact", "Case", "run_cases", "agrees", "note_case", "RULE64", "RULE32",
    "KEEPDIMS", "then_harder",
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
# order, or in float32, still matches, while two different mistakes (1 % apart or more) do not.
HINT_TOLERANCE = 1e-4


class _NotDoneType:
    """The value of a quantity the learner has not filled in yet (``...`` or ``None``)."""

    def __repr__(self) -> str:
        return "NOT_DONE"


NOT_DONE = _NotDoneType()


class NotDone(Exception):
    """Raised by an exercise's adapter when the learner's function is still a skeleton."""


class BadReturn(Exception):
    """Raised by an exercise's adapter when the learner's function returns the wrong kind of
    thing (a tuple of 2 where 3 are expected, a missing key); the message says what is expected,
    and ``hint`` (optional) what the likely mistake is."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


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
        note: str | None = None,
    ) -> None:
        self.exercise = exercise
        self.status = status
        self.rows = list(rows)
        self.message = message
        self.hint = hint
        self.note = note
        self.columns = ("quantity", "expected shape", "your shape", "verdict")

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
        if self.note:
            lines.append(f"Note: {self.note}")
        if self.rows:
            header = self.columns
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
        if self.note:
            parts.append(f"<p><strong>Note:</strong> {_e(self.note)}</p>")
        if self.rows:
            parts.append("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in self.columns)
                         + "</tr></thead><tbody>")
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


# The pass rule: (rtol, atol) per dtype of the learner's answer; see the module docstring.
RULE64 = (1e-5, 1e-6)
RULE32 = (1e-4, 1e-5)


def agrees(received: np.ndarray, expected: np.ndarray, rule: tuple[float, float] = RULE64) -> bool:
    """Same shape, and every element ``|r - e| <= rtol |e| + atol * scale``, where ``scale`` is
    the largest magnitude of the expected quantity itself (1 if it is all zeros).

    Relative to the quantity's own scale, never to an absolute floor: a 1 % error in a bias
    gradient of size 1e-4 fails as surely as in a weight gradient of size 10 (the course's old
    fixed rule, 1e-5 + 1e-3 |n|, let a 5 % error in a gradient of 1e-4 through). Within a quantity, an
    element much smaller than the largest (where rounding dominates) is judged against the
    ``atol`` share of the scale, so a right answer computed in another order is not failed.
    Non-finite values must sit where the expected ones do.
    """
    if received.shape != expected.shape:
        return False
    finite = np.isfinite(expected)
    if not np.array_equal(np.isfinite(received), finite) or not np.array_equal(
            received[~finite], expected[~finite]):
        return False
    rtol, atol = rule
    e, r = expected[finite], received[finite]
    scale = float(np.max(np.abs(e), initial=0.0)) or 1.0
    return bool(np.all(np.abs(r - e) <= rtol * np.abs(e) + atol * scale))


def close(received: np.ndarray, expected: np.ndarray, tol: float) -> bool:
    """Every difference at most ``tol`` times the largest expected magnitude: how hints are
    matched (a known mistake computed in another order still matches)."""
    if received.shape != expected.shape:
        return False
    finite = np.isfinite(expected)
    if not np.all(np.isfinite(received)) or not np.all(finite):
        # nan and inf where the other has them, the same infinities, the rest close
        if not (np.array_equal(np.isfinite(received), finite) and np.array_equal(
                received[~finite], expected[~finite], equal_nan=True)):
            return False
        received, expected = received[finite], expected[finite]
    scale = float(np.max(np.abs(expected), initial=0.0)) or 1.0
    return bool(np.max(np.abs(received - expected), initial=0.0) <= tol * scale)


def tol_text(tol: float) -> str:
    """1e-08 -> '1e-8': the tolerance as a person writes it."""
    mantissa, exponent = f"{tol:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def is_float32(value: Any) -> bool:
    """Whether the learner's value is float32 (an array, or a NumPy scalar)."""
    return getattr(value, "dtype", None) == np.float32


ONLY32 = "✗ right only up to float32 rounding"
NEARLY = "✗ close, but not within the rule"


def verdict(received: Any, expected: np.ndarray, tol: float | None = None,
            float32: bool = False) -> tuple[str, bool]:
    """The verdict text and whether it passes. Passing verdicts hold no digits but the
    tolerance (``tol`` = 0 asks for equality: "✓ exact"); a wrong value shows its largest
    difference (2 significant digits) when that is large enough not to be rounding noise.

    ``tol`` is the float64 rule's rtol (its atol a tenth of it); ``None`` is ``RULE64``.
    ``float32``: the chapter works in float32, so a float32 answer is judged by ``RULE32`` and
    passes as "✓ up to float32 rounding". Otherwise an answer right only at float32's precision
    gets its own verdict, not a wrong diagnosis."""
    if received is NOT_DONE:
        return "… not done", False
    array = as_array(received)
    if array is None:
        return f"✗ not an array ({type(received).__name__})", False
    if array.shape != expected.shape:
        return "✗ wrong shape", False
    rule = RULE64 if tol is None else (tol, tol / 10)
    if np.array_equal(array, expected) and (tol == 0 or DISTINGUISH_EXACT):
        return "✓ exact", True
    if tol != 0 and is_float32(received) and agrees(array, expected, RULE32):
        return ("✓ up to float32 rounding", True) if float32 else (ONLY32, False)
    if tol != 0 and agrees(array, expected, rule):
        return f"✓ within {tol_text(rule[0])}", True
    if tol != 0 and agrees(array, expected, RULE32):
        return NEARLY, False
    if not np.all(np.isfinite(array)):
        return "✗ wrong: holds nan or inf", False
    difference = float(np.max(np.abs(array - expected)))
    if difference > 1e-6:
        return f"✗ wrong: max difference {difference:.2g}", False
    return "✗ wrong: off by less than 1e-6", False


def diagnose(received: Any, expected: np.ndarray, batch: int | None = None,
             products: bool = True, gradient: bool = True) -> str | None:
    """Recognise the mistakes any gradient can suffer; ``None`` if none fits.

    ``batch`` is the batch size of the case this quantity comes from (``None`` when the case has
    no batch: then no hint speaks of one). ``products``: whether the exercise has a matrix
    product whose factors could be swapped (otherwise a transpose is described as such)."""
    array = as_array(received)
    if array is None:
        return None
    same = lambda a, b: close(a, b, HINT_TOLERANCE)  # noqa: E731
    swapped = ("check the order of the factors in your matrix product." if products else
               "rows and columns are swapped (a `.T`, or an index [:, i] where [i] was meant).")
    if array.shape != expected.shape:
        if array.ndim == 2 and array.shape == expected.shape[::-1]:
            if same(array.T, expected):
                return ("it is transposed: the right numbers, rows and columns swapped. " +
                        swapped[0].upper() + swapped[1:])
            return ("its shape is the transpose of the expected one: " +
                    ("the order of the factors in a matrix product is probably swapped."
                     if products else "rows and columns are swapped."))
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
        if not gradient:
            return (f"the result must have {_shape_words(expected)}, not {_shape_words(array)}: "
                    "which sizes does your code read from its arguments?")
        return (f"a gradient always has the shape of the thing it is the gradient of: "
                f"{_shape_words(expected)}, not {_shape_words(array)}.")
    if not np.all(np.isfinite(array)) and np.all(np.isfinite(expected)):
        return ("it holds nan or inf where the right values are finite: something overflows "
                "(an exp of a large number?) or divides by zero.")
    if not np.any(array) and np.any(expected):
        return "it is all zeros: is a result computed but never stored or returned?"
    if not gradient:
        return None  # the gradient hints below (sign, 1/N, a constant factor) do not apply
    if same(array, -expected):
        return ("the sign is flipped: check the direction of a subtraction, "
                "e.g. (p - t) vs (t - p).")
    if batch and batch > 1:
        if same(array, expected * batch):
            return (f"it is {batch} times too large, and {batch} is this case's batch size: a "
                    "1/N of the mean over the batch is missing.")
        if same(array, expected / batch):
            return (f"it is {batch} times too small, and {batch} is this case's batch size: "
                    "there is one 1/N too many (was it already in the incoming gradient?).")
    if array.ndim == 2 and array.shape[0] == array.shape[1] and same(array.T, expected):
        return "it is transposed: " + swapped
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


@dataclass(frozen=True)
class Case:
    """One set of inputs a check tries: ``args()`` builds fresh ones each call.

    ``label`` is added to the quantities' names ("dW, batch 1"; "" for none), ``batch`` is the
    batch size of these inputs (for the hints that speak of one), and ``note`` says what this
    case tries, for the hint when an answer right in an earlier case is wrong here."""

    label: str
    args: Callable[[], tuple]
    batch: int | None = None
    note: str = ""


class InputChanged(Exception):
    """The learner's function changed one of the caller's arrays in place."""

    def __init__(self, case: str, argument: str, how: str | None = None) -> None:
        super().__init__(f"{argument} changed in the case {case}")
        self.case, self.argument, self.how = case, argument, how


class _Progress:
    """What the run of one function got through: the quantities so far, and for each quantity
    the case it came from. Kept so that a failure part-way can still show the table."""

    def __init__(self) -> None:
        self.out: dict[str, Any] = {}
        self.case: Case | None = None
        self.case_of: dict[str, Case] = {}
        self.cases: list[Case] = []

    def enter(self, case: Case) -> None:
        self.case = case
        self.cases.append(case)

    def record(self, values: dict[str, Any]) -> None:
        self.out.update(values)
        if self.case is not None:
            self.case_of.update({key: self.case for key in values})


_PROGRESS: list[_Progress] = [_Progress()]


def note_case(label: str, batch: int | None = None, note: str = "") -> None:
    """For an adapter that calls the learner itself: the case it is about to try."""
    _PROGRESS[-1].enter(Case(label, tuple, batch, note))


def note_values(values: dict[str, Any]) -> None:
    """For an adapter that calls the learner itself: quantities read so far."""
    _PROGRESS[-1].record(values)


def _snapshot(value: Any) -> Any:
    """A copy of the arrays in ``value`` (in lists, tuples and dicts too), to compare after."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value) if isinstance(value, list) else tuple(
            _snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def _unchanged(now: Any, before: Any) -> bool:
    if isinstance(before, np.ndarray):
        return (isinstance(now, np.ndarray) and now.dtype == before.dtype
                and np.array_equal(now, before, equal_nan=now.dtype.kind in "fc"))
    if isinstance(before, (list, tuple)):
        return (isinstance(now, (list, tuple)) and len(now) == len(before)
                and all(_unchanged(a, b) for a, b in zip(now, before)))
    if isinstance(before, dict):
        return (isinstance(now, dict) and now.keys() == before.keys()
                and all(_unchanged(now[k], before[k]) for k in before))
    return True


def _shell(value: Any) -> Any:
    """Which objects the caller handed over (arrays by identity, with their shape), to tell
    afterwards HOW an argument was changed, not only that it was."""
    if isinstance(value, np.ndarray):
        return ("array", id(value), value.shape)
    if isinstance(value, list):
        return ("list", [id(v) for v in value], [_shell(v) for v in value])
    if isinstance(value, tuple):
        return ("tuple", None, [_shell(v) for v in value])
    return None


def _how_changed(now: Any, shell: Any, name: str) -> str | None:
    """A hint naming what the function did to the caller's argument ``name``: items of a list
    replaced, or an array's ``.shape`` set; ``None`` for a change of values (an in-place op)."""
    if shell is None:
        return None
    kind, ids, inner = shell
    if kind == "array":
        if isinstance(now, np.ndarray) and id(now) == ids and now.shape != inner:
            return (f"`{name}.shape = ...` (or `{name}.resize`) reshapes the caller's array "
                    f"itself: after your function returns, their {name} has shape {now.shape}, "
                    f"not {inner}. `{name}.reshape(...)` (or np.reshape) returns a new view "
                    "with the new shape and leaves the caller's array as it was.")
        return None
    if not isinstance(now, (list, tuple)):
        return None
    if kind == "list" and isinstance(now, list):
        if len(now) != len(ids):
            return (f"the caller's list `{name}` now has {len(now)} items, not {len(ids)}: an "
                    f"append, pop or slice assignment on `{name}` itself. Build a new list "
                    "and return it.")
        if any(id(v) != i for v, i in zip(now, ids)):
            return (f"`{name}[i] = ...` replaces the items of the caller's list `{name}` (its "
                    "arrays are left alone, but the caller's list now holds your new ones). "
                    "Build a new list and return it, e.g. `[g * factor for g in "
                    f"{name}]`; leave `{name}` as it was.")
    for index, (item, sub) in enumerate(zip(now, inner)):
        how = _how_changed(item, sub, f"{name}[{index}]")
        if how:
            return how
    return None


def _argument_names(solution: Callable[..., Any], count: int) -> list[str]:
    solution = getattr(solution, "learner", solution)  # a _Guarded learner: its own signature
    try:
        names = list(inspect.signature(solution).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(count)]


def run_cases(
    solution: Callable[..., Any],
    cases: Sequence[Case],
    names: Sequence[str],
    *,
    read: Callable[[Any, Sequence[str]], dict[str, Any]] | None = None,
    may_change: Sequence[int] = (),
) -> dict[str, Any]:
    """Call ``solution(*case.args())`` for every case and read its quantities.

    ``read(result, names)`` maps a result onto ``{name: value}`` (default ``returned``); each name
    gets the case's label. The arguments are compared before and after each call: a function
    that changes one (other than those in ``may_change``) raises ``InputChanged``."""
    read = read or returned
    progress = _PROGRESS[-1]
    out: dict[str, Any] = {}
    for case in cases:
        args = case.args()
        before = [_snapshot(a) for a in args]
        shells = [_shell(a) for a in args]
        progress.enter(case)
        with np.errstate(all="ignore"):  # an overflow is diagnosed in the table, not warned
            result = solution(*args)
        values = {(f"{key}, {case.label}" if case.label else key): value
                  for key, value in read(result, names).items()}
        progress.record(values)
        out.update(values)
        for index, (now, then) in enumerate(zip(args, before)):
            if index not in may_change and not _unchanged(now, then):
                name = _argument_names(solution, len(args))[index]
                raise InputChanged(case.label, name, _how_changed(now, shells[index], name))
    return out


# ----------------------------------------------------------------------------- the library's own


def _codes(function: Any) -> list[Any]:
    """The code objects of ``function`` and of every function defined inside it."""
    function = getattr(function, "__func__", function)
    code = getattr(function, "__code__", None)
    if code is None:
        return []
    found, todo = [], [code]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(c for c in current.co_consts if hasattr(c, "co_code"))
    return found


def library(*specs: tuple[Any, str, str]) -> dict[Any, str]:
    """``{code object: shown name}`` for ``(owner, attribute, shown name)`` triples; an attribute
    the owner lacks (an engine refactored since) is skipped, never an error."""
    codes: dict[Any, str] = {}
    for owner, attribute, shown in specs:
        function = getattr(owner, attribute, None)
        for code in _codes(function):
            codes.setdefault(code, shown)
    return codes


def autograd_engines() -> dict[Any, str]:
    """``backward()`` of this library's Tensor, and of PyTorch's if it is already imported: an
    autograd engine computing the gradient the learner is asked to write."""
    from backprop import autograd

    specs = [(autograd.Tensor, "backward", "backprop.autograd.Tensor.backward")]
    torch = sys.modules.get("torch")
    if torch is not None:
        specs += [(getattr(torch, "Tensor", None), "backward", "torch.Tensor.backward"),
                  (getattr(torch, "autograd", None), "grad", "torch.autograd.grad"),
                  (getattr(torch, "autograd", None), "backward", "torch.autograd.backward")]
    return library(*specs)


class _Guarded:
    """The learner's function, run under a profile hook that notes every call into a forbidden
    code object: the library's own implementation of what the exercise asks for."""

    def __init__(self, learner: Callable[..., Any], forbidden: dict[Any, str]) -> None:
        self.learner, self.forbidden = learner, forbidden
        self.called: list[str] = []
        self.__name__ = getattr(learner, "__name__", "your function")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.watch(lambda: self.learner(*args, **kwargs))

    def watch(self, action: Callable[[], Any]) -> Any:
        """Run ``action()`` (which uses the learner's code) under the hook."""
        if not self.forbidden:
            return action()
        forbidden, called, previous = self.forbidden, self.called, sys.getprofile()

        def hook(frame: Any, event: str, arg: Any) -> None:
            if event == "call" and frame.f_code in forbidden:
                name = forbidden[frame.f_code]
                if name not in called:
                    called.append(name)
            if callable(previous):
                previous(frame, event, arg)

        sys.setprofile(hook)
        try:
            return action()
        finally:
            sys.setprofile(previous)


def watched(solution: Any, action: Callable[[Any], Any]) -> Any:
    """``action(learner)``, run under the guard when ``solution`` is the guarded learner: for an
    exercise whose answer is a class, whose methods the adapter calls itself."""
    if isinstance(solution, _Guarded):
        return solution.watch(lambda: action(solution.learner))
    return action(solution)


# ----------------------------------------------------------------------------- the check


def then_harder(first: CheckResult, harder: Callable[[], CheckResult],
                where_right: str) -> CheckResult:
    """A check's first cases, then harder ones (``harder()``, run only once the first pass):
    ``first`` if both pass, else the harder cases' result, its message opened by
    ``where_right`` (what the answer got right), so an answer with a value written in where
    it should use an argument fails, and says where it was right."""
    if not first.passed:
        return first
    second = harder()
    if second.passed:
        return first
    if second.status == "failed":
        second.message = where_right + second.message
    return second


def run_check(
    exercise: str,
    learner: Callable[..., Any],
    run: Callable[[Callable[..., Any]], dict[str, Any]],
    reference: Callable[..., Any],
    *,
    mistakes: Sequence[Mistake] = (),
    batch: int | None = None,
    tol: float | None = None,
    float32: bool = False,
    products: bool = True,
    gradient: bool = True,
    forbid: dict[Any, str] | None = None,
    allowed: str = "NumPy",
    changed_hint: str | dict[str, str] | None = None,
    error_hints: Sequence[tuple[type[BaseException], str, str]] = (),
    explain: Callable[[Callable[..., Any]], str | None] | None = None,
    locate: Callable[[str, Any, np.ndarray], str | None] | None = None,
) -> CheckResult:
    """Check ``learner`` against ``reference``, both run through ``run``.

    ``run(f)`` calls ``f`` on the exercise's inputs (fresh copies each time, usually through
    ``run_cases``) and returns ``{quantity name: value}`` in backward order; it raises
    ``NotDone`` for a skeleton and ``BadReturn`` for a result of the wrong form. Running the
    reference through the same adapter means the expected values come from one code path: the
    library's own.

    ``batch``: the batch size when the cases do not say it. ``tol``: the float64 rule's rtol
    (``None``: ``RULE64``; 0: equality). ``float32``: the chapter works in float32, so float32
    answers pass up to its rounding. ``products``: the exercise has a matrix product (for the
    transposed-hint's wording). ``gradient``: the quantities are gradients (otherwise the
    gradient-specific hints, sign and 1/N, are not tried). ``forbid``: ``{code object: name}``
    of the library's own implementation (``reference`` is always added), which the learner's
    function may not call; ``allowed`` says what it may use. ``changed_hint``: the hint when an
    argument comes back changed (default: build new arrays instead of changing the caller's);
    a dict gives one per argument name.
    ``error_hints`` are ``(exception type, text in the message, hint)`` for exceptions that a
    known mistake raises. ``explain(learner)``, when the answer is wrong, may return a hint about
    its structure that outranks the value-based hints. ``locate(first wrong quantity, its
    value, the right value)``, tried last when no other hint fits, may name the step the mistake lies in (the quantity is
    wrong while the ones it is computed from are right) and the kinds of mistake made there.
    """
    name = getattr(learner, "__name__", "your function")
    if not callable(learner):
        return CheckResult(exercise, "error", message=(
            f"expected a function, got {type(learner).__name__}: pass the function itself, "
            "without calling it."))
    _PROGRESS.append(_Progress())
    try:
        expected = run(reference)
        cases = _PROGRESS[-1].case_of
    finally:
        _PROGRESS.pop()
    forbidden = dict(forbid or {})
    for code in _codes(reference):
        shown = getattr(reference, "__name__", "")
        forbidden.setdefault(code, f"the check's own reference `{shown}`")
    guarded = _Guarded(learner, forbidden)
    progress = _Progress()
    _PROGRESS.append(progress)
    try:
        received = run(guarded)
    except NotDone:
        if progress.out:
            return _partial(exercise, expected, progress, f"`{name}` returned None in the case "
                            f"{_case_words(progress)}. Is a `return` missing on some path?",
                            None, "failed", float32, tol)
        if not is_skeleton(learner):
            return CheckResult(exercise, "failed", message=(
                f"`{name}` returned None. Is a `return` statement missing at the end of it?"))
        return _not_done(exercise, name, expected)
    except NotImplementedError:
        return _not_done(exercise, name, expected)
    except BadReturn as error:
        if progress.out:
            return _partial(exercise, expected, progress, f"`{name}` {error} (in the case "
                            f"{_case_words(progress)})", error.hint, "failed", float32, tol)
        return CheckResult(exercise, "failed", message=f"`{name}` {error}", hint=error.hint)
    except InputChanged as change:
        return _partial(
            exercise, expected, progress,
            f"`{name}` changed the caller's `{change.argument}` in place (in the case "
            f"{_case_words(progress)}); the exercise asks you to leave your inputs alone.",
            change.how or (changed_hint.get(change.argument) if isinstance(changed_hint, dict)
                           else changed_hint) or f"an in-place operation (`{change.argument} -= ...`, "
            f"`{change.argument}[...] = ...`, "
            f"`/=`, or an update of a slice or view of it) writes into the caller's array. "
            "Build a new array instead (`a - b` rather than `a -= b`), or work on a `.copy()`.",
            "failed", float32, tol)
    except Exception as error:  # the learner's own code failed: report it, do not raise
        result = _learner_error(exercise, name, learner, error, error_hints, generic=False)
        if progress.case is None:
            result.hint = result.hint or _generic_hint(error)
            return result
        result.message += f" in the case {_case_words(progress)}"
        rows = _rows(expected, progress.out, float32, tol, reached=False)
        if any(row.done and not row.ok for row in rows):  # an earlier case is already wrong
            judged = _judge(exercise, name, learner, expected, progress.out, rows, cases, run,
                            mistakes, batch, products, explain, gradient, tol == 0, locate)
            judged.message += (f" (Then {result.message[0].lower()}{result.message[1:]}.)")
            return judged
        result.rows = rows
        if not result.hint and progress.out and progress.case.note:
            result.hint = f"the earlier cases ran; this one differs: {progress.case.note}"
        result.hint = result.hint or _generic_hint(error)
        return result
    finally:
        _PROGRESS.pop()

    rows = _rows(expected, received, float32, tol)
    if guarded.called:
        calls = ", ".join(f"`{c}`" for c in guarded.called)
        which = "which compute" if len(guarded.called) > 1 else "which computes"
        return CheckResult(exercise, "failed", rows, (
            f"`{name}` calls the library's own {calls}, {which} what this exercise asks "
            f"you to write; the check does not count it. Allowed here: {allowed}."),
            "write the computation yourself; the library's version is there to compare with "
            "afterwards, not to call.")
    if any(row.done and not row.ok for row in rows):
        return _judge(exercise, name, learner, expected, received, rows, cases, run, mistakes,
                      batch, products, explain, gradient, tol == 0, locate)
    missing = [row.name for row in rows if not row.done]
    if missing:
        done = len(rows) - len(missing)
        names = list(dict.fromkeys(_base(name) for name in missing))
        return CheckResult(exercise, "not done", rows,
                           f"not done yet: {done} of {len(rows)} quantities filled in, all right "
                           f"so far; still missing {', '.join(names)}.")
    what = {1: "the one quantity is", 2: "both quantities are"}.get(
        len(rows), f"all {len(rows)} quantities are")
    message = f"{what} right."
    if any(row.verdict == "✓ up to float32 rounding" for row in rows):
        message = f"{what} right up to float32 rounding."
    return CheckResult(exercise, "passed", rows, message)


def _judge(exercise: str, name: str, learner: Callable[..., Any], expected: dict[str, Any],
           received: dict[str, Any], rows: list[Row], cases: dict[str, Any],
           run: Callable[..., Any], mistakes: Sequence[Mistake], batch: int | None,
           products: bool, explain: Callable[..., str | None] | None,
           gradient: bool = True, exact: bool = False,
           locate: Callable[[str, Any, np.ndarray], str | None] | None = None) -> CheckResult:
    """The verdict on a wrong answer: the first wrong quantity, and the most specific hint."""
    first_wrong = next(row.name for row in rows if row.done and not row.ok)
    want = np.asarray(expected[first_wrong], dtype=np.float64)
    got = received[first_wrong]
    message = (f"the first wrong quantity is {first_wrong} (expected shape "
               f"{shape_text(want)}, yours {shape_text(got)}).")
    row = next(row for row in rows if row.name == first_wrong)
    case = cases.get(first_wrong)
    case_batch = case.batch if case is not None and case.batch is not None else batch
    # nan or inf where the right values are finite is never float32 rounding: no float32 hint.
    array = as_array(got)
    blown = (array is not None and array.shape == want.shape
             and bool(np.any(~np.isfinite(array) & np.isfinite(want))))
    hint = ((explain(learner) if explain else None)
            or (None if blown else _float32_hint(row, got, False))
            or (_float32_elsewhere(rows, row) if is_float32(got) and not blown else None)
            or _integer_dtype(got, want)
            or _known_mistake(run, mistakes, first_wrong, got, received, exact, want,
                              right=_right_before(rows, first_wrong))
            or _swapped(first_wrong, received, expected)
            or (None if blown else _float32_elsewhere(rows, row)))
    if hint is None:
        generic = diagnose(got, want, case_batch, products, gradient)
        if generic is None or generic.startswith("every value is"):
            array = as_array(got)
            ratio = (_constant_ratio(array, want) if array is not None
                     and array.shape == want.shape else None)
            hint = _earlier_case(first_wrong, rows, cases, ratio) or (
                _factor_over_cases(first_wrong, rows, expected, received, generic)
                if generic else None)
        else:
            hint = generic
    if hint is None and locate is not None:
        hint = locate(first_wrong, got, want)
    return CheckResult(exercise, "failed", rows, message, hint)


def _factor_over_cases(key: str, rows: Sequence[Row], expected: dict[str, Any],
                       received: dict[str, Any], generic: str) -> str:
    """"Every value is k times the expected one" is said only when it holds: for every element
    of every case of this quantity that is wrong, the same k. One wrong number alone, or a ratio
    that differs from case to case (1/b where b.grad forgot a factor, i1/i2 where a gradient
    took the wrong input), is a factor taken from the wrong place, not a constant."""
    ratios, count = [], 0
    for row in rows:
        if _base(row.name) != _base(key) or not row.done or row.ok:
            continue
        mine = as_array(received.get(row.name, NOT_DONE))
        want = np.asarray(expected[row.name], dtype=np.float64)
        if mine is None or mine.shape != want.shape:
            return generic
        ratios.append(_constant_ratio(mine, want))
        count += int(np.count_nonzero(want))
    first = ratios[0] if ratios else None
    if first is not None and count >= 2 and all(
            r is not None and abs(r - first) <= 1e-6 * abs(first) for r in ratios):
        return generic
    if first is not None and count == 1:
        return (f"this one value is {first:.3g} times the expected one, and it is the only "
                f"value of {_base(key)} that is off, so nothing says the factor is a constant: "
                "is one factor of the product taken from the wrong operand or input (i1 for "
                "i2, a for b, a neighbour's weight), or is a constant missing or extra?")
    return ("your values are off by a factor that varies from value to value (or from case "
            "to case), so it is no constant: is a factor taken from the wrong operand or "
            "input, or left out where it is not 1?")


def _rows(expected: dict[str, Any], received: dict[str, Any], float32: bool,
          tol: float | None, reached: bool = True) -> list[Row]:
    """The table: one row per expected quantity; those the run never reached say so."""
    rows = []
    for key, want in expected.items():
        want = np.asarray(want, dtype=np.float64)
        got = received.get(key, NOT_DONE)
        if got is NOT_DONE and not reached:
            rows.append(Row(key, shape_text(want), "—", "— not reached", False, False))
            continue
        text, ok = verdict(got, want, tol, float32)
        rows.append(Row(key, shape_text(want), shape_text(got), text, ok, got is not NOT_DONE))
    return rows


def _base(name: str) -> str:
    """A quantity's name without its case: "dW, batch 1" -> "dW"."""
    return name.split(", ")[0]


def _case_words(progress: _Progress) -> str:
    case = progress.case
    if case is None:
        return "given"
    number = len(progress.cases)
    label = case.label or "the first"
    return f"«{label}» (case {number})"


def _partial(exercise: str, expected: dict[str, Any], progress: _Progress, message: str,
             hint: str | None, status: str, float32: bool, tol: float | None) -> CheckResult:
    return CheckResult(exercise, status, _rows(expected, progress.out, float32, tol,
                                               reached=False), message, hint)


def _float32_hint(row: Row, got: Any, float32: bool) -> str | None:
    if row.verdict not in (ONLY32, NEARLY):
        return None
    if row.verdict == ONLY32:
        return ("your values are right up to float32 rounding, but this exercise works in "
                "float64 (its inputs are float64): where does a float32 come in? Keep the "
                "inputs' dtype.")
    return ("your values agree to about 4 or 5 digits, not to the 1e-5 the check asks: is "
            "something computed in float32 on the way (an astype(np.float32))? Or is a small "
            "number added for safety (+ 1e-7) where it changes the result, to a value that is "
            "itself tiny, rather than to a denominator?")


def _float32_elsewhere(rows: Sequence[Row], wrong: Row) -> str | None:
    """Other cases are right only up to float32 rounding: float32 is the likeliest reason this
    one is off by more (a difference of nearby numbers, or a division by a small one, magnifies
    float32's rounding), whatever known mistake its values happen to lie near."""
    others = [r.name for r in rows if r is not wrong and r.verdict in (ONLY32, NEARLY)]
    if not others:
        return None
    where = ", ".join(f"«{name}»" for name in others)
    return (f"your {where} {'is' if len(others) == 1 else 'are'} right up to float32 rounding "
            f"only, and your {wrong.name} is off by more: is something computed in float32 on "
            "the way (an astype(np.float32), a float32 copy of an input)? float32 keeps about 7 "
            "digits, and subtracting two nearly equal numbers, or dividing by a small one, "
            "loses several of them. This exercise works in float64: keep the inputs' dtype.")


def _earlier_case(key: str, rows: Sequence[Row], cases: dict[str, Any],
                  ratio: float | None = None) -> str | None:
    """The quantity was right in an earlier case and is wrong in this one: say what differs
    (the batch size, when ``ratio``, the learner's value over the right one, is their ratio)."""
    case = cases.get(key)
    if case is None:
        return None
    base = key[: -len(case.label) - 2] if case.label and key.endswith(", " + case.label) else key
    for row in rows:
        if row.name == key:
            break  # only a case tried BEFORE this one says "right there, wrong here"
        other = cases.get(row.name)
        if other is None or other is case or not row.ok:
            continue
        other_base = (row.name[: -len(other.label) - 2] if other.label else row.name)
        if other_base == base:
            what = case.note or ("its inputs differ, so something in your code holds for the "
                                 "first inputs only: a size, a count or a value written in "
                                 "where it should be read from the arguments?")
            if case.batch and other.batch and case.batch != other.batch and ratio is not None \
                    and any(abs(ratio - r) < 1e-6 * r for r in (other.batch / case.batch,
                                                                case.batch / other.batch)):
                what = (f"its batch has {case.batch} examples, not {other.batch}, and your "
                        f"values are {ratio:.3g} times the right ones: is the first case's batch "
                        "size written into your code, instead of read from the arguments?")
            return f"{base} is right in the case «{other.label}» but not in «{case.label}»: {what}"
    return None


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
            return (f"your {_base(key)} and {_base(other)} hold each other's values: they are "
                    "returned in the wrong order, or under each other's names.")
    return None


def _not_done(exercise: str, name: str, expected: dict[str, Any]) -> CheckResult:
    rows = [Row(key, shape_text(np.asarray(value)), "—", "… not done", False, False)
            for key, value in expected.items()]
    return CheckResult(exercise, "not done", rows,
                       f"not done yet: write the body of `{name}`, then run this cell again.")


def _known_mistake(run: Callable, mistakes: Sequence[Mistake], key: str, got: Any,
                   received: dict[str, Any] | None = None, exact: bool = False,
                   want: np.ndarray | None = None,
                   right: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The hint of the listed mistake whose wrong solution computes the learner's value of
    ``key``; when several do, the one that agrees with most of the learner's other quantities
    (two mistakes can give the same first wrong value and differ later). A mistake whose values
    lie further from the learner's than the right ones (``want``) explains nothing: a near
    miss of another kind (float32 rounding) can fall within the hint tolerance of both. Nor
    does a mistake that would change a quantity the learner got ``right`` before ``key`` (Adam's
    m, when only the new theta is wrong): the learner did not make it, whatever it does to
    ``key``."""
    array = as_array(got)
    if array is None:
        return None
    off = (float(np.max(np.abs(array - want), initial=0.0))
           if want is not None and array.shape == want.shape else None)
    best, best_score = None, -1
    for mistake in mistakes:
        if mistake.quantities and key.split(",")[0] not in mistake.quantities:
            continue
        _PROGRESS.append(_Progress())
        try:
            values = run(mistake.solution)
        except Exception:  # a wrong solution may fail on later inputs: what it got through counts
            values = _PROGRESS[-1].out
        finally:
            _PROGRESS.pop()
        wrong = values.get(key, NOT_DONE)
        wrong_array = None if wrong is NOT_DONE else as_array(wrong)
        if wrong_array is None or not close(array, wrong_array, 0.0 if exact else HINT_TOLERANCE):
            continue
        if off is not None and wrong_array.shape == array.shape and np.all(
                np.isfinite(array)) and float(np.max(np.abs(array - wrong_array),
                                                     initial=0.0)) >= off > 0:
            continue
        if received is not None and any(
                name in values and not _matches(received[name], values[name])
                for name in right if name in received):
            continue
        if received is None:
            return mistake.hint
        score = sum(1 for name, value in received.items()
                    if _matches(value, values.get(name, NOT_DONE)))
        if score > best_score:
            best, best_score = mistake.hint, score
    return best


def _right_before(rows: Sequence[Row], first_wrong: str) -> set[str]:
    """The quantities the table lists before the first wrong one (all right): a mistake that
    changes one of them is not the learner's. Those listed after it may depend on it."""
    names = [row.name for row in rows]
    return set(names[: names.index(first_wrong)])


def _matches(mine: Any, theirs: Any) -> bool:
    a, b = as_array(mine), as_array(theirs)
    return a is not None and b is not None and a.shape == b.shape and close(a, b, HINT_TOLERANCE)


def _learner_error(
    exercise: str,
    name: str,
    learner: Callable[..., Any],
    error: BaseException,
    error_hints: Sequence[tuple[type[BaseException], str, str]],
    generic: bool = True,
) -> CheckResult:
    """Say which exception the learner's code raised, and on which of its lines; the hint is
    the exercise's own for that exception, else (``generic``) one for its kind."""
    message = f"`{name}` raised {type(error).__name__}: {error}"
    line = _learner_line(learner, error)
    if line:
        message += f" (in the line `{line}`)"
    hint = _error_hint(error, error_hints) or (_generic_hint(error) if generic else None)
    return CheckResult(exercise, "error", message=message, hint=hint)


# A row-wise reduction that lost its axis, met with its matrix: "shapes (5,4) (5,)".
KEEPDIMS = re.compile(r"\((\d+),\s*\d+\)\s*\(\1,\)")

# Hints for exceptions any exercise's code can raise, tried after the exercise's own.
GENERIC_ERRORS: tuple[tuple[type[BaseException], str, str], ...] = (
    (ValueError, "truth value of an array", "an `if`, `and`, `or`, `not`, or `x in list` met an "
     "array of several elements. `in` compares with == element by element: to find a tensor or "
     "array in a list, compare identities (`any(t is u for u in seen)`, or a set of `id(t)`); "
     "for a condition on an array, say which: `.any()` or `.all()`."),
    (ValueError, "matmul", "the inner sizes of a matrix product do not match: write down the "
     "shape of each factor; is one of them the transpose of what the product needs, or are the "
     "factors in the wrong order?"),
    (ValueError, KEEPDIMS, "an array of shape (N, K) met one of shape (N,): a sum or max over "
     "axis 1 without keepdims=True drops that axis, and NumPy then lines the N row totals up "
     "with the K columns. Keep the axis, `e.sum(axis=1, keepdims=True)` (shape (N, 1)), so "
     "that each row is divided by its own total."),
    (ValueError, "could not be broadcast", "two arrays whose shapes do not line up were "
     "combined: a sum or max over an axis without keepdims=True drops that axis, so (N, K) "
     "against a result of shape (N,) no longer broadcasts; write down each operand's shape."),
    (ValueError, "inhomogeneous", "np.array (or np.asarray) was given a list of arrays of "
     "different shapes, which cannot become one rectangular array: work array by array (a "
     "loop or a generator over the list), or flatten each one (g.ravel()) and join them with "
     "np.concatenate."),
    (ValueError, "must have the same shape", "the arrays have different shapes, so they cannot "
     "be stacked: flatten each one (g.ravel()) and concatenate, or work array by array."),
    (KeyError, "", "a key that the dict does not have: the docstring (and the exercise's text) "
     "lists the keys it holds; check the spelling."),
    (AttributeError, "has no attribute", "a name that does not exist: check its spelling, and "
     "that it is what this exercise's function receives; the exercise asks you to write the "
     "computation yourself rather than find it in the library."),
    (IndexError, re.compile(r"only integers|integer \(or boolean\) type"), "an index must be "
     "an integer (or a boolean mask): is an array of floats, or a float such as n / 2, used "
     "as an index? Make it integer (int(...), .astype(int), or // for a division)."),
    (IndexError, "", "an index past the end: is a size or a count written in where it should "
     "be read from the arguments (len(...), .shape)?"),
    (ZeroDivisionError, "", "a division by zero: which denominator can be 0 in these inputs?"),
)


def _error_hint(error: BaseException,
                hints: Sequence[tuple[type[BaseException], Any, str]]) -> str | None:
    """The first hint whose exception type and message fragment (text or regex) fit."""
    return next((text for kind, fragment, text in hints
                 if isinstance(error, kind) and (fragment.search(str(error))
                                                 if hasattr(fragment, "search")
                                                 else fragment in str(error))), None)


def _generic_hint(error: BaseException) -> str | None:
    return _error_hint(error, GENERIC_ERRORS)


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
        sequence = isinstance(value, (tuple, list))
        what = (f"a {type(value).__name__} of {len(value)}" if sequence
                else f"a {type(value).__name__}")
        listed = ", ".join(names)
        if sequence and len(value) < len(names):
            hint = (f"{len(value)} of the {len(names)} quantities came back: is one of "
                    f"({listed}) computed but left out of the `return`?")
        elif sequence:
            hint = (f"{len(value)} values came back where {len(names)} are expected: return "
                    f"exactly ({listed}), in that order, and nothing else.")
        else:
            hint = (f"one value came back where {len(names)} are expected: the function must "
                    f"give back every one of ({listed}), as a tuple in that order. Is one of "
                    "them computed but left out of the `return`, or never computed?")
        raise BadReturn(f"returned {what}; expected a tuple of {len(names)}: ({listed}).", hint)
    return {n: (NOT_DONE if v is None or v is Ellipsis else v) for n, v in zip(names, values)}
