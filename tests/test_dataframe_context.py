"""DataFrame summaries: contents, determinism, privacy with rows=0, the token budget, sampling."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import pytest

from glm_magics.context.frame_adapters import PandasAdapter
from glm_magics.context.frame_stats import ColumnFacts, number, quartiles, short_float
from glm_magics.context.frames import ContextOptions, FrameSummary, is_frame, summarize
from glm_magics.tokens import estimate_tokens

pd: Any = importlib.import_module("pandas")  # pandas ships no type information

PRIVATE = ContextOptions(rows=0)


def line_of(summary: FrameSummary, column: str) -> str:
    """The column line of ``column`` (a name as the summary quotes it, e.g. ``'price'``)."""
    lines = [line for line in summary.text.splitlines() if line.startswith(f"- {column}: ")]
    assert len(lines) == 1, summary.text
    return lines[0]


def mixed_data() -> dict[str, list[Any]]:
    return {
        "id": [1, 2, 3, 4, 5, 6],
        "price": [1.5, 2.25, 3.0, 4.5, 100.125, 7.0],
        "city": ["Paris", "Lyon", "Paris", "Nice", "Paris", "Lyon"],
        "ok": [True, False, True, True, False, True],
    }


def pandas_mixed() -> Any:
    df = pd.DataFrame(mixed_data())
    df["when"] = pd.date_range("2024-01-01", periods=6, freq="D", tz="Europe/Paris")
    df["kind"] = pd.Categorical(["a", "b", "a", "a", "c", "b"])
    df["n"] = pd.array([1, None, 3, 4, 5, 6], dtype="Int64")
    df["blob"] = pd.Series([1, "x", [1, 2], {"a": 1}, None, 2.5], dtype=object)
    return df


def polars_mixed() -> pl.DataFrame:
    return pl.DataFrame(mixed_data()).with_columns(
        when=pl.datetime_range(
            dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 6), "1d", eager=True
        ).dt.replace_time_zone("Europe/Paris"),
        kind=pl.Series(["a", "b", "a", "a", "c", "b"], dtype=pl.Categorical),
        n=pl.Series([1, None, 3, 4, 5, 6]),
    )


# --- what a summary says ---------------------------------------------------------------


def test_header_index_and_each_column_kind() -> None:
    summary = summarize(pandas_mixed(), "sales")
    text = summary.text
    assert text.startswith("DataFrame `sales` (pandas): 6 rows \N{MULTIPLICATION SIGN} 8 columns\n")
    assert "Index: RangeIndex 0…5" in text
    assert line_of(summary, "'id'") == (
        "- 'id': int64; 6 non-null, 0 null, 6 distinct; min 1, max 6, mean 3.5; "
        "25/50/75% 2.25, 3.5, 4.75"
    )
    assert "min 1.5, max 100.1, mean 19.73; 25/50/75% 2.438, 3.75, 6.375" in line_of(
        summary, "'price'"
    )
    assert line_of(summary, "'city'").endswith(
        "3 distinct; top 'Paris' (3), 'Lyon' (2), 'Nice' (1); mean length 4.5"
    )
    assert line_of(summary, "'ok'").endswith("; true 4, false 2")
    assert line_of(summary, "'when'").endswith(
        "from 2024-01-01 00:00:00+01:00 to 2024-01-06 00:00:00+01:00 (Europe/Paris)"
    )
    assert "3 categories; top 'a' (3), 'b' (2), 'c' (1)" in line_of(summary, "'kind'")
    assert "5 non-null, 1 null, 5 distinct; min 1, max 6" in line_of(summary, "'n'")
    assert (
        line_of(summary, "'blob'") == "- 'blob': object; 5 non-null, 1 null; values: mixed-integer"
    )
    assert "First 5 rows:" in text
    assert "| 0 | 1 | 1.5 | Paris | True | 2024-01-01 00:00:00+01:00 | a | 1 | 1 |" in text
    assert "| 5 | 6 |" not in text
    assert summary.tokens == estimate_tokens(text) and not summary.sampled and not summary.omitted


def test_a_series_reads_as_one_column() -> None:
    summary = summarize(pd.Series([3.0, 1.0, None], name="score"), "s")
    assert summary.text.startswith("Series `s` (pandas): 3 rows, dtype float64\n")
    assert (
        "Values:\n- 'score': float64; 2 non-null, 1 null, 2 distinct; min 1, max 3" in summary.text
    )
    assert "All 3 rows:" in summary.text
    unnamed = summarize(pd.Series([1, 2]), "t")
    assert "- (unnamed): int64" in unnamed.text
    polars = summarize(pl.Series("score", [3.0, 1.0, None]), "p")
    assert polars.text.startswith("Series `p` (polars): 3 rows, dtype Float64\n")
    assert "- 'score': Float64; 2 non-null, 1 null, 2 distinct; min 1, max 3" in polars.text


def test_top_values_break_ties_by_value_and_skip_all_distinct_columns() -> None:
    values = ["pear", "fig", "apple", "kiwi", "date", "plum", "lime"] * 2 + ["fig"]
    summary = summarize(pd.DataFrame({"fruit": values}), "f")
    assert "top 'fig' (3), 'apple' (2), 'date' (2), 'kiwi' (2), 'lime' (2);" in summary.text
    assert "top" not in line_of(summarize(pd.DataFrame({"u": ["a", "b", "c"]}), "u"), "'u'")


def test_long_cells_and_values_are_cut() -> None:
    long = "x" * 200
    summary = summarize(pd.DataFrame({"t": [long, long]}), "t", ContextOptions(max_cell_chars=20))
    assert "x" * 21 not in summary.text
    assert f"top '{'x' * 19}…' (2)" in summary.text
    assert f"| {'x' * 19}… |" in summary.text


def test_names_and_cells_cannot_break_the_layout() -> None:
    df = pd.DataFrame(
        {"a\nb": ["x|y"], "pipe|name": ["line\nbreak"], "tick`s": ["```"], 7: [1], ("t", 2): [2]}
    )
    text = summarize(df, "weird").text
    for line in text.splitlines()[3:8]:
        assert line.startswith("- "), text
    assert "- 'a\\nb': str" in text and "- 'tick\\x60s': str" in text
    assert "- 7: int64" in text and "- ('t', 2): int64" in text
    row = next(line for line in text.splitlines() if line.startswith("| 0 |"))
    assert row == "| 0 | x\\|y | line\\nbreak | \\`\\`\\` | 1 | 2 |"
    assert "`" not in text.replace("`weird`", "").replace("\\`", "")


def test_numbers_are_short_and_stable() -> None:
    assert [number(x) for x in (50180.5, 5003.2, 0.000231, 3.14159, 2.0, 10**18)] == [
        "50180",
        "5003",
        "0.000231",
        "3.142",
        "2",
        "1000000000000000000",
    ]
    assert [number(x) for x in (float("nan"), float("-inf"), None)] == ["nan", "-inf", "n/a"]
    assert short_float(9.735129885138292) == "9.73513" and short_float(1234567.891) == "1234567.9"
    assert quartiles([1.0, 2.0, float("inf")]) == (1.5, 2.0, float("inf"))
    assert quartiles([float("-inf"), 0.0]) == (float("-inf"), float("-inf"), float("-inf"))


# --- pandas and polars read the same ---------------------------------------------------


def test_polars_summary_matches_pandas_after_the_dtype() -> None:
    pandas, polars = summarize(pandas_mixed(), "df"), summarize(polars_mixed(), "df")
    assert polars.text.startswith(
        "DataFrame `df` (polars): 6 rows \N{MULTIPLICATION SIGN} 7 columns"
    )
    assert "Index:" not in polars.text
    for column in ("'id'", "'price'", "'city'", "'ok'", "'when'", "'n'"):
        assert (
            line_of(pandas, column).split("; ", 1)[1] == line_of(polars, column).split("; ", 1)[1]
        )
    assert line_of(polars, "'kind'").endswith("top 'a' (3), 'b' (2), 'c' (1); mean length 1.0")
    assert "| 1 | 1.5 | Paris | True | 2024-01-01 00:00:00+01:00 | a | 1 |" in polars.text


def test_polars_counts_nan_apart_from_null() -> None:
    summary = summarize(pl.DataFrame({"x": [1.0, float("nan"), None, 3.0]}), "df")
    assert (
        "- 'x': Float64; 3 non-null, 1 null, 1 NaN, 2 distinct; min 1, max 3, mean 2"
        in summary.text
    )


def test_polars_types_without_a_pandas_twin() -> None:
    df = pl.DataFrame(
        {
            "enum": pl.Series(["lo", "hi", "lo"], dtype=pl.Enum(["lo", "hi", "SECRET-ENUM-LEVEL"])),
            "lst": [[1], None, [2, 3]],
            "st": [{"a": 1}, {"a": 2}, None],
            "dec": pl.Series([Decimal("1.50"), Decimal("2.25"), None], dtype=pl.Decimal(10, 2)),
            "day": [dt.date(2024, 1, 1), dt.date(2024, 3, 1), None],
            "dur": [dt.timedelta(seconds=1), None, dt.timedelta(hours=2)],
            "obj": pl.Series([object(), 1, None], dtype=pl.Object),
            "nothing": [None, None, None],
        }
    )
    summary = summarize(df, "df", PRIVATE)
    assert "SECRET-ENUM-LEVEL" not in summary.text
    assert "- 'enum': Enum(3 categories); 3 non-null, 0 null, 2 distinct; mean length 2.0" in (
        summary.text
    )
    assert "- 'lst': List(Int64); 2 non-null, 1 null, 2 distinct" in summary.text
    assert "- 'st': Struct({'a': Int64}); 2 non-null" in summary.text
    assert "min 1.5, max 2.25, mean 1.875" in line_of(summary, "'dec'")
    assert "from 2024-01-01 to 2024-03-01" in line_of(summary, "'day'")
    assert "from 0:00:01 to 2:00:00" in line_of(summary, "'dur'")
    assert "- 'obj': Object; 2 non-null, 1 null" in summary.text
    assert "- 'nothing': Null; 0 non-null, 3 null" in summary.text
    assert "unavailable" not in summary.text


# --- deterministic ------------------------------------------------------------------------


def test_same_data_gives_the_same_bytes() -> None:
    for build in (pandas_mixed, polars_mixed):
        first = summarize(build(), "df").text
        assert summarize(build(), "df").text == first  # a frame rebuilt from the same data
    big = pd.DataFrame(
        {"x": np.arange(5_000) % 7, "t": np.array(["a", "b"], dtype=object)[np.arange(5_000) % 2]}
    )
    options = ContextOptions(sample_threshold=1_000)
    assert summarize(big, "df", options).text == summarize(big.copy(), "df", options).text


# --- private by choice ----------------------------------------------------------------------


def pandas_secrets() -> Any:
    frame = pd.DataFrame(
        {
            "name": ["SENTINEL-TEXT-1", "SENTINEL-TEXT-2", "SENTINEL-TEXT-1"],
            "kind": pd.Categorical(["SENTINEL-CAT-1", "SENTINEL-CAT-1", "SENTINEL-CAT-2"]),
            "note": np.array(["SENTINEL-OBJ-1", "SENTINEL-OBJ-1", None], dtype=object),
            "mixed": np.array(["SENTINEL-MIX-1", 2, "SENTINEL-MIX-1"], dtype=object),
            "score": [1.5, 2.5, 3.5],
        },
        index=pd.Index(["SENTINEL-IDX-1", "SENTINEL-IDX-2", "SENTINEL-IDX-3"], name="key"),
    )
    frame["note"] = frame["note"].astype(object)
    assert [str(dtype) for dtype in frame.dtypes] == [
        "str",
        "category",
        "object",
        "object",
        "float64",
    ]
    return frame


def polars_secrets() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": ["SENTINEL-TEXT-1", "SENTINEL-TEXT-2", "SENTINEL-TEXT-1"],
            "kind": pl.Series(
                ["SENTINEL-CAT-1", "SENTINEL-CAT-1", "SENTINEL-CAT-2"], dtype=pl.Categorical
            ),
            "enum": pl.Series(
                ["SENTINEL-ENUM-1"] * 3, dtype=pl.Enum(["SENTINEL-ENUM-1", "SENTINEL-ENUM-2"])
            ),
            "tags": [["SENTINEL-LIST-1"], ["SENTINEL-LIST-1"], None],
            "score": [1.5, 2.5, 3.5],
        }
    )


@pytest.mark.parametrize(
    ("build", "secrets"),
    [
        (
            pandas_secrets,
            ("TEXT-1", "TEXT-2", "CAT-1", "CAT-2", "OBJ-1", "MIX-1", "IDX-1", "IDX-3"),
        ),
        (polars_secrets, ("TEXT-1", "TEXT-2", "CAT-1", "CAT-2", "ENUM-1", "LIST-1")),
    ],
)
def test_rows_zero_sends_no_cell_value(build: Any, secrets: tuple[str, ...]) -> None:
    private = summarize(build(), "secret", PRIVATE)
    assert "SENTINEL" not in private.text
    assert (
        "'name'" in private.text and "min 1.5, max 3.5" in private.text
    )  # schema and numbers stay
    assert "No cell values shown (rows=0)" in private.text
    shown = summarize(build(), "secret", ContextOptions(rows=5)).text
    for secret in secrets:  # the same check can fail
        assert f"SENTINEL-{secret}" in shown


def test_rows_zero_hides_index_labels_but_keeps_their_shape() -> None:
    index = pd.MultiIndex.from_tuples([("SENTINEL-A", 1), ("SENTINEL-B", 2)], names=["k", "n"])
    frame = pd.DataFrame({"v": [1, 2]}, index=index)
    private = summarize(frame, "m", PRIVATE).text
    assert "SENTINEL" not in private
    assert "Index: MultiIndex, 2 levels: 'k' str (2 values), 'n' int64 (2 values)" in private
    assert "| SENTINEL-A, 1 | 1 |" in summarize(frame, "m").text
    dates = pd.DataFrame({"v": [1, 2]}, index=pd.DatetimeIndex(["2031-05-06", "2031-07-08"]))
    assert "2031" not in summarize(dates, "d", PRIVATE).text
    assert "first 2031-05-06 00:00:00, last 2031-07-08 00:00:00" in summarize(dates, "d").text


# --- bounded ---------------------------------------------------------------------------------


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_3000_columns_fit_the_budget_and_say_what_is_shown(library: str) -> None:
    names = [f"feature_{i}" for i in range(3000)]
    data = {name: [i, i + 1, i + 2] for i, name in enumerate(names)}
    frame = pd.DataFrame(data) if library == "pandas" else pl.DataFrame(data)
    summary = summarize(frame, "wide")
    assert summary.tokens <= 2000 and estimate_tokens(summary.text) == summary.tokens
    shown = summary.omitted[0]
    assert shown.startswith("showing ") and shown.endswith(" of 3,000 columns")
    assert f"({shown}; not shown: " in summary.text
    assert "column statistics (names and dtypes only)" in summary.omitted
    assert "feature_0'" in summary.text and "feature_2999" not in summary.text


def test_long_column_names_fit_the_budget() -> None:
    frame = pd.DataFrame({("n" * 95) + f"{i:05d}": [1.0, 2.0] for i in range(60)})
    summary = summarize(frame, "long")
    assert summary.tokens <= 2000
    assert summary.omitted


def test_detail_goes_in_steps_as_the_budget_shrinks() -> None:
    frame = pd.DataFrame({f"col{i}": np.arange(8.0) * i for i in range(12)})
    frame["city"] = ["Paris", "Lyon"] * 4
    full = summarize(frame, "df")
    assert not full.omitted
    seen = []
    for budget in range(full.tokens - 1, 10, -20):
        summary = summarize(frame, "df", ContextOptions(token_budget=budget))
        assert summary.tokens <= budget, (budget, summary.text)
        seen.append(tuple(summary.omitted))
    steps = [
        "example rows (4 of 5 shown)",
        "example rows",
        "top values, quartiles and string lengths",
        "column statistics (names and dtypes only)",
    ]
    flat = [item for omitted in seen for item in omitted]
    for step in steps:
        assert step in flat, step
    assert any(item.startswith("showing ") for item in flat)
    tiny = summarize(frame, "df", ContextOptions(token_budget=5))
    assert tiny.tokens <= 5 and tiny.text.endswith("…")
    assert "the text was cut to fit the token budget" in tiny.omitted


def test_wide_frames_skip_statistics_they_cannot_show(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[int] = []
    original = PandasAdapter._column

    def counting(self: PandasAdapter, i: int) -> ColumnFacts:
        computed.append(i)
        return original(self, i)

    monkeypatch.setattr(PandasAdapter, "_column", counting)
    summary = summarize(pd.DataFrame(np.zeros((3, 400))), "wide")
    assert summary.omitted[0] == "column statistics (names and dtypes only)"
    assert "- 399: float64" in summary.text
    assert 0 < len(computed) < 150


def test_cjk_values_count_heavier_and_still_fit() -> None:
    frame = pd.DataFrame({"城市": ["北京市朝阳区" * 8, "上海市浦东新区" * 8] * 3})
    summary = summarize(frame, "df", ContextOptions(token_budget=150))
    assert summary.tokens == estimate_tokens(summary.text) <= 150


# --- fast: sampling ----------------------------------------------------------------------------


def test_large_frames_are_described_from_a_sample() -> None:
    n = 5_000
    values = np.arange(n, dtype=float)
    values[::10] = np.nan
    text = np.array(["a", None, "b", "c"], dtype=object)[np.arange(n) % 4]
    frame = pd.DataFrame({"x": values, "s": text, "t": pd.Series(text, dtype=object)})
    summary = summarize(frame, "big", ContextOptions(sample_threshold=1_000))
    assert summary.sampled
    assert "statistics from a deterministic sample of 1,000 of 5,000 rows (one row in 5)" in (
        summary.text
    )
    assert "DataFrame `big` (pandas): 5,000 rows" in summary.text
    assert "- 'x': float64; 4,500 non-null, 500 null, " in summary.text  # exact: cheap to count
    assert "- 's': str; ≈3,750 non-null, ≈1,250 null, 3 distinct" in summary.text  # estimated
    assert "- 't': object; ≈3,750 non-null, ≈1,250 null, 3 distinct" in summary.text
    assert "top 'a' (250), 'b' (250), 'c' (250)" in summary.text  # counted in the sample
    polars = summarize(
        pl.DataFrame({"x": np.arange(n)}),
        "big",
        ContextOptions(sample_threshold=1_000, sample_size=500),
    )
    assert polars.sampled and "sample of 500 of 5,000 rows (one row in 10)" in polars.text
    assert "min 0, max 4990" in polars.text  # every 10th row, from the first
    assert not summarize(frame, "big").sampled


# --- edge cases ---------------------------------------------------------------------------------


def edge_frames() -> dict[str, Any]:
    nan, inf = float("nan"), float("inf")
    return {
        "empty": pd.DataFrame(),
        "empty columns": pd.DataFrame(
            {"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}
        ),
        "all null": pd.DataFrame(
            {
                "f": [nan, nan],
                "o": pd.Series([None, None], dtype=object),
                "s": pd.Series([None, None], dtype="str"),
                "d": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"),
                "c": pd.Categorical([None, None], categories=["x"]),
                "i": pd.array([None, None], dtype="Int64"),
                "b": pd.array([None, None], dtype="boolean"),
            }
        ),
        "nan and inf": pd.DataFrame({"x": [nan, inf, -inf, 1.0], "y": [inf, inf, inf, inf]}),
        "multiindex": pd.DataFrame(
            [[1, 2], [3, 4]],
            index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]),
            columns=pd.MultiIndex.from_tuples([("x", "p"), ("x", "q")]),
        ),
        "duplicate names": pd.DataFrame([[1, "a", 2.0]], columns=["v", "v", "v"]),
        "non-string names": pd.DataFrame({0: [1], 1.5: [2], None: [3], dt.date(2024, 1, 1): [4]}),
        "odd dtypes": pd.DataFrame(
            {
                "complex": [1 + 2j, 3j],
                "period": pd.period_range("2024-01", periods=2, freq="M"),
                "interval": pd.interval_range(0, 2),
                "delta": pd.to_timedelta([1, 2], unit="s"),
                "sparse": pd.arrays.SparseArray([0.0, 1.0]),
                "bytes": [b"a", b"b"],
                "decimal": [Decimal("1.5"), Decimal("2")],
                "bool object": pd.Series([True, None], dtype=object),
                "utc": pd.to_datetime(["2024-01-01", "2024-06-01"]).tz_localize("UTC"),
            }
        ),
        "unhashable": pd.DataFrame({"l": [[1], [1, 2]], "d": [{"a": 1}, {}]}),
        "polars empty": pl.DataFrame(),
        "polars empty columns": pl.DataFrame(
            {"a": pl.Series([], dtype=pl.Int64), "s": pl.Series([], dtype=pl.String)}
        ),
        "polars all null": pl.DataFrame(
            {
                "f": pl.Series([None, None], dtype=pl.Float64),
                "s": pl.Series([None, None], dtype=pl.String),
            }
        ),
        "polars nan and inf": pl.DataFrame({"x": [nan, inf, -inf, 1.0]}),
        "empty series": pd.Series([], dtype=object),
    }


@pytest.mark.parametrize("case", list(edge_frames()))
@pytest.mark.parametrize("rows", [0, 5])
def test_edge_cases_summarise_without_raising(case: str, rows: int) -> None:
    summary = summarize(edge_frames()[case], "df", ContextOptions(rows=rows))
    assert summary.tokens <= 2000
    assert "unavailable" not in summary.text, summary.text


def test_edge_case_details() -> None:
    frames = edge_frames()
    text = summarize(frames["nan and inf"], "df").text
    assert "- 'x': float64; 3 non-null, 1 null, 3 distinct; min -inf, max inf, mean nan;" in text
    assert (
        "- 'y': float64; 4 non-null, 0 null, 1 distinct; min inf, max inf, mean inf; "
        "25/50/75% inf, inf, inf" in text
    )
    assert "Note: some column names repeat" in summarize(frames["duplicate names"], "df").text
    assert (
        "DataFrame `df` (pandas): 0 rows \N{MULTIPLICATION SIGN} 0 columns"
        in summarize(frames["empty"], "df").text
    )
    assert (
        "- 'c': category; 0 non-null, 2 null, 0 distinct; 1 category\n"
        in summarize(frames["all null"], "df").text
    )
    multi = summarize(frames["multiindex"], "df").text
    assert "- ('x', 'p'): int64" in multi and "| a, 1 | 1 | 2 |" in multi
    assert (
        "- 'l': object; 2 non-null, 0 null; values: mixed"
        in summarize(frames["unhashable"], "df").text
    )


# --- the API's edges -----------------------------------------------------------------------------


def test_is_frame_and_clear_refusals() -> None:
    for frame in (pd.DataFrame(), pd.Series(dtype=float), pl.DataFrame(), pl.Series()):
        assert is_frame(frame)
    for other in (3, "df", [1, 2], {"a": [1]}, np.zeros(3), pd.Index([1]), pl.LazyFrame()):
        assert not is_frame(other)
    with pytest.raises(
        TypeError, match=r"'n' is a builtins\.int, not a pandas or polars DataFrame"
    ):
        summarize(3, "n")
    with pytest.raises(TypeError, match=r"polars LazyFrame.*lazy\.collect\(\)"):
        summarize(pl.LazyFrame({"a": [1]}), "lazy")


def test_options_are_checked() -> None:
    for bad in ({"rows": -1}, {"token_budget": 0}, {"max_cell_chars": 1}, {"sample_threshold": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ContextOptions(**bad)


def test_importing_the_module_does_not_import_pandas_or_polars() -> None:
    code = (
        "import sys, glm_magics, glm_magics.context.frames\n"
        "print([m for m in ('pandas', 'polars', 'numpy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
