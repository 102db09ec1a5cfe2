"""What the local server keeps of each request, and how it reads one off the socket.

Every request is recorded before it is checked, so a test can assert on what the
client sent even when the server refused it. Reading is the server's own (a sized
or a chunked body), and credentials never reach the record: the ``authorization``
family of headers keeps only its scheme (``"Bearer ***"``)::

    record = server.requests[0]
    record.body["messages"], record.headers["authorization"], record.status
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["RecordedRequest", "parse_body", "read_body", "redacted_headers"]

_REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})


@dataclass
class RecordedRequest:
    """What a client sent, as the server saw it, and the status it got.

    ``headers`` have lower-case names, and credentials are redacted
    (``authorization: "Bearer ***"``): the key is never stored. ``body`` is the
    parsed JSON, the text when it did not parse, or ``None`` when empty.
    ``status`` is the HTTP status of the answer, set as its status line is sent:
    ``None`` until then, and for good if the client left or the server stopped
    first. ``client_disconnected`` turns true as soon as the server notices that
    the client closed the connection before the response was complete (a failed
    write, or end-of-file while it waited), which is how a test proves that a
    client-side stop really hung up.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_disconnected: bool = False
    status: int | None = None


def read_body(rfile: io.BufferedIOBase, transfer_encoding: str, content_length: str) -> bytes:
    """The request body: the chunks of a chunked body joined, else ``Content-Length`` bytes."""
    if "chunked" in transfer_encoding.lower():
        parts = []
        while size := int(rfile.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(rfile.read(size))
            rfile.readline()
        while rfile.readline().strip():
            pass
        return b"".join(parts)
    try:
        length = int(content_length or 0)
    except ValueError:
        length = 0
    return rfile.read(length) if length > 0 else b""


def parse_body(raw: bytes) -> tuple[Any, bool]:
    """``(body, bad_json)``: the parsed JSON, the text when it is not JSON, ``None`` if empty."""
    if not raw:
        return None, False
    try:
        return json.loads(raw), False
    except ValueError:
        return raw.decode("utf-8", errors="replace"), True


def redacted_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers by lower-case name (repeats joined with ``", "``), credentials redacted."""
    headers: dict[str, str] = {}
    for name, value in items:
        name = name.lower()
        value = _redact(name, value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _redact(name: str, value: str) -> str:
    if name not in _REDACTED_HEADERS:
        return value
    scheme, sep, _ = value.strip().partition(" ")
    return f"{scheme} ***" if sep else "***"
