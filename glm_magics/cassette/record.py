"""Recording a live answer as it is read, without changing what the reader gets.

:class:`RecordingStream` sits between a live :class:`httpx.Response` and its reader:
every chunk passes through untouched while a copy is decoded (server-sent events,
each stamped with the seconds since the request was sent, or the whole body). When
the answer is over it hands a :class:`Capture` to the cassette, which writes it:

- the stream ran to its end, or its protocol's last event arrived: complete;
- the user stopped it (``stopped()`` is true when it was cut): kept, marked unfinished;
- the connection broke: nothing is kept, the error goes on as it would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from glm_magics.wire.sse import SSEDecoder

__all__ = ["Capture", "RecordingStream"]

# The last event of an answer in each protocol: chat's [DONE], Responses', Messages'.
_LAST_TYPES = frozenset(
    {"response.completed", "response.incomplete", "response.failed", "message_stop"}
)


@dataclass
class Capture:
    """What a recording saw: the events (or the body's bytes) and whether it finished."""

    events: list[dict[str, Any]] | None
    body: bytes = b""
    complete: bool = True

    def body_value(self) -> Any:
        """The whole body as JSON, else as text."""
        text = self.body.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text


class RecordingStream(httpx.SyncByteStream):
    """Passes a live body through and records it (see the module docstring)."""

    def __init__(
        self,
        inner: httpx.SyncByteStream,
        *,
        events: bool,
        sent_at: float,
        stopped: Callable[[], bool],
        on_done: Callable[[Capture], None],
    ) -> None:
        self._inner = inner
        self._decoder = SSEDecoder() if events else None
        self._capture = Capture(events=[] if events else None)
        self._sent_at = sent_at
        self._stopped = stopped
        self._on_done = on_done
        self._last_seen = False
        self._broken = False
        self._done = False
        self._body = bytearray()

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._take(chunk)
                yield chunk
        except GeneratorExit:  # the reader had enough (it saw the last event): not broken
            raise
        except BaseException:
            self._broken = not self._stopped()
            raise
        if self._decoder is not None:
            self._add(self._decoder.flush())
        self._finish(ran_out=True)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._finish(ran_out=False)

    def _take(self, chunk: bytes) -> None:
        if self._decoder is None:
            self._body += chunk
        else:
            self._add(self._decoder.decode(chunk))

    def _add(self, decoded: list[Any]) -> None:
        events = self._capture.events
        assert events is not None
        for event in decoded:
            try:
                data: Any = json.loads(event.data)
            except json.JSONDecodeError:
                data = event.data
            entry: dict[str, Any] = {"t": round(time.perf_counter() - self._sent_at, 3)}
            if event.event != "message":
                entry["event"] = event.event
            entry["data"] = data
            events.append(entry)
            kind = data.get("type") if isinstance(data, dict) else None
            self._last_seen = self._last_seen or data == "[DONE]" or kind in _LAST_TYPES

    def _finish(self, *, ran_out: bool) -> None:
        if self._done:
            return
        self._done = True
        if self._broken:
            return
        capture = self._capture
        if capture.events is None:
            if not ran_out:
                return  # a whole body closed before it was read: nothing to keep
            capture.body = bytes(self._body)
        else:
            capture.complete = ran_out or self._last_seen
            if not capture.complete and not (self._stopped() and capture.events):
                return
        self._on_done(capture)
