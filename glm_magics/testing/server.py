"""A GLM-compatible HTTP server on loopback, for tests, demos and offline notebooks.

It speaks the subset of Z.ai's OpenAI-compatible API the magics use
(``POST /v1/chat/completions``, streamed or not, and ``GET /v1/models``) with the
exact wire format of the recorded GLM-4.7-Flash traffic, plus ``POST /v1/responses``
and ``POST /v1/messages`` in the OpenAI Responses and Anthropic Messages formats,
and answers all three with scripted :class:`~glm_magics.testing.Reply` objects::

    with LocalGLMServer() as server:
        server.queue(Reply(text="Olá!", reasoning="A greeting in Portuguese."))
        ...  # point any OpenAI-compatible client at server.base_url
        assert server.requests[0].body["model"] == "glm-4-7-flash"

With nothing queued it sends a canned demo answer that says it is not the model.
Requests are served on daemon threads; every wait inside a response (time to
first token, pacing, stalls) watches an event that :meth:`LocalGLMServer.stop`
sets, so stopping is quick even mid-stream.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import os
import socket
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from glm_magics.testing.app import ServerApp
from glm_magics.testing.default_reply import default_reply
from glm_magics.testing.handler import GLMRequestHandler
from glm_magics.testing.rate_limit import RateLimit, RateLimiter
from glm_magics.testing.recording import RecordedRequest
from glm_magics.testing.replies import Reply
from glm_magics.testing.wire import KNOWN_MODELS, MODEL_PARAMETERS

__all__ = ["LocalGLMServer", "Responder"]

Responder = Callable[[dict[str, Any]], Reply | None]
"""Answers a request from its content: takes the request as a chat request (what
:func:`~glm_magics.testing.default_reply` takes) and returns a :class:`Reply`, or
``None`` to leave the answer to the canned default."""


class _HTTPServer(ThreadingHTTPServer):
    """The socket server, knowing its :class:`LocalGLMServer` as ``app`` (for the handler)."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: ServerApp) -> None:
        self.app = app
        super().__init__(address, GLMRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up, or stop() closing sockets, is routine here.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError) or self.app.stopping.is_set():
            return
        super().handle_error(request, client_address)


class LocalGLMServer:
    """Serve scripted GLM answers over real HTTP on a background thread.

    ``latency`` (seconds before the status line: the response itself is late, as
    behind a slow network or a queue at the service), ``ttft`` (seconds after the
    headers before the first event), ``tokens_per_second`` (``None``: as fast as
    possible) and ``chunk_size`` (token pieces per event) are plain attributes,
    read at each request, so a test may change them in between; a :class:`Reply`
    can override each. Every wait ends at once when the server stops or the client
    hangs up.

    Each answer is the oldest queued reply; with none queued, the ``responder``
    (a plain attribute too) is asked, then :func:`~glm_magics.testing.default_reply`
    answers. A responder answers from the request, e.g. each DataFrame row from
    its own prompt::

        def shout(request: dict[str, Any]) -> Reply | None:
            return Reply(text=str(request["messages"][-1]["content"]).upper())

        server.responder = shout

    It gets the request as chat messages on every route (a Responses or Messages
    request is converted), the same view the default reply gets. A responder that
    raises answers that request with a 500 and prints the traceback.

    ``rate_limit`` (a :class:`~glm_magics.testing.RateLimit`, ``None`` for none) is
    read at each request too: a request over it gets 429 with code 1302, in the
    route's error shape, with ``Retry-After`` and ``retry-after-ms``; it is recorded
    with that status and counted in :attr:`rejected`. Answers on all three routes
    count; model listings and the server's other refusals do not.

    ``require_key`` makes the server demand ``Authorization: Bearer <key>`` (401
    with Z.ai codes 1001 missing / 1002 wrong); only a hash of it is kept.
    ``log_requests`` prints request lines (never headers) to stderr.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        require_key: str | None = None,
        latency: float = 0.0,
        ttft: float = 0.0,
        tokens_per_second: float | None = None,
        chunk_size: int = 1,
        responder: Responder | None = None,
        rate_limit: RateLimit | None = None,
        models: Sequence[str] = KNOWN_MODELS,
        model_parameters: Mapping[str, Any] | None = None,
        log_requests: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.ttft = ttft
        self.tokens_per_second = tokens_per_second
        self.chunk_size = chunk_size
        self.responder = responder
        self.rate_limit = rate_limit
        self.limiter = RateLimiter()
        """What the ``rate_limit`` has seen spent, in flight and refused (a test may put a
        ``RateLimiter(clock)`` here to run the limits on a clock of its own)."""
        self.models: tuple[str, ...] = tuple(models)
        self.model_parameters: dict[str, Any] = {**MODEL_PARAMETERS, **(model_parameters or {})}
        """Published at ``GET /v1/models/{id}`` and enforced on every answer route (given
        ranges replace the documented ones)."""
        self.log_requests = log_requests
        self._key_digest = _digest(require_key) if require_key is not None else None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._counter = itertools.count(1)
        self.stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def for_notebook(cls, **options: Any) -> Self | None:
        """A started server for a notebook with no key, or ``None`` when none is wanted.

        ``None`` when ``EMPIRIOLABS_API_KEY`` is set (the real service answers) or
        ``GLM_CASSETTE_MODE=replay`` (every answer comes from a cassette, and nothing
        may be sent). ``options`` are the constructor's (``ttft=0.4``...)::

            server = LocalGLMServer.for_notebook(ttft=0.4, tokens_per_second=120)
            if server is not None:
                %glm config base_url={server.base_url}
        """
        if os.environ.get("EMPIRIOLABS_API_KEY", "").strip():
            return None
        if os.environ.get("GLM_CASSETTE_MODE", "").strip().lower() == "replay":
            return None
        return cls(**options).start()

    # lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("the local GLM server is already running")
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"LocalGLMServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and hang up every open connection (idempotent, fast)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=1.0)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._httpd is not None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what a client takes as its base URL."""
        if self._httpd is None:
            raise RuntimeError("start the local GLM server first (or use it as a context manager)")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        return f"http://{host}:{self.port}/v1"

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"<LocalGLMServer {where} pending={self.pending}>"

    # scripting -------------------------------------------------------------

    def queue(self, *replies: Reply) -> None:
        """Append replies; each answer request (on any of the three routes) takes the oldest."""
        with self._lock:
            self._replies.extend(replies)

    def clear(self) -> None:
        """Forget queued replies, recorded requests, and what the rate limit counted."""
        with self._lock:
            self._replies.clear()
            self._requests.clear()
        self.limiter.reset()

    @property
    def pending(self) -> int:
        """How many queued replies are still waiting for a request."""
        with self._lock:
            return len(self._replies)

    @property
    def rejected(self) -> int:
        """How many requests the rate limit refused with a 429 (since start or ``clear()``)."""
        return self.limiter.rejected

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``n`` requests have arrived; raise ``TimeoutError`` if they don't."""
        return self._wait_until(lambda: len(self._requests) >= n, timeout, f"{n} request(s)")

    def wait_for_disconnect(self, index: int = -1, timeout: float = 5.0) -> RecordedRequest:
        """Block until request ``index`` is marked ``client_disconnected``; return it."""

        def disconnected() -> bool:
            try:
                return self._requests[index].client_disconnected
            except IndexError:
                return False

        return self._wait_until(disconnected, timeout, "a client disconnect")[index]

    def _wait_until(
        self, predicate: Callable[[], bool], timeout: float, what: str
    ) -> list[RecordedRequest]:
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(
                    f"waited {timeout}s for {what}; the server has seen {len(self._requests)}"
                )
            return list(self._requests)

    # called by the request handler ----------------------------------------

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> RecordedRequest:
        """Store a received request, headers already redacted (handler side)."""
        request = RecordedRequest(method, path, headers, body)
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
        return request

    def mark_disconnected(self, request: RecordedRequest) -> None:
        """Flag that the client hung up on ``request`` (handler side)."""
        with self._changed:
            request.client_disconnected = True
            self._changed.notify_all()

    def reply_for(self, view: dict[str, Any]) -> Reply:
        """The oldest queued reply, else the responder's, else ``default_reply(view)``
        (handler side)."""
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        responder = self.responder
        if responder is not None:
            try:
                reply = responder(view)
            except Exception as error:
                traceback.print_exc()
                message = f"The test server's responder raised {type(error).__name__}: {error}"
                return Reply.error(500, "500", message)
            if reply is not None:
                return reply
        return default_reply(view)

    def next_sequence(self) -> int:
        """A per-server counter that keeps generated ids distinct."""
        with self._lock:
            return next(self._counter)

    def check_key(self, authorization: str | None) -> tuple[str, str] | None:
        """``None`` if the request may pass, else the Z.ai ``(code, message)`` for a 401."""
        if self._key_digest is None:
            return None
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "1001", (
                "Authentication parameter not received in Header: "
                "send 'Authorization: Bearer <your API key>'."
            )
        if not hmac.compare_digest(_digest(token), self._key_digest):
            return "1002", "Invalid API key: the Authorization token is not valid."
        return None

    def track(self, connection: socket.socket, open_: bool) -> None:
        """Remember open client sockets so :meth:`stop` can hang them up."""
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
