"""Short, deterministic text summaries of pandas and polars frames for a prompt.

``%%glm -d df1,df2 --rows N`` attaches one summary per frame, and ``%glm context NAME``
shows it. A model writing code for a frame needs its shape, names, dtypes and a
feel for the values, not the data, so a summary holds:

* a header (library, numbers of rows and columns) and, for pandas, the index;
* one line per column: dtype, null and distinct counts, and by kind min/max/mean and
  quartiles, true/false counts, a datetime range, or the most frequent values and
  their mean length;
* the first ``rows`` rows as a markdown table, each cell cut to ``max_cell_chars``.

Three promises, each tested:

* **Deterministic**: the same data gives the same bytes. Large frames are sampled
  by taking evenly spaced rows, ties between top values are broken by value, and
  numbers are printed to four significant digits.
* **Private by choice**: ``rows=0`` sends no cell values of text, categorical or
  object columns, and no index labels: only the schema, counts, lengths, and the
  numeric, boolean and datetime statistics.
* **Bounded**: the estimated tokens (:func:`~glm_magics.tokens.estimate_tokens`)
  never exceed ``token_budget``. Detail goes in steps (fewer example rows, then no
  top values or quartiles, then names and dtypes only, then only the first columns)
  and the summary says what was left out.

Example::

    summary = summarize(df, "df", ContextOptions(rows=3))
    print(summary.text, summary.tokens, summary.omitted)

pandas and polars are never imported here: an object is recognised only if its
library is already in ``sys.modules``, so ``import glm_magics`` stays cheap.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from glm_magics.context.frame_adapters import PandasAdapter, PolarsAdapter
from glm_magics.context.frame_stats import ColumnFacts, FrameAdapter, Request, literal, number
from glm_magics.tokens import estimate_tokens

__all__ = ["DEFAULT_OPTIONS", "ContextOptions", "FrameSummary", "is_frame", "summarize"]

Detail = Literal["full", "brief", "schema"]
_DTYPE_GROUPS = 5  # dtypes listed for the columns left out
_TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class ContextOptions:
    """How much of a frame to show.

    ``rows`` example rows (``0``: schema and statistics only, no cell values);
    ``token_budget`` estimated tokens per frame; ``max_cell_chars`` characters per
    cell or top value (column names get twice as many); frames longer than
    ``sample_threshold`` rows take their statistics from about ``sample_size`` (at most
    ``sample_threshold``) evenly spaced rows, first row included.
    """

    rows: int = 5
    token_budget: int = 2000
    max_cell_chars: int = 60
    sample_threshold: int = 1_000_000
    sample_size: int = 100_000

    def __post_init__(self) -> None:
        for name, lowest in (
            ("rows", 0),
            ("token_budget", 1),
            ("max_cell_chars", 2),
            ("sample_threshold", 1),
            ("sample_size", 1),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
                raise ValueError(f"ContextOptions.{name} must be an integer >= {lowest}: {value!r}")


DEFAULT_OPTIONS = ContextOptions()


@dataclass(frozen=True)
class FrameSummary:
    """A frame's summary: ``text`` for the prompt and what it cost and left out."""

    name: str
    text: str
    tokens: int
    sampled: bool
    omitted: list[str]  # human-readable, e.g. "showing 200 of 3,000 columns"


def is_frame(obj: object) -> bool:
    """Whether :func:`summarize` accepts ``obj``: a pandas or polars DataFrame or Series.

    A polars ``LazyFrame`` is not a frame here: summarising it would run its query.
    """
    return _library(obj) is not None


def summarize(obj: object, name: str, options: ContextOptions = DEFAULT_OPTIONS) -> FrameSummary:
    """Summarise ``obj`` (called ``name`` in the notebook) within ``options.token_budget``.

    Raises ``TypeError`` for anything :func:`is_frame` refuses, saying what to pass.
    """
    library = _library(obj)
    if library is None:
        raise TypeError(_refusal(obj, name))
    with warnings.catch_warnings():
        # numpy warns about inf - inf and empty slices; a summary should not.
        warnings.simplefilter("ignore")
        adapter = _adapt(obj, library, options)
        return _Summary(adapter, name, options).build()


def _library(obj: object) -> str | None:
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(obj, pandas.DataFrame | pandas.Series):
        return "pandas"
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(obj, polars.DataFrame | polars.Series):
        return "polars"
    return None


def _refusal(obj: object, name: str) -> str:
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(obj, polars.LazyFrame):
        return (
            f"{name!r} is a polars LazyFrame, which cannot be summarised without running it: "
            f"pass {name}.collect() or {name}.head(1000).collect()"
        )
    return (
        f"{name!r} is a {type(obj).__module__}.{type(obj).__qualname__}, "
        "not a pandas or polars DataFrame or Series"
    )


def _adapt(obj: object, library: str, options: ContextOptions) -> FrameAdapter:
    request = Request(
        private=options.rows == 0,
        cell_chars=options.max_cell_chars,
        name_chars=2 * options.max_cell_chars,
        sample_threshold=options.sample_threshold,
        sample_size=options.sample_size,
    )
    if library == "pandas":
        return PandasAdapter(obj, request)
    return PolarsAdapter(obj, request)


class _Summary:
    """Tries ever shorter versions of the text until one fits the budget."""

    def __init__(self, frame: FrameAdapter, name: str, options: ContextOptions) -> None:
        self.frame = frame
        self.name = name
        self.options = options
        self.table: tuple[list[str], list[list[str]]] | None = None
        self.preamble = self._preamble()

    def build(self) -> FrameSummary:
        """Full statistics, then brief ones, then names and dtypes, then the first columns.

        At each level, as many example rows as fit (up to ``rows``).
        """
        schema = [self._line(i, None, "schema") for i in range(len(self.frame.labels))]
        if self._fits(self._text(schema, 0, "schema")):
            facts = self._facts()
            if facts is not None:
                for detail in ("full", "brief"):
                    lines = [self._line(i, fact, detail) for i, fact in enumerate(facts)]
                    shown = self._most_rows(lines, detail)
                    if shown is not None:
                        return self._done(self._text(lines, shown, detail), shown, detail)
            shown = self._most_rows(schema, "schema") or 0
            return self._done(self._text(schema, shown, "schema"), shown, "schema")
        columns = _largest(
            1, len(schema), lambda k: self._fits(self._text(schema[:k], 0, "schema"))
        )
        text = self._text(schema[: columns or 0], 0, "schema")
        return self._done(text, 0, "schema", columns or 0)

    def _facts(self) -> list[ColumnFacts] | None:
        """Every column's facts, or ``None`` once even their brief lines overflow the budget.

        Stopping early keeps a wide frame from paying for statistics it cannot show.
        ``estimate_tokens`` of a line overshoots by less than one token (it rounds up),
        so the running sum stays a lower bound of the final text's estimate.
        """
        floor = estimate_tokens("\n".join(self.preamble)) - 1
        facts = []
        for i in range(len(self.frame.labels)):
            facts.append(self.frame.column(i))
            floor += estimate_tokens(self._line(i, facts[-1], "brief")) - 1
            if floor > self.options.token_budget:
                return None
        return facts

    def _most_rows(self, lines: list[str], detail: Detail) -> int | None:
        """The most example rows that fit beside ``lines``; ``None`` if not even zero do."""
        return _largest(0, self.options.rows, lambda r: self._fits(self._text(lines, r, detail)))

    def _fits(self, text: str) -> bool:
        return estimate_tokens(text) <= self.options.token_budget

    def _done(
        self, text: str, rows: int, detail: Detail, columns: int | None = None
    ) -> FrameSummary:
        omitted = self._omitted(rows, detail)
        total = len(self.frame.labels)
        if columns is not None and columns < total:
            omitted.insert(0, f"showing {columns:,} of {total:,} columns")
        if not self._fits(text):  # not even the header fits
            while text and not self._fits(text + "…"):
                text = text[: len(text) * 9 // 10]
            text += "…"
            omitted.append("the text was cut to fit the token budget")
        return FrameSummary(
            name=self.name,
            text=text,
            tokens=estimate_tokens(text),
            sampled=self.frame.step > 1,
            omitted=omitted,
        )

    def _preamble(self) -> list[str]:
        """The lines above the columns, the same at every level of detail."""
        frame = self.frame
        header = [self._header()]
        index = frame.index_line()
        if index is not None:
            header.append(f"Index: {index}")
        if frame.step > 1:
            header.append(
                f"Note: statistics from a deterministic sample of {frame.sample_rows:,} of "
                f"{frame.n_rows:,} rows (one row in {frame.step:,}): distinct counts, value counts"
                " and min/max/mean/quartiles describe the sample; row and null counts are exact"
                " unless marked ≈."
            )
        if frame.duplicate_names:
            header.append("Note: some column names repeat; select them by position.")
        if self.options.rows == 0:
            header.append(
                "No cell values shown (rows=0): no example rows, top values or index labels."
            )
        return header

    def _text(self, lines: list[str], rows: int, detail: Detail) -> str:
        frame = self.frame
        shown = len(lines)
        body = ["Columns:" if frame.kind == "DataFrame" else "Values:", *lines]
        if shown < len(frame.labels):
            body.append(self._rest(shown))
        body += self._table(rows)
        left_out = self._omitted(rows, detail)
        if left_out:
            body.append("Left out to fit the token budget: " + "; ".join(left_out) + ".")
        return "\n".join(self.preamble + body)

    def _header(self) -> str:
        frame = self.frame
        name = " ".join(self.name.replace("`", "'").split())
        title = f"{frame.kind} `{name}` ({frame.library}): {_many(frame.n_rows, 'row')}"
        if frame.kind == "Series":
            return f"{title}, dtype {frame.dtypes[0]}"
        return f"{title} {_TIMES} {_many(len(frame.labels), 'column')}"

    def _rest(self, shown: int) -> str:
        total = len(self.frame.labels)
        groups = Counter(self.frame.dtypes[shown:]).most_common()
        listed = ", ".join(f"{n:,} {dtype}" for dtype, n in groups[:_DTYPE_GROUPS])
        if len(groups) > _DTYPE_GROUPS:
            listed += ", …"
        return f"(showing {shown:,} of {total:,} columns; not shown: {listed})"

    def _table(self, rows: int) -> list[str]:
        if rows == 0 or self.frame.n_rows == 0:
            return []
        if self.table is None:
            self.table = self.frame.head(self.options.rows)
        header, cells = self.table
        title = (
            f"All {_many(len(cells), 'row')}:"
            if rows >= self.frame.n_rows
            else f"First {_many(rows, 'row')}:"
        )
        lines = [title, _row(header), _row(["---"] * len(header))]
        return lines + [_row(row) for row in cells[:rows]]

    def _omitted(self, rows: int, detail: Detail) -> list[str]:
        wanted = min(self.options.rows, self.frame.n_rows)
        left_out = []
        if detail == "schema":
            left_out.append("column statistics (names and dtypes only)")
        elif detail == "brief":
            left_out.append("top values, quartiles and string lengths")
        if rows < wanted:
            left_out.append(f"example rows ({rows} of {wanted} shown)" if rows else "example rows")
        return left_out

    def _line(self, i: int, facts: ColumnFacts | None, detail: Detail) -> str:
        line = f"- {self.frame.labels[i]}: {self.frame.dtypes[i]}"
        if facts is None or detail == "schema":
            return line
        parts = [line, *_counts(facts), *_brief(facts)]
        if detail == "full":
            parts += _details(facts, self.options.max_cell_chars)
        return "; ".join(parts)


def _counts(facts: ColumnFacts) -> list[str]:
    if facts.error is not None:
        return [f"statistics unavailable ({facts.error})"]
    mark = "≈" if facts.null_estimated else ""
    text = f"{mark}{facts.non_null:,} non-null, {mark}{facts.null:,} null"
    if facts.nan:
        text += f", {facts.nan:,} NaN"
    if facts.distinct is not None:
        text += f", {facts.distinct:,} distinct"
    return [text]


def _brief(facts: ColumnFacts) -> list[str]:
    if facts.kind == "numeric" and facts.minimum is not None:
        low, high, mean = (number(x) for x in (facts.minimum, facts.maximum, facts.mean))
        return [f"min {low}, max {high}, mean {mean}"]
    if facts.kind == "bool" and facts.true is not None:
        return [f"true {facts.true:,}, false {facts.false or 0:,}"]
    if facts.kind == "temporal" and facts.minimum is not None:
        zone = f" ({facts.time_zone})" if facts.time_zone else ""
        return [f"from {facts.minimum} to {facts.maximum}{zone}"]
    if facts.kind == "temporal" and facts.time_zone:
        return [f"time zone {facts.time_zone}"]
    if facts.categories is not None:
        return [f"{facts.categories:,} categor{'y' if facts.categories == 1 else 'ies'}"]
    if facts.values is not None:
        return [f"values: {facts.values}"]
    return []


def _details(facts: ColumnFacts, chars: int) -> list[str]:
    parts = []
    if facts.quartiles:
        parts.append("25/50/75% " + ", ".join(number(q) for q in facts.quartiles))
    if facts.top:
        parts.append("top " + ", ".join(f"{literal(v, chars)} ({n:,})" for v, n in facts.top))
    if facts.mean_length is not None:
        parts.append(f"mean length {facts.mean_length:.1f}")
    return parts


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest ``n`` in ``low..high`` with ``fits(n)``; ``fits`` must be monotonic."""
    if high < low or not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
