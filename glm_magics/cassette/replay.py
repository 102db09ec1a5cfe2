"""A recorded answer played back as an HTTP response, chunk by chunk, at a chosen pace.

The response is a real :class:`httpx.Response` with the recorded status, content type
and body, so everything above the wire (the protocol readers, the retry loop, the
error mapping, the live display) treats it as it treats the service's. Events are
written back as server-sent events and released on the clock of the pace:

- ``fast`` (the default): the recorded rhythm squeezed into at most
  :data:`FAST_TOTAL` seconds, so a whole answer still streams visibly;
- ``recorded``: the gaps as recorded (a live demo);
- ``instant``: no waiting at all (batch work, tests).

A recording that was stopped before the answer finished plays what it holds and then
waits, as a still-running answer would, until it is stopped (at most
:data:`UNFINISHED_WAIT` seconds). Stopping ends the stream at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from glm_magics.cassette.entries import Entry
from glm_magics.results import Provenance
from glm_magics.wire.stream import PROVENANCE_EXTENSION, STOP_EXTENSION

__all__ = ["FAST_TOTAL", "PACES", "UNFINISHED_WAIT", "ReplayStream", "replayed_response"]

PACES = ("fast", "recorded", "instant")
FAST_TOTAL = 0.3
"""Seconds a whole answer takes at the ``fast`` pace (at most; a quicker one keeps its own)."""
UNFINISHED_WAIT = 60.0
"""Seconds a stopped recording waits, after its last event, to be stopped again."""


def sse_bytes(event: dict[str, Any], common: dict[str, Any] | None = None) -> bytes:
    """One recorded event written as a server-sent event (``common`` fields put back)."""
    data = event.get("data")
    if common and isinstance(data, dict):
        data = {**common, **data}
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    lines = [f"event: {event['event']}"] if event.get("event") else []
    lines += [f"data: {line}" for line in text.split("\n")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class ReplayStream(httpx.SyncByteStream):
    """The bytes of a recorded answer, each chunk released at its time (see the module)."""

    def __init__(self, chunks: list[tuple[float, bytes]], *, unfinished: bool = False) -> None:
        self._chunks = chunks
        self._unfinished = unfinished
        self._stopped = threading.Event()

    def stop(self) -> None:
        """End the stream now, from any thread."""
        self._stopped.set()

    def __iter__(self) -> Iterator[bytes]:
        started = time.monotonic()
        for at, chunk in self._chunks:
            delay = at - (time.monotonic() - started)
            if (delay > 0 and self._stopped.wait(delay)) or self._stopped.is_set():
                return
            yield chunk
        if self._unfinished:
            self._stopped.wait(UNFINISHED_WAIT)

    def close(self) -> None:
        self._stopped.set()


def _schedule(entry: Entry, pace: str) -> list[tuple[float, bytes]]:
    events = entry.events or []
    if pace == "instant":
        scale = 0.0
    elif pace == "fast":
        scale = min(1.0, FAST_TOTAL / entry.duration) if entry.duration > 0 else 0.0
    else:
        scale = 1.0
    common = entry.common
    return [(float(event.get("t", 0.0)) * scale, sse_bytes(event, common)) for event in events]


def replayed_response(entry: Entry, url: str, pace: str, provenance: Provenance) -> httpx.Response:
    """``entry`` as an open response to a ``POST`` of ``url``, played at ``pace``."""
    if entry.events is not None:
        stream = ReplayStream(_schedule(entry, pace), unfinished=not entry.complete)
    else:
        body = entry.body
        raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        stream = ReplayStream([(0.0, raw.encode("utf-8"))])
    return httpx.Response(
        entry.status,
        headers={"content-type": entry.content_type},
        stream=stream,
        request=httpx.Request("POST", url),
        extensions={PROVENANCE_EXTENSION: provenance, STOP_EXTENSION: stream.stop},
    )
