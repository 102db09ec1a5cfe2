"""Drive one :class:`~glm_magics.wire.stream.ChatStream` to its end, keeping the caller responsive.

The HTTP read runs in a worker thread that only queues events; the calling thread
(the one executing the cell, or the panel's) hands them to the reporter and ticks it
about every 50 ms, so the token rate and the redraw rate are independent, the waiting
indicator keeps counting while no byte arrives, and two ways of stopping act at
once: a ``stop`` event set from any thread, and a kernel interrupt (``KeyboardInterrupt``
in the calling thread). Either closes the stream (its socket is shut down) and keeps
the partial answer, marked ``interrupted``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass

from glm_magics.core.reporting import Reporter, Tick
from glm_magics.events import ReasoningDelta, RetryScheduled, TextDelta, ToolCallDelta
from glm_magics.results import ChatResult
from glm_magics.wire.stream import ChatStream

__all__ = ["Outcome", "drive"]

_INTERVAL = 0.05


@dataclass
class Outcome:
    """How a run ended: ``result`` is always set; ``error`` when it failed;
    ``interrupted`` when the user stopped it (``by_keyboard``: with an interrupt)."""

    result: ChatResult
    error: BaseException | None = None
    interrupted: bool = False
    by_keyboard: bool = False


class _Done:
    pass


_DONE = _Done()
_ANSWER = TextDelta | ReasoningDelta | ToolCallDelta


def drive(
    stream: ChatStream,
    reporter: Reporter,
    *,
    stop: threading.Event | None = None,
    interval: float = _INTERVAL,
) -> Outcome:
    """Read ``stream`` to its end, telling ``reporter``; stop early when ``stop`` is set.

    The worker appends events to a deque without waking this thread, except for what
    must show at once (the first event, a retry notice, the end); this thread drains
    the deque every ``interval`` seconds. Waking once per token would cost a thread
    switch per token for redraws a reporter throttles anyway.
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
    answering = False
    worker.start()
    try:
        while True:
            wake.wait(interval)
            wake.clear()
            if stop is not None and stop.is_set() and not stream.aborted:
                stream.close()
            while events:
                entry = events.popleft()
                if entry is _DONE:
                    worker.join()
                    reporter.report(Tick(time.monotonic() - started, waiting=not answering))
                    result = stream.result
                    return Outcome(result, interrupted=result.interrupted)
                if isinstance(entry, BaseException):
                    worker.join()
                    return Outcome(_partial(entry, stream), error=entry)
                answering = answering or isinstance(entry, _ANSWER)
                reporter.report(entry)  # type: ignore[arg-type]
            reporter.report(Tick(time.monotonic() - started, waiting=not answering))
    except KeyboardInterrupt:
        stream.close()
        with contextlib.suppress(KeyboardInterrupt):  # a second interrupt: stop waiting
            worker.join(timeout=0.3)
        while events:  # show what had already arrived, so the display matches the result
            entry = events.popleft()
            if isinstance(entry, TextDelta | ReasoningDelta):
                reporter.report(entry)
        result = stream.result
        result.interrupted = True
        return Outcome(result, interrupted=True, by_keyboard=True)


def _partial(error: BaseException, stream: ChatStream) -> ChatResult:
    partial = getattr(error, "partial", None)
    return partial if isinstance(partial, ChatResult) else stream.result
