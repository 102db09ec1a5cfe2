"""Streaming a long answer through ``%%glm``: display traffic, CPU, and overhead.

A ~20,000-token markdown answer (headings, paragraphs, lists, tables, code) is
streamed from the local GLM server, which runs in a separate process so its CPU
time is not counted. Figures:

* display updates sent to the frontend, and updates per second (target <= 20);
* bytes of display payloads divided by the answer's size: while it streams (target
  <= 3x), and in all, with the whole answer sent once more at the end as HTML,
  markdown and text for the frontends that read it whole;
* client CPU time per 1,000 tokens (whole client process: main + stream thread);
* end-to-end time of ``%%glm`` divided by a bare httpx + json loop over the same
  stream (target <= 1.5x), with the server sending as fast as it can.

Medians of several runs; the machine is noisy, so ratios matter more than times.

    python benchmarks/bench_stream.py [--runs 5] [--tps 2000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell


def long_answer(target_tokens: int = 20_000) -> str:
    """A deterministic markdown answer of about ``target_tokens`` tokens."""
    from glm_magics.testing import tokenize

    parts: list[str] = []
    section = 0
    while len(tokenize("".join(parts))) < target_tokens:
        section += 1
        parts.append(f"## Step {section}: cleaning column `c{section}`\n\n")
        parts.append(
            f"First we look at the distribution of `c{section}` and check for missing values; "
            "the median is robust to outliers, so we use it to fill gaps before scaling. "
            "Keep a copy of the raw frame so the change can be audited later.\n\n"
        )
        parts.append(
            "".join(f"- point {i} about step {section} and why it matters\n" for i in range(4))
        )
        parts.append("\n| metric | before | after |\n|---|---|---|\n")
        parts.append("".join(f"| m{i} | {i * section} | {i + section} |\n" for i in range(3)))
        parts.append(
            "\n```python\n"
            f"def clean_c{section}(df):\n"
            f"    s = df['c{section}']\n"
            "    s = s.fillna(s.median())\n"
            "    return (s - s.mean()) / s.std()\n"
            "```\n\n"
        )
    return "".join(parts)


def serve(conn: Any, text: str, tps: float | None, replies: int) -> None:
    from glm_magics.testing import LocalGLMServer, Reply

    with LocalGLMServer(tokens_per_second=tps) as server:
        for _ in range(replies):
            server.queue(Reply(text=text, reasoning="Planning the cleaning steps."))
        conn.send(server.base_url)
        conn.recv()  # wait until the parent is done


class CountingPublisher(DisplayPublisher):
    """Counts what a frontend would receive: messages and bytes of JSON payload."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages = 0
        self.bytes = 0
        self.whole = 0  # the finished answer's one output (it alone has markdown and HTML)

    def publish(self, data: Any, metadata: Any = None, source: Any = None, **kwargs: Any) -> None:
        self.messages += 1
        size = len(json.dumps(data, ensure_ascii=False).encode())
        self.bytes += size
        if "glm-answer" in data.get("text/html", "") and "text/markdown" in data:
            self.whole += size


@dataclass
class Run:
    seconds: float
    cpu: float
    messages: int
    bytes: int
    tokens: int
    whole: int = 0

    @property
    def live(self) -> int:
        """Bytes sent while the answer streamed (before it was sent whole)."""
        return self.bytes - self.whole


def start_server(text: str, tps: float | None, replies: int) -> tuple[Any, Any, str]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(child, text, tps, replies), daemon=True)
    process.start()
    return process, parent, parent.recv()


def run_magic(shell: Any, base_url: str) -> Run:
    publisher = CountingPublisher(shell=shell)
    shell.display_pub = publisher
    magics = shell.magics_manager.registry["GLMMagics"]
    magics.session.settings.base_url = base_url
    magics.session.conversation.reset()
    cpu, wall = time.process_time(), time.perf_counter()
    shell.run_cell_magic("glm", "-o bench_result --new", "Clean every column.")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = shell.user_ns["bench_result"]
    tokens = result.usage.completion_tokens
    return Run(wall, cpu, publisher.messages, publisher.bytes, tokens, publisher.whole)


def run_bare(base_url: str) -> Run:
    """The floor: httpx streaming plus json.loads per event, nothing shown."""
    cpu, wall = time.process_time(), time.perf_counter()
    pieces: list[str] = []
    body = {
        "model": "glm-4-7-flash",
        "stream": True,
        "messages": [{"role": "user", "content": "x"}],
    }
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", base_url + "/chat/completions", json=body) as response,
    ):
        buffer = b""
        for chunk in response.iter_bytes():
            buffer += chunk
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                data = event[6:]
                if data == b"[DONE]":
                    continue
                delta = json.loads(data)["choices"][0]["delta"]
                pieces.append(delta.get("content") or delta.get("reasoning_content") or "")
    return Run(time.perf_counter() - wall, time.process_time() - cpu, 0, 0, len(pieces))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tps", type=float, default=2000.0, help="pace of the display run")
    args = parser.parse_args()
    text = long_answer()
    answer_bytes = len(text.encode())
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "glm_magics")
    shell.magics_manager.registry["GLMMagics"].session.settings.display = "rich"

    process, conn, url = start_server(text, args.tps, args.runs)
    paced = [run_magic(shell, url) for _ in range(args.runs)]
    conn.send("done")
    process.join()

    process, conn, url = start_server(text, None, 2 * args.runs + 1)
    run_bare(url)  # warm-up
    magic_fast, bare_fast = [], []
    for _ in range(args.runs):
        bare_fast.append(run_bare(url))
        magic_fast.append(run_magic(shell, url))
    conn.send("done")
    process.join()

    med = statistics.median
    rows = [
        ("display messages", f"{med(r.messages for r in paced):.0f}", ""),
        ("updates per second", f"{med(r.messages / r.seconds for r in paced):.1f}", "<= 20"),
        (
            "live bytes / answer bytes",
            f"{med(r.live / answer_bytes for r in paced):.2f}x",
            "<= 3x",
        ),
        ("all bytes / answer bytes", f"{med(r.bytes / answer_bytes for r in paced):.2f}x", ""),
        ("stream time", f"{med(r.seconds for r in paced):.2f} s", ""),
    ]
    fast = [
        (
            "client CPU per 1,000 tokens",
            f"{med(r.cpu / r.tokens for r in magic_fast) * 1e6:.1f} ms",
            "",
        ),
        (
            "bare loop CPU per 1,000 tokens",
            f"{med(r.cpu / r.tokens for r in bare_fast) * 1e6:.1f} ms",
            "",
        ),
        ("%%glm end-to-end", f"{med(r.seconds for r in magic_fast):.3f} s", ""),
        ("bare httpx + json loop", f"{med(r.seconds for r in bare_fast):.3f} s", ""),
        (
            "end-to-end / bare (paired)",
            f"{med(m.seconds / b.seconds for m, b in zip(magic_fast, bare_fast, strict=True)):.2f}"
            "x",
            "<= 1.5x",
        ),
        (
            "live bytes / answer bytes",
            f"{med(r.live / answer_bytes for r in magic_fast):.2f}x",
            "<= 3x",
        ),
        ("all bytes / answer bytes", f"{med(r.bytes / answer_bytes for r in magic_fast):.2f}x", ""),
    ]
    print(f"answer: {paced[0].tokens:,} tokens, {answer_bytes:,} bytes; {args.runs} runs, medians")
    print(f"-- paced at {args.tps:,.0f} tokens/s")
    for name, value, target in rows:
        print(f"{name:<32}{value:>12}  {target and 'target ' + target}")
    print("-- server as fast as it can")
    for name, value, target in fast:
        print(f"{name:<32}{value:>12}  {target and 'target ' + target}")


if __name__ == "__main__":
    main()
