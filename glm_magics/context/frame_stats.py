"""Facts about the columns of a pandas or polars frame, computed fast, from a sample when large.

:mod:`glm_magics.context.frames` decides how much of a frame a prompt can afford;
this module finds the facts. Each library gets an adapter with the same small surface,
so both render through one formatter and read the same:

* ``labels`` / ``dtypes``: the schema as text, cheap even for thousands of columns;
* ``column(i)``: :class:`ColumnFacts` for one column, computed only when asked for;
* ``index_line()`` and ``head(rows)``: the index and the first rows, as escaped text.

The pandas and polars adapters live in :mod:`~glm_magics.context.frame_adapters`.

A frame longer than the sampling threshold is described from every ``step``-th row
(``iloc[::step]`` / ``gather_every``): deterministic, vectorised, and about 100,000
rows however long the frame is. Row counts stay exact, and so do null counts wherever
the library knows them without visiting every value (polars always; pandas except
object and Python-backed string columns, whose null counts are scaled up from the
sample and flagged as estimates).

Privacy is enforced here rather than in the renderer: with ``private=True`` an adapter
never computes top values or index labels, and reports nothing about text,
categorical or object columns beyond counts and lengths, so no cell of those columns
can reach a summary by accident.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ColumnFacts",
    "FrameAdapter",
    "Request",
    "cell",
    "cut",
    "literal",
    "number",
    "quartiles",
    "sample_step",
    "short_float",
    "top_values",
]

Kind = Literal["numeric", "bool", "temporal", "text", "categorical", "other"]

TOP_VALUES = 5
_QUARTILES = [0.25, 0.5, 0.75]
# Markdown table cells: keep each row on one line and each cell inside its pipes.
_CELL_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t", "|": "\\|", "`": "\\`"})


@dataclass(frozen=True)
class Request:
    """What the adapters need to know from :class:`~glm_magics.context.frames.ContextOptions`."""

    private: bool
    cell_chars: int
    name_chars: int
    sample_threshold: int
    sample_size: int


@dataclass
class ColumnFacts:
    """What is known about one column; ``None`` or empty means not computed or not shown."""

    kind: Kind
    non_null: int
    null: int
    null_estimated: bool = False
    nan: int = 0
    distinct: int | None = None
    minimum: Any = None
    maximum: Any = None
    mean: Any = None
    quartiles: tuple[Any, ...] = ()
    true: int | None = None
    false: int | None = None
    time_zone: str | None = None
    categories: int | None = None
    top: list[tuple[Any, int]] = field(default_factory=list)
    mean_length: float | None = None
    values: str | None = None  # what an object column holds, as pandas infers it
    error: str | None = None


def sample_step(rows: int, threshold: int, size: int) -> int:
    """Take every ``step``-th row: 1 up to ``threshold`` rows, else about ``size`` rows."""
    if rows <= threshold:
        return 1
    return math.ceil(rows / max(1, min(size, threshold)))


def cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, the last one an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def literal(value: object, limit: int) -> str:
    """A column name or text value as a Python literal a model can copy into code.

    ``repr`` escapes newlines and other invisible characters and shows quotes and
    types (``'0'`` versus ``0``); backticks become ``\\x60`` (same string in Python)
    so a code fence around the summary cannot be closed from inside.
    """
    text = repr(cut(value, limit)) if isinstance(value, str) else cut(repr(value), limit)
    return text.replace("`", "\\x60")


def cell(text: str, limit: int) -> str:
    """One markdown table cell: cut, then escaped so it stays on its line and in its column."""
    text = cut(text, limit).translate(_CELL_ESCAPES)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def number(value: Any) -> str:
    """A statistic, stable and short: whole numbers exact, others to 4 significant digits."""
    if value is None:
        return "n/a"
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, int):
        return str(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if (x.is_integer() or abs(x) >= 1000) and abs(x) < 1e15:
        return str(round(x))  # 50180, not 5.018e+04
    return f"{x:.4g}"


def short_float(x: float) -> str:
    """A float cell: as Python prints it when that is short, else to 6 significant digits.

    Large numbers keep their integer part, so ``1234567.891`` reads ``1234567.9``.
    """
    text = repr(float(x))
    if len(text) <= 8 or not math.isfinite(x):
        return text
    if 1e5 <= abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}"


def quartiles(ordered: Any) -> tuple[float, ...]:
    """25/50/75% of sorted values by linear interpolation, as pandas and numpy do.

    Their ``a + (b - a) * t`` turns a quartile next to an infinity into NaN; here an
    infinite neighbour wins, as it does in the limit. Both adapters use this, so their
    quartiles agree, and one sort also gives min, max and the distinct count.
    """
    result = []
    for q in _QUARTILES:
        position = q * (len(ordered) - 1)
        low, high = float(ordered[math.floor(position)]), float(ordered[math.ceil(position)])
        t = position % 1
        if t == 0 or low == high or math.isinf(low):
            result.append(low)
        elif math.isinf(high):
            result.append(high)
        else:
            result.append(low + (high - low) * t)
    return tuple(result)


def top_values(values: list[Any], counts: list[int]) -> list[tuple[Any, int]]:
    """The most frequent values, ties broken by the value's text, never by hash order.

    ``values``/``counts`` must include every value tied with the last one kept. Columns
    whose values are all distinct get none: their example rows say as much.
    """
    if not counts or max(counts) <= 1:
        return []
    pairs = zip(values, counts, strict=True)
    return heapq.nsmallest(TOP_VALUES, pairs, key=lambda p: (-p[1], str(p[0]), type(p[0]).__name__))


class FrameAdapter:
    """The surface :mod:`~glm_magics.context.frames` reads; one subclass per library."""

    library: str
    kind: str  # "DataFrame" or "Series"
    n_rows: int
    step: int  # statistics from every step-th row
    sample_rows: int
    labels: list[str]
    dtypes: list[str]
    duplicate_names: bool = False

    def __init__(self, request: Request) -> None:
        self.request = request

    def column(self, i: int) -> ColumnFacts:
        """Facts about column ``i``; a failure becomes a note in the summary, not an error."""
        try:
            return self._column(i)
        except Exception as error:  # a summary must not break on one odd column
            return ColumnFacts(kind="other", non_null=0, null=0, error=type(error).__name__)

    def _column(self, i: int) -> ColumnFacts:
        raise NotImplementedError

    def index_line(self) -> str | None:
        """The index, described in one line (``None`` for libraries without one)."""
        return None

    def head(self, rows: int) -> tuple[list[str], list[list[str]]]:
        """Header and cells of the first ``rows`` rows, cut and escaped for a markdown table."""
        raise NotImplementedError

    def _name(self, name: object) -> str:
        return literal(name, self.request.name_chars)

    def _cell(self, value: object, null: str) -> str:
        if value is None:
            text = null
        elif isinstance(value, float):
            text = short_float(value)
        else:
            text = str(value)
        return cell(text, self.request.cell_chars)

    def _text_facts(self, facts: ColumnFacts, values: list[Any], counts: list[int]) -> None:
        if not self.request.private:
            facts.top = top_values(values, counts)
