"""A lesson replayed from its cassette, against the same lesson asked live.

A lesson of N answers (reasoning, then a markdown answer with a code block, about 300
tokens each) is asked once on the local server at a model-like pace and recorded;
then it is replayed with the network out of reach (a closed port), through the same
live notebook view a cell uses (its HTML rendered, sent to a sink that drops it):

- replay time per answer at each pace, against the live time (target for the default
  ``fast`` pace: the whole lesson in at most 1 s per answer, and well under a second
  for one answer);
- the cassette's size per answer and per 1,000 answer tokens.

    python benchmarks/bench_cassette.py [--answers 20] [--tps 120] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from glm_magics import Cassette, GLMClient, Session
from glm_magics.display.notebook_view import NotebookView
from glm_magics.testing import LocalGLMServer, Reply


class DropSink:
    """Takes every display message and keeps nothing (the view still renders)."""

    def display(self, data: dict[str, str], display_id: str, metadata: Any = None) -> None:
        """Drop a new display."""

    def update(self, data: dict[str, str], display_id: str) -> None:
        """Drop an update."""


def reply(number: int) -> Reply:
    steps = " ".join(f"Step {n}: weigh option {n} against the data." for n in range(12))
    body = (
        f"## Answer {number}\n\nA p-value is the probability, **assuming the null "
        "hypothesis**, of data at least as extreme as what you saw. "
        + "It is not the probability that the hypothesis is true. " * 6
        + "\n\n```python\nfrom scipy import stats\nstats.ttest_ind(a, b).pvalue\n```\n\n"
        + "- small: the data would be surprising\n- large: they would not\n"
    )
    return Reply(reasoning=steps, text=body)


def questions(answers: int) -> list[str]:
    return [f"Question {n}: what does a p-value of 0.0{n} tell me?" for n in range(answers)]


def ask_all(session: Session, asked: list[str]) -> tuple[float, int]:
    """Seconds to ask every question (each in a fresh conversation), and the answer tokens."""
    started = time.perf_counter()
    tokens = 0
    for question in asked:
        session.reset()
        view = NotebookView("glm-4-7-flash", sink=DropSink())
        tokens += session.ask(question, reporter=view).usage.completion_tokens
    return time.perf_counter() - started, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--tps", type=float, default=120.0, help="live tokens per second")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asked = questions(args.answers)
    folder = Path(tempfile.mkdtemp())
    path = folder / "lesson.cassette.jsonl"

    with LocalGLMServer(ttft=0.4, tokens_per_second=args.tps) as server:
        server.queue(*(reply(n) for n in range(args.answers)))
        with Session(GLMClient(base_url=server.base_url), cassette=path) as live:
            live_s, tokens = ask_all(live, asked)
    size = path.stat().st_size
    closed = "http://127.0.0.1:9/v1"

    def replay(pace: str) -> float:
        cassette = Cassette(path, "replay", pace=pace)
        with Session(GLMClient(base_url=closed), cassette=cassette) as session:
            seconds, _ = ask_all(session, asked)
        if cassette.misses or cassette.hits != args.answers + 1:  # + the model's ranges
            raise SystemExit(f"the replay did not find every answer: {cassette!r}")
        return seconds

    print(f"lesson: {args.answers} answers, {tokens:,} answer tokens, asked live in {live_s:.1f} s")
    for pace in ("fast", "instant"):
        runs = [replay(pace) for _ in range(args.repeats)]
        median = statistics.median(runs)
        print(
            f"replay pace={pace:<8} median {median:.2f} s for the lesson "
            f"({median / args.answers:.3f} s an answer; {live_s / median:.0f}x faster than "
            f"live; runs {', '.join(f'{r:.2f}' for r in runs)})"
        )
    recorded = replay("recorded")
    print(f"replay pace=recorded {recorded:.1f} s ({recorded / live_s:.2f}x the live time)")
    print(
        f"cassette: {size / 1024:.0f} kB, {size / args.answers / 1024:.1f} kB an answer, "
        f"{size / tokens * 1000 / 1024:.1f} kB per 1,000 answer tokens"
    )


if __name__ == "__main__":
    main()
