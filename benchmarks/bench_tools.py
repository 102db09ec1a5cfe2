"""What running the model's tool calls costs, and what asking for approval adds.

Two measurements, medians of ``--runs`` runs, each against a baseline in the same run:

* per call: :func:`~glm_magics.tools.run_tool_call` (parse the JSON arguments, check
  and convert them, decide whether to ask, call, encode the result) against calling
  the function directly, for an unmarked tool and for a marked one approved by a
  callback;
* per question: ``Session.ask`` over the local server, one round of tool calls then
  the answer (two requests), with an unmarked tool, a marked one approved by a
  callback, and a marked one nobody can approve (not run), against the same question
  with no tools.

    python benchmarks/bench_tools.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from glm_magics import Session
from glm_magics.core.settings import Settings
from glm_magics.results import ToolCall
from glm_magics.testing import LocalGLMServer, Reply, ToolCallSpec
from glm_magics.tools import ToolRegistry, run_tool_call


def archive(name: str, keep_days: int = 30) -> dict[str, Any]:
    """Move a table to the archive."""
    return {"archived": name, "keep_days": keep_days}


def per_call(runs: int) -> None:
    call = ToolCall("call_1", "archive", '{"name": "sales", "keep_days": 7}')
    plain, marked = ToolRegistry(), ToolRegistry()
    plain.add(archive)
    marked.add(archive, confirm=True)
    cases: dict[str, Callable[[], object]] = {
        "direct Python call": lambda: archive("sales", 7),
        "run_tool_call, unmarked": lambda: run_tool_call(call, plain),
        "run_tool_call, approved": lambda: run_tool_call(call, marked, approve=lambda r: True),
    }
    timings: dict[str, list[float]] = {label: [] for label in cases}
    repeat = 5_000
    for run in range(runs + 1):  # interleaved; the first run warms up
        for label, action in cases.items():
            started = time.perf_counter()
            for _ in range(repeat):
                action()
            if run:
                timings[label].append((time.perf_counter() - started) / repeat)
    medians = {label: statistics.median(values) for label, values in timings.items()}
    unmarked = medians["run_tool_call, unmarked"]
    print(f"per call (median of {runs}, interleaved):")
    for label, value in medians.items():
        print(f"  {label:26} {value * 1e6:7.2f} µs  ({value / unmarked:.2f}x unmarked)")


def per_question(runs: int) -> None:
    with LocalGLMServer() as server:
        server.ttft, server.tokens_per_second = 0.0, None
        reply = Reply(text="Archived.")
        calling = Reply(tool_calls=[ToolCallSpec("archive", '{"name": "sales"}')])
        plain, marked = ToolRegistry(), ToolRegistry()
        plain.add(archive)
        marked.add(archive, confirm=True)
        cases: dict[str, tuple[ToolRegistry, list[Reply], dict[str, Any]]] = {
            "no tools (one request)": (ToolRegistry(), [reply], {}),
            "one tool round, unmarked": (plain, [calling, reply], {}),
            "one tool round, approved": (marked, [calling, reply], {"approve": lambda r: True}),
            "one tool round, not run": (marked, [calling, reply], {"approve": lambda r: None}),
        }
        sessions = {
            label: Session(settings=Settings(base_url=server.base_url), tools=registry)
            for label, (registry, _, _) in cases.items()
        }
        timings: dict[str, list[float]] = {label: [] for label in cases}
        for run in range(runs + 1):  # interleaved, so drift hits every case alike
            for label, (_, replies, options) in cases.items():
                server.queue(*replies)
                started = time.perf_counter()
                sessions[label].ask("Archive the sales table.", **options)
                if run:  # the first run warms up (the model's ranges, the connection)
                    timings[label].append(time.perf_counter() - started)
                sessions[label].reset()
        for session in sessions.values():
            session.close()
        medians = {label: statistics.median(values) for label, values in timings.items()}
        unmarked = medians["one tool round, unmarked"]
        print(f"per question over loopback (median of {runs}, interleaved):")
        for label, value in medians.items():
            print(f"  {label:26} {value * 1e3:7.2f} ms  ({value / unmarked:.2f}x unmarked)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    per_call(runs)
    per_question(runs)


if __name__ == "__main__":
    main()
