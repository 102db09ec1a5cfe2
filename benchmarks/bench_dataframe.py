"""How long ``summarize`` takes on a 10-million-row frame, beside the library's ``describe``.

The frame has 20 columns: 8 floats (with NaN and inf), 4 integers (one nullable in
pandas), 3 strings drawn from a few hundred categories, 1 categorical, 2 datetimes
(one in a time zone) and 2 booleans, built from a seeded numpy RNG, once for pandas
and once for polars. ``summarize`` samples 100,000 evenly spaced rows above its
threshold; ``describe`` reads every row, so the ratio shows what sampling buys.
Figures: the median of ``--runs`` summaries, one ``describe`` (``--describe-runs``
for more), and the summary's estimated tokens.

    python benchmarks/bench_dataframe.py [--rows 10000000] [--runs 5] [--describe-runs 1]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from glm_magics.context.frames import FrameSummary, summarize

pd: Any = importlib.import_module("pandas")  # pandas ships no type information

WORDS = np.array([f"{word}-{i}" for i in range(60) for word in ("north", "south", "east", "west")])
START = np.datetime64("2015-01-01T00:00:00", "us")


def columns(rows: int, seed: int = 0) -> dict[str, np.ndarray[Any, Any]]:
    """The 20 columns as numpy arrays, identical for a given ``rows`` and ``seed``."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray[Any, Any]] = {}
    for i in range(8):
        values = rng.normal(loc=i * 10, scale=i + 1, size=rows)
        values[rng.random(rows) < 0.01 * i] = np.nan
        data[f"float_{i}"] = values
    data["float_0"][:3] = [np.inf, -np.inf, np.inf]
    for i in range(4):
        data[f"int_{i}"] = rng.integers(0, 10 ** (i + 2), size=rows)
    for i in range(3):
        data[f"text_{i}"] = rng.integers(0, len(WORDS) // (i + 1), size=rows)  # codes into WORDS
    data["category"] = rng.integers(0, 12, size=rows)
    for i in range(2):
        data[f"when_{i}"] = START + rng.integers(0, 10 * 365 * 86_400, size=rows) * 1_000_000
        data[f"flag_{i}"] = rng.random(rows) < 0.3 + 0.4 * i
    return data


def pandas_frame(data: dict[str, np.ndarray[Any, Any]]) -> Any:
    frame = {}
    for name, values in data.items():
        if name.startswith("text_"):
            frame[name] = pd.Series(WORDS.astype(object)[values], dtype="str")
        elif name == "category":
            frame[name] = pd.Categorical.from_codes(values, [f"level {i}" for i in range(12)])
        elif name == "int_3":
            frame[name] = pd.array(values, dtype="Int64")
        else:
            frame[name] = values
    df = pd.DataFrame(frame)
    df["when_1"] = df["when_1"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    return df


def polars_frame(data: dict[str, np.ndarray[Any, Any]]) -> pl.DataFrame:
    words = pl.Series(WORDS.tolist())
    frame = {}
    for name, values in data.items():
        if name.startswith("text_"):
            frame[name] = words.gather(values)
        elif name == "category":
            frame[name] = pl.Series([f"level {i}" for i in range(12)]).gather(values)
        else:
            frame[name] = pl.Series(values)
    df = pl.DataFrame(frame)
    return df.with_columns(
        pl.col("category").cast(pl.Categorical),
        pl.col("when_1").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Paris"),
    )


def timed(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of ``runs`` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def report(library: str, frame: Any, describe: Callable[[], Any], args: argparse.Namespace) -> None:
    rows, width = frame.shape
    seconds, summary = timed(lambda: summarize(frame, "df"), args.runs)
    assert isinstance(summary, FrameSummary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on inf - inf
        described, _ = timed(describe, args.describe_runs)
    call = 'describe(include="all")' if library == "pandas" else "describe()"
    print(
        f"summarize {rows:,} x {width} ({library}): median {seconds:.2f} s; "
        f"{call}: {described:.1f} s; ratio {seconds / described:.2f}x; {summary.tokens:,} tokens"
    )
    if args.show:
        print(summary.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--describe-runs", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="print the summaries too")
    parser.add_argument("--only", choices=("pandas", "polars"))
    args = parser.parse_args()
    data = columns(args.rows)
    if args.only != "polars":
        df = pandas_frame(data)
        report("pandas", df, lambda: df.describe(include="all"), args)
        del df
    if args.only != "pandas":
        pf = polars_frame(data)
        report("polars", pf, pf.describe, args)


if __name__ == "__main__":
    main()
