"""Reading a pandas or polars frame's rows, and returning it with typed result columns.

A polars frame comes back as polars and a pandas one as pandas, with the same rows,
order and index; neither library is imported unless the frame is one of its own, and
nothing here needs pyarrow. Result columns get a dtype by their kind (float fields
are float columns, whole numbers nullable integers, yes/no nullable booleans), so a
failed row's empty cell does not turn a whole column into objects.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from glm_magics.errors import ParameterError

__all__ = ["BOOKKEEPING", "check_new_columns", "frame_library", "frame_rows", "with_columns"]

#: The columns every result has besides the answer's: why a row failed, asks, tokens.
BOOKKEEPING = ("glm_error", "glm_attempts", "glm_tokens")

_PANDAS_DTYPES = {"text": "object", "int": "Int64", "float": "float64", "bool": "boolean"}


def frame_library(frame: object) -> str:
    """``"pandas"`` or ``"polars"``; ParameterError saying what to pass for anything else."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(frame, pandas.DataFrame):
        return "pandas"
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(frame, polars.DataFrame):
        return "polars"
    if polars is not None and isinstance(frame, polars.LazyFrame):
        raise ParameterError("a polars LazyFrame must be collected first: pass frame.collect()")
    if pandas is not None and isinstance(frame, pandas.Series):
        raise ParameterError("pass a DataFrame (series.to_frame()), not a Series")
    raise ParameterError(
        f"map_rows takes a pandas or polars DataFrame, got {type(frame).__module__}."
        f"{type(frame).__qualname__}"
    )


def frame_rows(frame: Any, library: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The column names and the rows as dicts, in order."""
    if library == "pandas":
        columns = [str(column) for column in frame.columns]
        records = frame.to_dict("records")
        return columns, [{str(k): v for k, v in record.items()} for record in records]
    return list(frame.columns), frame.to_dicts()


def check_new_columns(columns: list[str], names: list[str]) -> None:
    """ParameterError when a result column would overwrite one of the frame's."""
    clash = [name for name in names if name in columns]
    if clash:
        raise ParameterError(
            f"the frame already has a column {clash[0]!r}: pass column=... (or rename the "
            "schema's field) so the result does not overwrite it"
        )


def with_columns(
    frame: Any, library: str, columns: Mapping[str, list[Any]], kinds: Mapping[str, str]
) -> Any:
    """A copy of ``frame`` with ``columns`` added, typed by ``kinds`` (``text``, ``int``,
    ``float``, ``bool`` or ``object``); see :func:`check_new_columns` first."""
    if library == "pandas":
        import pandas

        out = frame.copy()
        for name, values in columns.items():
            dtype = _PANDAS_DTYPES.get(kinds.get(name, "object"), "object")
            out[name] = pandas.Series(values, index=frame.index, dtype=dtype)
        return out
    import polars

    dtypes = {
        "text": polars.String,
        "int": polars.Int64,
        "float": polars.Float64,
        "bool": polars.Boolean,
    }
    series = [
        polars.Series(name, values, dtype=dtypes.get(kinds.get(name, "object"), polars.Object))
        for name, values in columns.items()
    ]
    return frame.with_columns(series)
