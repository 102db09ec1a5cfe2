"""Facts about the columns of a pandas or polars frame, computed fast, from a sample when large.

:mod:`glm_magics.dataframe_context` decides how much of a frame a prompt can afford;
this module finds the facts. Each library gets an adapter with the same small surface,
so both render through one formatter and read the same:

* ``labels`` / ``dtypes``: the schema as text, cheap even for thousands of columns;
* ``column(i)``: :class:`ColumnFacts` for one column, computed only when asked for;
* ``index_line()`` and ``head(rows)``: the index and the first rows, as escaped text.

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
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ColumnFacts",
    "FrameAdapter",
    "PandasAdapter",
    "PolarsAdapter",
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
    """What the adapters need to know from :class:`~.dataframe_context.ContextOptions`."""

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
    """The surface :mod:`~.dataframe_context` reads; one subclass per library."""

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


class PandasAdapter(FrameAdapter):
    """pandas ``DataFrame`` or ``Series`` (a Series reads as a one-column frame)."""

    library = "pandas"

    def __init__(self, obj: Any, request: Request) -> None:
        super().__init__(request)
        self._pd: Any = sys.modules["pandas"]
        self._np: Any = sys.modules["numpy"]
        series = isinstance(obj, self._pd.Series)
        self._obj = obj
        self.n_rows = len(obj)
        self.step = sample_step(self.n_rows, request.sample_threshold, request.sample_size)
        self._sample = obj.iloc[:: self.step] if self.step > 1 else obj
        self.kind = "Series" if series else "DataFrame"
        self.sample_rows = len(self._sample)
        if series:
            self.labels = ["(unnamed)" if obj.name is None else self._name(obj.name)]
            self.dtypes = [str(obj.dtype)]
        else:
            self.labels = [self._name(name) for name in obj.columns.tolist()]
            self.dtypes = [str(dtype) for dtype in obj.dtypes.tolist()]
            self.duplicate_names = not obj.columns.is_unique

    def _series(self, obj: Any, i: int) -> Any:
        return obj if self.kind == "Series" else obj.iloc[:, i]

    def _column(self, i: int) -> ColumnFacts:
        pd, types = self._pd, self._pd.api.types
        full, sample = self._series(self._obj, i), self._series(self._sample, i)
        dtype = full.dtype
        if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype) or (
            types.is_object_dtype(dtype) and types.infer_dtype(sample, skipna=True) == "string"
        ):
            return self._text(full, sample)
        facts = self._counts(full, sample)
        values = sample.dropna()
        if types.is_bool_dtype(dtype):
            facts.kind = "bool"
            if len(values):
                facts.true = int(values.sum())
                facts.false = len(values) - facts.true
        elif types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype):
            facts.kind = "numeric"
            ordered = self._sorted(values.to_numpy(), facts)
            if len(ordered):
                facts.minimum, facts.maximum, facts.mean = ordered[0], ordered[-1], values.mean()
                facts.quartiles = quartiles(ordered)
        elif types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
            facts.kind = "temporal"
            self._sorted(values.astype("int64").to_numpy(), facts)  # instants, any time zone
            tz = getattr(dtype, "tz", None)
            facts.time_zone = None if tz is None else str(tz)
            if len(values):
                facts.minimum, facts.maximum = values.min(), values.max()
        else:
            if types.is_object_dtype(dtype) and len(values):
                facts.values = types.infer_dtype(values, skipna=True)
            try:
                facts.distinct = int(values.nunique())
            except TypeError:  # lists, dicts and other unhashable values
                facts.distinct = None
        return facts

    def _sorted(self, values: Any, facts: ColumnFacts) -> Any:
        """``values`` sorted, with their distinct count: faster than hashing for numbers."""
        ordered = self._np.sort(values)
        facts.distinct = int(self._np.count_nonzero(ordered[1:] != ordered[:-1])) + len(ordered[:1])
        return ordered

    def _text(self, full: Any, sample: Any) -> ColumnFacts:
        """Text and categorical columns, from one ``value_counts`` of the sample."""
        counts = sample.value_counts()  # nulls left out, zero-count categories kept
        counts = counts[counts > 0]
        found = int(counts.sum())
        facts = self._counts(full, sample, sample_nulls=len(sample) - found)
        dtype = full.dtype
        if isinstance(dtype, self._pd.CategoricalDtype):
            facts.kind = "categorical"
            facts.categories = len(dtype.categories)
            strings = dtype.categories.inferred_type == "string"
        else:
            facts.kind, strings = "text", True
        if strings and found:
            lengths = counts.index.astype(str).str.len().to_numpy()
            facts.mean_length = float((lengths * counts.to_numpy()).sum() / found)
        facts.distinct = len(counts)
        if len(counts) > TOP_VALUES:
            counts = counts[counts >= counts.iloc[TOP_VALUES - 1]]  # sorted by count
        self._text_facts(facts, counts.index.tolist(), counts.tolist())
        return facts

    def _counts(self, full: Any, sample: Any, sample_nulls: int | None = None) -> ColumnFacts:
        """Null counts: exact where cheap, else scaled up from the sample and marked."""
        dtype, types = full.dtype, self._pd.api.types
        if isinstance(dtype, self._pd.api.extensions.ExtensionDtype):
            pass
        elif dtype.kind in "iub":  # numpy integers and booleans cannot hold a null
            return ColumnFacts(kind="other", non_null=self.n_rows, null=0)
        if sample_nulls is None:
            sample_nulls = int(sample.isna().sum())
        if self.step == 1:
            null = sample_nulls
        elif types.is_object_dtype(dtype) or getattr(dtype, "storage", None) == "python":
            # Visiting 10 million Python objects costs ~0.4 s a column: scale up the sample.
            null = round(sample_nulls * self.n_rows / len(sample))
            return ColumnFacts("other", self.n_rows - null, null, null_estimated=True)
        else:
            null = int(full.isna().sum())
        return ColumnFacts(kind="other", non_null=self.n_rows - null, null=null)

    def index_line(self) -> str:
        pd = self._pd
        index = self._obj.index
        kind = type(index).__name__
        names = [name for name in index.names if name is not None]
        named = "".join(f" {self._name(name)}" for name in names)
        if isinstance(index, pd.RangeIndex):
            if not len(index):
                return f"{kind}{named} (empty)"
            step = f" step {index.step}" if index.step != 1 else ""
            return f"{kind}{named} {index[0]}…{index[-1]}{step}"
        if isinstance(index, pd.MultiIndex):
            levels = ", ".join(
                f"{f'level {i}' if name is None else self._name(name)} {level.dtype}"
                f" ({len(level):,} values)"
                for i, (name, level) in enumerate(zip(index.names, index.levels, strict=True))
            )
            return f"{kind}, {index.nlevels} levels: {levels}"
        line = f"{kind}{named}, dtype {index.dtype}"
        if self.step == 1:
            line += ", unique" if index.is_unique else ", with repeated labels"
        if len(index) and not self.request.private:
            first, last = (self._cell(label, "None") for label in (index[0], index[-1]))
            line += f", first {first}, last {last}"
        return line

    def head(self, rows: int) -> tuple[list[str], list[list[str]]]:
        head = self._obj.head(rows)
        names = [name for name in head.index.names if name is not None]
        header = [cell(", ".join(self._name(name) for name in names), self.request.name_chars)]
        header += [cell(label, self.request.name_chars) for label in self.labels]
        if self.kind == "Series":
            columns = [head.tolist()]
        else:
            columns = [head.iloc[:, j].tolist() for j in range(head.shape[1])]
        table = []
        for r, label in enumerate(head.index.tolist()):
            shown = ", ".join(map(str, label)) if isinstance(label, tuple) else label
            table.append([self._cell(shown, "None")] + [self._cell(c[r], "None") for c in columns])
        return header, table


class PolarsAdapter(FrameAdapter):
    """polars ``DataFrame`` or ``Series``. Polars has no index; NaN is a value, not a null."""

    library = "polars"

    def __init__(self, obj: Any, request: Request) -> None:
        super().__init__(request)
        self._pl: Any = sys.modules["polars"]
        series = isinstance(obj, self._pl.Series)
        self._frame = obj.to_frame() if series else obj
        self.n_rows = self._frame.height
        self.step = sample_step(self.n_rows, request.sample_threshold, request.sample_size)
        self._sample = self._frame.gather_every(self.step) if self.step > 1 else self._frame
        self.kind = "Series" if series else "DataFrame"
        self.sample_rows = self._sample.height
        self.labels = [self._name(name) for name in self._frame.columns]
        self.dtypes = [self._dtype(dtype) for dtype in self._frame.dtypes]

    def _dtype(self, dtype: Any) -> str:
        """Polars dtype as text, without the category values an ``Enum`` repr lists."""
        pl = self._pl
        if isinstance(dtype, pl.Enum):
            return f"Enum({len(dtype.categories):,} categories)"
        if isinstance(dtype, pl.Categorical):
            return "Categorical"
        if isinstance(dtype, pl.List):
            return f"List({self._dtype(dtype.inner)})"
        if isinstance(dtype, pl.Array):
            return f"Array({self._dtype(dtype.inner)}, shape={dtype.shape})"
        if isinstance(dtype, pl.Struct):
            fields = ", ".join(
                f"{self._name(f.name)}: {self._dtype(f.dtype)}" for f in dtype.fields
            )
            return f"Struct({{{fields}}})"
        return str(dtype)

    def _column(self, i: int) -> ColumnFacts:
        pl = self._pl
        full, sample = self._frame.to_series(i), self._sample.to_series(i)
        dtype = full.dtype
        null = full.null_count()
        facts = ColumnFacts(kind="other", non_null=self.n_rows - null, null=null)
        values = sample.drop_nulls()
        if dtype == pl.Boolean:
            facts.kind = "bool"
            if len(values):
                facts.true = int(values.sum())
                facts.false = len(values) - facts.true
        elif dtype.is_numeric():
            facts.kind = "numeric"
            if dtype.is_float():
                facts.nan = int(full.is_nan().sum())
                values = values.filter(values.is_not_nan())
            ordered = values.sort()
            facts.distinct = ordered.n_unique()  # fast on sorted data
            if len(values):
                mean = (values.cast(pl.Float64) if dtype.is_decimal() else values).mean()
                facts.minimum, facts.maximum, facts.mean = ordered[0], ordered[-1], mean
                facts.quartiles = quartiles(ordered)
        elif dtype.is_temporal():
            facts.kind = "temporal"
            facts.distinct = values.sort().n_unique()
            facts.time_zone = getattr(dtype, "time_zone", None)
            if len(values):
                facts.minimum, facts.maximum = values.min(), values.max()
        elif dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
            # An Enum's category count is in its dtype text already.
            facts.kind = "text" if dtype == pl.String else "categorical"
            counts = values.rename("v").value_counts(sort=True, name="n")
            counts = counts.with_columns(pl.col("v").cast(pl.String), pl.col("n").cast(pl.Int64))
            found = int(counts["n"].sum())
            if found:
                lengths = counts["v"].str.len_chars().cast(pl.Int64)
                facts.mean_length = float((lengths * counts["n"]).sum() / found)
            facts.distinct = counts.height
            if counts.height > TOP_VALUES:
                counts = counts.filter(pl.col("n") >= counts["n"][TOP_VALUES - 1])
            self._text_facts(facts, counts["v"].to_list(), counts["n"].to_list())
        else:
            try:
                facts.distinct = values.n_unique()
            except Exception:  # Object columns may hold unhashable values
                facts.distinct = None
        return facts

    def head(self, rows: int) -> tuple[list[str], list[list[str]]]:
        header = [cell(label, self.request.name_chars) for label in self.labels]
        table = [[self._cell(v, "null") for v in row] for row in self._frame.head(rows).rows()]
        return header, table
