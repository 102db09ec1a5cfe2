"""The pandas and polars adapters of :mod:`~glm_magics.context.frame_stats`.

Each reads one library's frame through the same small surface
(:class:`~glm_magics.context.frame_stats.FrameAdapter`), vectorised, from an evenly
spaced sample when the frame is long. Neither library is imported here: an adapter
is made only for an object whose library is already loaded.
"""

from __future__ import annotations

import sys
from typing import Any

from glm_magics.context.frame_stats import (
    TOP_VALUES,
    ColumnFacts,
    FrameAdapter,
    Request,
    cell,
    quartiles,
    sample_step,
)

__all__ = ["PandasAdapter", "PolarsAdapter"]


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
