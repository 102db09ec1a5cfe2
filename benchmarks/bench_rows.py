"""``map_rows`` side by side with what people write instead, on the local server.

Three figures, each against its baseline in the same run:

(a) latency-bound: N rows, 100 ms a request, concurrency 16. Elapsed against the
    ideal (rows x latency / concurrency; target <= 1.2x), and rows/s against a plain
    loop (over fewer rows: a loop is slow).
(b) rate-bound: the server allows R requests/s and answers 429 above that.
    Throughput against R (target >= 0.9) and 429s against requests (target <= 2 %),
    with no limit given (learnt) and with ``rpm`` given (target: no 429), against a
    thread pool with no limiter (what LOTUS does), which retries each 429 after the
    ``Retry-After`` it is given.
(c) packing: rows/s with and without ``rows_per_request``.

    python benchmarks/bench_rows.py [--rows 1000] [--rate 20] [--loop-rows 100]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd

from glm_magics import GLMClient, map_rows
from glm_magics.testing import LocalGLMServer, RateLimit, Reply
from glm_magics.wire.limits import reset_limiters

TEMPLATE = "Review: {review}"


def answer(body: dict[str, Any]) -> Reply:
    """One row's answer, or a pack's JSON array, from the prompt itself."""
    text = body["messages"][-1]["content"]
    items = re.findall(r"Item (\d+):\nReview: (.*)", text)
    if items:
        answers = [{"item": int(n), "answer": f"about {review}"} for n, review in items]
        return Reply(text=json.dumps({"answers": answers}))
    return Reply(text="about " + text.removeprefix("Review: "))


def frame(rows: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"{tag} review number {n}" for n in range(rows)]})


def timed(run: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def latency_bound(rows: int, loop_rows: int) -> None:
    reset_limiters()
    with (
        LocalGLMServer(latency=0.1, responder=answer) as server,
        GLMClient(base_url=server.base_url) as client,
    ):
        seconds, out = timed(
            lambda: map_rows(
                frame(rows, "a"), TEMPLATE, client=client, concurrency=16, progress=False
            )
        )
        assert out["glm_error"].isna().all()
        prompts = [[{"role": "user", "content": f"Review: loop {n}"}] for n in range(loop_rows)]
        loop_seconds, _ = timed(
            lambda: [client.chat(m, stream=False) for m in prompts]  # what people write
        )
    ideal = rows * 0.1 / 16
    mapped, looped = rows / seconds, loop_rows / loop_seconds
    print(f"(a) {rows:,} rows, 100 ms latency, concurrency 16")
    print(f"    map_rows        {seconds:7.2f} s  ({mapped:6.1f} rows/s)")
    ratio = seconds / ideal
    print(f"    ideal           {ideal:7.2f} s  -> elapsed / ideal {ratio:5.2f}x (target <= 1.2x)")
    print(f"    plain loop      {loop_seconds:7.2f} s for {loop_rows} rows ({looped:6.1f} rows/s)")
    print(f"    map_rows / plain loop: {mapped / looped:5.1f}x the rows per second")


def unlimited_pool(server: LocalGLMServer, rows: int) -> tuple[float, int]:
    """16 threads, no pacing; a 429 is sent again after its Retry-After."""
    url = server.base_url + "/chat/completions"

    def one(n: int) -> None:
        body = {
            "model": "glm-4-7-flash",
            "messages": [{"role": "user", "content": f"Review: pool {n}"}],
        }
        with httpx.Client(timeout=30) as http:
            while True:
                response = http.post(url, json=body)
                if response.status_code != 429:
                    return
                wait = float(response.headers.get("retry-after-ms", "1000")) / 1000
                time.sleep(wait)

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(rows)))
    return time.perf_counter() - started, len(server.requests)


def rate_bound(rows: int, rate: float) -> None:
    print(f"(b) {rows:,} rows, the server allows {rate:g} requests/s (429 above that)")
    limit = RateLimit(requests_per_minute=rate * 60)
    for label, rpm in (
        ("map_rows, no rpm given", None),
        (f"map_rows, rpm={rate * 60:g}", rate * 60),
    ):
        reset_limiters()
        with (
            LocalGLMServer(responder=answer, rate_limit=limit) as server,
            GLMClient(base_url=server.base_url) as client,
        ):
            table = frame(rows, label)
            seconds, out = timed(
                lambda table=table, client=client, rpm=rpm: map_rows(
                    table, TEMPLATE, client=client, rpm=rpm, concurrency=16, progress=False
                )
            )
            assert out["glm_error"].isna().all(), out["glm_error"].dropna().head()
            _report(label, rows, seconds, rate, server.rejected, len(server.requests))
    with LocalGLMServer(responder=answer, rate_limit=limit) as server:
        seconds, sent = unlimited_pool(server, rows)
        _report("thread pool, no limiter", rows, seconds, rate, server.rejected, sent)


def _report(label: str, rows: int, seconds: float, rate: float, rejected: int, sent: int) -> None:
    throughput = rows / seconds
    print(
        f"    {label:<26} {throughput:6.1f} rows/s = {throughput / rate:4.2f} of the limit"
        f" (target >= 0.9); 429s {rejected:4d} of {sent:5d} requests = {rejected / sent:6.1%}"
    )


def packing(rows: int) -> None:
    reset_limiters()
    print(f"(c) {rows:,} rows, 100 ms latency, concurrency 4")
    with (
        LocalGLMServer(latency=0.1, responder=answer) as server,
        GLMClient(base_url=server.base_url) as client,
    ):
        for size in (1, 10):
            table = frame(rows, f"pack {size}")
            seconds, out = timed(
                lambda table=table, size=size: map_rows(
                    table,
                    TEMPLATE,
                    client=client,
                    concurrency=4,
                    rows_per_request=size,
                    progress=False,
                )
            )
            assert out["glm_error"].isna().all()
            speed = rows / seconds
            print(f"    rows_per_request={size:<3} {speed:7.1f} rows/s ({seconds:5.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--rate-rows", type=int, default=600)
    parser.add_argument("--loop-rows", type=int, default=100)
    args = parser.parse_args()
    latency_bound(args.rows, args.loop_rows)
    rate_bound(args.rate_rows, args.rate)
    packing(args.rows // 2)


if __name__ == "__main__":
    main()
