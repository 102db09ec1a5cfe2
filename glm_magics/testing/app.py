"""What the request handler needs from the server that runs it, and what it records.

:class:`~glm_magics.testing.handler.GLMRequestHandler` serves one connection and
asks its server for everything else: the queued replies, the knobs, the key check,
the place to record requests. It sees that server only through :class:`ServerApp`,
so the handler never imports :mod:`glm_magics.testing.server`: the server depends
on the handler, not the other way round. ``LocalGLMServer`` is the one
implementation; a test may hand the handler any object of this shape.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from glm_magics.testing.replies import Reply

__all__ = ["RecordedRequest", "ServerApp"]


@dataclass
class RecordedRequest:
    """What a client sent, as the server saw it.

    ``headers`` have lower-case names, and credentials are redacted
    (``authorization: "Bearer ***"``): the key is never stored. ``body`` is the
    parsed JSON, the text when it did not parse, or ``None`` when empty.
    ``client_disconnected`` turns true as soon as the server notices that the
    client closed the connection before the response was complete (a failed
    write, or end-of-file while it waited), which is how a test proves that a
    client-side stop really hung up.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_disconnected: bool = False


class ServerApp(Protocol):
    """The server as one request handler sees it; read at every request.

    The pacing knobs (``ttft``, ``tokens_per_second``, ``chunk_size``) are the
    defaults a :class:`Reply` may override; ``models`` and ``model_parameters``
    are what the model routes publish and every answer route enforces.
    ``stopping`` is set when the server stops, and ends every wait at once.
    """

    @property
    def ttft(self) -> float: ...

    @property
    def tokens_per_second(self) -> float | None: ...

    @property
    def chunk_size(self) -> int: ...

    @property
    def models(self) -> Sequence[str]: ...

    @property
    def model_parameters(self) -> Mapping[str, Any]: ...

    @property
    def log_requests(self) -> bool: ...

    @property
    def stopping(self) -> threading.Event: ...

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> RecordedRequest:
        """Store a received request (headers already redacted) and return it."""
        ...

    def mark_disconnected(self, request: RecordedRequest) -> None:
        """Flag that the client hung up on ``request``."""
        ...

    def next_reply(self) -> Reply | None:
        """Take the oldest queued reply, if any."""
        ...

    def next_sequence(self) -> int:
        """A counter that keeps generated ids distinct."""
        ...

    def check_key(self, authorization: str | None) -> tuple[str, str] | None:
        """``None`` if the request may pass, else the Z.ai ``(code, message)`` for a 401."""
        ...

    def track(self, connection: socket.socket, open_: bool) -> None:
        """Remember (or forget) an open client socket, so stopping can hang it up."""
        ...
