"""What the request handler needs from the server that runs it.

:class:`~glm_magics.testing.handler.GLMRequestHandler` serves one connection and
asks its server for everything else: the replies, the knobs, the key check,
the place to record requests. It sees that server only through :class:`ServerApp`,
so the handler never imports :mod:`glm_magics.testing.server`: the server depends
on the handler, not the other way round. ``LocalGLMServer`` is the one
implementation; a test may hand the handler any object of this shape.
:class:`Pacing` is how one reply sees the server's timing knobs: its own
overrides, else the server's values at the time of the request.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from glm_magics.testing.rate_limit import RateLimit, RateLimiter
from glm_magics.testing.recording import RecordedRequest
from glm_magics.testing.replies import Reply

__all__ = ["Pacing", "ServerApp"]


class ServerApp(Protocol):
    """The server as one request handler sees it; read at every request.

    The pacing knobs (``latency``, ``ttft``, ``tokens_per_second``,
    ``chunk_size``) are the defaults a :class:`Reply` may override; ``models``
    and ``model_parameters`` are what the model routes publish and every answer
    route enforces. ``rate_limit`` is the limit in force (``None``: none) and
    ``limiter`` the state that enforces it. ``stopping`` is set when the server
    stops, and ends every wait at once.
    """

    @property
    def latency(self) -> float: ...

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
    def rate_limit(self) -> RateLimit | None: ...

    @property
    def limiter(self) -> RateLimiter: ...

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

    def reply_for(self, view: dict[str, Any]) -> Reply:
        """The reply to a request seen as a chat request (``view``): the oldest queued
        one, else the responder's, else the canned default."""
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


@dataclass(frozen=True)
class Pacing:
    """The effective latency, ttft, seconds per token piece and chunk size for one reply.

    ``latency`` is waited before the status line, ``ttft`` after the headers and
    before the first event (before the body, when the answer is not streamed).
    """

    latency: float
    ttft: float
    seconds_per_piece: float
    chunk_size: int

    @classmethod
    def of(cls, app: ServerApp, reply: Reply) -> Pacing:
        """The reply's overrides, else the server's current knobs."""
        tps = app.tokens_per_second if reply.tokens_per_second is None else reply.tokens_per_second
        return cls(
            latency=max(0.0, app.latency if reply.latency is None else reply.latency),
            ttft=max(0.0, app.ttft if reply.ttft is None else reply.ttft),
            seconds_per_piece=1.0 / tps if tps is not None and tps > 0 else 0.0,
            chunk_size=max(1, app.chunk_size if reply.chunk_size is None else reply.chunk_size),
        )
