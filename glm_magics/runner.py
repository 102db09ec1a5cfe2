"""Drive a :class:`~glm_magics.stream.ChatStream` into a view, keeping the kernel responsive.

The HTTP read runs in a worker thread that only queues events; the calling thread
(the one executing the cell) drains the queue and redraws at the view's own
bounded rate, so the token rate and the redraw rate are independent, the waiting
indicator keeps ticking while no byte arrives, and a kernel interrupt is handled
at once: the stream is closed (the socket shut down) and the partial answer kept.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from glm_magics.events import ReasoningDelta, RetryScheduled, TextDelta, ToolCallDelta

if TYPE_CHECKING:
    from glm_magics.render import StreamView
    from glm_magics.results import ChatResult
    from glm_magics.stream import ChatStream

__all__ = ["Outcome", "format_status", "run_stream"]

_INTERVAL = 0.05


@dataclass
class Outcome:
    """How a run ended: ``result`` is always set; ``error`` when it failed."""

    result: ChatResult
    error: BaseException | None = None
    interrupted: bool = False


class _Done:
    pass


_DONE = _Done()


def run_stream(stream: ChatStream, view: StreamView, *, interval: float = _INTERVAL) -> Outcome:
    """Show ``stream`` in ``view`` until it ends, fails or the user interrupts.

    The worker appends events to a deque without waking this thread, except for
    what must show at once (the first event, a retry notice, the end); this
    thread drains the deque every ``interval`` seconds. Waking once per token
    would cost a thread switch per token for redraws the view throttles anyway.
    """
    events: deque[object] = deque()
    wake = threading.Event()

    def work() -> None:
        first = True
        try:
            for event in stream:
                events.append(event)
                if first or isinstance(event, RetryScheduled):
                    first = False
                    wake.set()
        except BaseException as exc:  # handed to the calling thread, never lost
            events.append(exc)
        finally:
            events.append(_DONE)
            wake.set()

    worker = threading.Thread(target=work, name="glm-stream", daemon=True)
    started = time.monotonic()
    first = False
    worker.start()
    try:
        while True:
            wake.wait(interval)
            wake.clear()
            if not events and not first:
                view.waiting(time.monotonic() - started)
            while events:
                entry = events.popleft()
                if entry is _DONE:
                    view.tick()
                    worker.join()
                    return Outcome(stream.result)
                if isinstance(entry, BaseException):
                    worker.join()
                    return Outcome(_partial(entry, stream), error=entry)
                if isinstance(entry, TextDelta):
                    first = True
                    view.text(entry.text)
                elif isinstance(entry, ReasoningDelta):
                    first = True
                    view.reasoning(entry.text)
                elif isinstance(entry, ToolCallDelta):
                    first = True
                elif isinstance(entry, RetryScheduled):
                    view.notice(entry.message)
            view.tick()
    except KeyboardInterrupt:
        stream.close()
        with contextlib.suppress(KeyboardInterrupt):  # a second interrupt: stop waiting
            worker.join(timeout=0.3)
        while events:  # show what had already arrived, so the cell matches the result
            entry = events.popleft()
            if isinstance(entry, TextDelta):
                view.text(entry.text)
            elif isinstance(entry, ReasoningDelta):
                view.reasoning(entry.text)
        result = stream.result
        result.interrupted = True
        return Outcome(result, interrupted=True)


def _partial(error: BaseException, stream: ChatStream) -> ChatResult:
    partial = getattr(error, "partial", None)
    return partial if partial is not None else stream.result


def format_status(result: ChatResult, *, max_tokens: int | None = None) -> tuple[str, str | None]:
    """The one-line summary under an answer, and a warning line when one is due."""
    timings = result.timings
    parts = [result.model or "?"]
    if "ttft" in timings:
        parts.append(f"first token {timings['ttft']:.2f} s")
    if "total" in timings:
        parts.append(f"total {timings['total']:.2f} s")
    usage = result.usage
    generation = timings.get("total", 0.0) - timings.get("ttft", 0.0)
    if usage.completion_tokens and generation > 0:
        parts.append(f"{usage.completion_tokens / generation:.0f} tok/s")
    if usage.total_tokens:
        detail = f"tokens in {usage.prompt_tokens:,}"
        if usage.cached_tokens:
            detail += f" ({usage.cached_tokens:,} cached)"
        detail += f" / out {usage.completion_tokens:,}"
        if usage.reasoning_tokens:
            detail += f" ({usage.reasoning_tokens:,} reasoning)"
        parts.append(detail)
    parts.append(
        f"finish: {result.finish_reason or ('interrupted' if result.interrupted else '?')}"
    )
    warning = None
    if result.interrupted:
        warning = "Interrupted: the answer above is partial."
    elif result.finish_reason == "length":
        limit = f" ({max_tokens:,})" if max_tokens else ""
        warning = (
            f"The answer reached max_tokens{limit} and was cut off: "
            "raise it with --max-tokens or `%glm config max_tokens=...`."
        )
    return " · ".join(parts), warning
