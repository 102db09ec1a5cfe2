"""Server-sent events decoding that is safe for JSON written as raw UTF-8.

The decoder splits the raw bytes on CR, LF and CRLF only, *before* decoding UTF-8.
Splitting decoded text with ``str.splitlines()`` (as ``httpx.Response.iter_lines()``
does) would also break on U+2028, U+2029, U+0085 and friends, which a server may
legally put unescaped inside a JSON string, and corrupt the event. Buffering bytes
until a line ends also keeps a UTF-8 character that was split across two network
chunks intact.

Usage::

    decoder = SSEDecoder()
    for chunk in response.iter_bytes():
        for event in decoder.decode(chunk):
            handle(event.data)
    for event in decoder.flush():
        handle(event.data)
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent"]


class ServerSentEvent(NamedTuple):
    """One dispatched event: ``data`` joins multi-line ``data:`` fields with ``\\n``."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder for a ``text/event-stream`` body (WHATWG rules).

    Comment lines (starting with ``:``) are ignored, ``event:``/``id:``/``retry:``
    fields are kept, several ``data:`` lines form one event, and an event is
    dispatched at a blank line. ``last_event_id`` persists across events as the
    specification asks.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending_cr = False
        self._first_line = True
        self._data: list[str] = []
        self._event = ""
        self._retry: int | None = None
        self.last_event_id: str | None = None

    def decode(self, chunk: bytes) -> list[ServerSentEvent]:
        """Feed raw bytes; return the events completed by them."""
        events: list[ServerSentEvent] = []
        if not chunk:
            return events
        if not self._pending_cr and b"\r" not in chunk:
            # The common case (LF framing): split the whole chunk at once.
            if self._buffer:
                chunk = bytes(self._buffer) + chunk
                self._buffer.clear()
            lines = chunk.split(b"\n")
            self._buffer += lines.pop()
            for raw in lines:
                event = self._line(raw)
                if event is not None:
                    events.append(event)
            return events
        start = 0
        if self._pending_cr:
            self._pending_cr = False
            if chunk[:1] == b"\n":
                start = 1
        buffer = self._buffer
        length = len(chunk)
        while start < length:
            lf = chunk.find(b"\n", start)
            cr = chunk.find(b"\r", start)
            if lf < 0 and cr < 0:
                buffer += chunk[start:]
                break
            if cr < 0 or (0 <= lf < cr):
                end, after = lf, lf + 1
            else:
                end = cr
                if cr + 1 < length:
                    after = cr + 2 if chunk[cr + 1 : cr + 2] == b"\n" else cr + 1
                else:
                    after = cr + 1
                    self._pending_cr = True
            buffer += chunk[start:end]
            event = self._line(bytes(buffer))
            buffer.clear()
            if event is not None:
                events.append(event)
            start = after
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: process a last unterminated line.

        Per the specification an event that was not followed by a blank line is
        discarded, but servers that close right after ``data: {...}\\n`` exist, so
        a complete ``data`` field still dispatches.
        """
        events: list[ServerSentEvent] = []
        if self._buffer:
            event = self._line(bytes(self._buffer))
            self._buffer.clear()
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        self._pending_cr = False
        return events

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if self._first_line:
            self._first_line = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        if not raw:
            return self._dispatch()
        if raw.startswith(b"data: "):
            self._data.append(raw[6:].decode("utf-8", errors="replace"))
            return None
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self.last_event_id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        self._retry = None
        return event
