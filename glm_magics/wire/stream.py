"""A streamed answer: typed events as they arrive, and the result they build.

:class:`ChatStream` runs one request's HTTP exchange: it sends (through an opener the
client gives it), reads the answer with the protocol's
:class:`~glm_magics.wire.reader.StreamReader`, retries before the first token (the one
retry loop: a non-streamed request goes through here too, its body read whole), and
can be closed from another thread, which ends a blocked read at once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from glm_magics.errors import (
    RATE_LIMIT_CODES,
    APIConnectionError,
    APIError,
    APIStatusError,
    ContentFilteredError,
    InStreamError,
    QuotaExceededError,
    StreamError,
    TruncatedStreamError,
)
from glm_magics.events import (
    ReasoningDelta,
    RetryScheduled,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
)
from glm_magics.results import ChatResult, Provenance
from glm_magics.wire.http import map_httpx_error
from glm_magics.wire.limits import RateLimiter
from glm_magics.wire.reader import StreamReader
from glm_magics.wire.retry import RetryPolicy, describe_failure, is_retryable
from glm_magics.wire.sse import SSEDecoder

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["PROVENANCE_EXTENSION", "STOP_EXTENSION", "ChatStream", "Opener"]

PROVENANCE_EXTENSION = "glm_provenance"
"""A response extension: the answer's :class:`~glm_magics.results.Provenance`, when the
response says where it came from (a cassette's replayed or recorded responses)."""
STOP_EXTENSION = "glm_stop"
"""A response extension: a callable that ends a response not read from a socket (a
replayed one) at once; :meth:`ChatStream.close` calls it."""


Opener = Callable[[Callable[[str, dict[str, Any]], None]], httpx.Response]
"""Sends the request; takes an httpcore ``trace`` callback (to learn the socket early)."""


class ChatStream:
    """Iterate for events; use as a context manager so the connection is always closed.

    ``close()`` may be called from another thread (a Stop button, an interrupt
    handler): it shuts the socket down so a blocked read returns at once, and the
    iteration ends quietly with ``result.interrupted`` set.

    ``reader`` reads the answer in the request's protocol (see
    :mod:`~glm_magics.wire.protocols`); ``streamed`` says whether the request asked for
    an event stream (a server may answer either way, and both are read). With a
    ``limiter`` each try waits its turn (``tokens``: the prompt's estimate) and tells
    the limiter of a 429 or a finished answer.
    """

    __module__ = "glm_magics"

    # Where a whole (non-streamed) body keeps its answer, in each wire protocol.
    _ANSWER_KEYS = ("choices", "output", "content")

    def __init__(
        self,
        open_response: Opener,
        *,
        reader: StreamReader,
        policy: RetryPolicy,
        base_url: str = "the service",
        streamed: bool = True,
        limiter: RateLimiter | None = None,
        tokens: int = 0,
        sleep: Callable[[float], None] | None = None,
        provenance: Provenance | None = None,
    ) -> None:
        self._open = open_response
        self._provenance = provenance
        self._limiter = limiter
        self._tokens = tokens
        self._policy = policy
        self._reader = reader
        self._base_url = base_url
        self._streamed = streamed
        self._aborted = threading.Event()
        self._response: httpx.Response | None = None
        self._socket: socket.socket | None = None
        self._reading_thread: int | None = None
        self._lock = threading.Lock()
        self._sleep = sleep
        self._iterated = False
        self.started_at = time.perf_counter()
        self.first_token_at: float | None = None
        self.finished_at: float | None = None

    @property
    def result(self) -> ChatResult:
        """What has arrived so far; complete once iteration has finished."""
        return self._reader.snapshot()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def until_done(self) -> ChatResult:
        """Consume the rest of the stream and return the result."""
        for _ in self:
            pass
        return self.result

    def close(self) -> None:
        """Stop the stream and release the connection; safe from any thread, idempotent.

        Works while the request is still connecting or waiting for the response
        headers too: the socket is known from the moment it connects.
        """
        self._aborted.set()
        with self._lock:
            response, sock = self._response, self._socket
        stop = response.extensions.get(STOP_EXTENSION) if response is not None else None
        if callable(stop):
            stop()
        if response is not None and sock is None:
            stream = response.extensions.get("network_stream")
            found = stream.get_extra_info("socket") if stream is not None else None
            sock = found if isinstance(found, socket.socket) else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if response is None:
            return
        if self._reading_thread != threading.get_ident():
            return  # the reading thread wakes up on the shut-down socket and closes
        response.close()

    @property
    def aborted(self) -> bool:
        """Whether :meth:`close` was called before the stream finished."""
        return self._aborted.is_set()

    def __iter__(self) -> Iterator[StreamEvent]:
        if self._iterated:
            raise RuntimeError("a ChatStream can be iterated only once; use .result")
        self._iterated = True
        attempts = self._policy.max_retries + 1
        attempt = 1
        try:
            while True:
                try:
                    yield from self._attempt()
                    return
                except APIError as error:
                    if self._aborted.is_set():
                        return
                    if self._reader.started or attempt >= attempts or not is_retryable(error):
                        raise
                    delay = self._policy.delay(attempt, getattr(error, "retry_after", None))
                    if delay is None:
                        raise
                    attempt += 1
                    yield RetryScheduled(describe_failure(error), delay, attempt, attempts)
                    self._wait(delay)
                    if self._aborted.is_set():
                        self._interrupted()
                        return
        finally:
            self.finished_at = time.perf_counter()
            self._record_timings()

    def _interrupted(self) -> None:
        self._reader.result.interrupted = True

    def _wait(self, delay: float) -> None:
        if self._sleep is not None:
            self._sleep(delay)
        else:
            self._aborted.wait(delay)

    def _trace(self, name: str, info: dict[str, Any]) -> None:
        if name == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._socket = sock
                if self._aborted.is_set():
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def _attempt(self) -> Iterator[StreamEvent]:
        """One try, in its turn at the service's rate limiter (which hears how it went)."""
        limiter = self._limiter
        if limiter is None:
            yield from self._exchange()
            return
        permit = limiter.acquire(self._tokens, abort=self._aborted)
        if permit is None:  # stopped while waiting for its turn
            self._interrupted()
            return
        try:
            yield from self._exchange()
        except APIError as error:
            if _rate_limited(error):
                retry_after = getattr(error, "retry_after", None)
                limiter.rate_limited_by_service(retry_after, sent_at=permit.granted_at)
            raise
        finally:
            permit.release()
        result = self._reader.result
        if result.finish_reason is not None:
            limiter.succeeded()
            permit.used(result.usage.total_tokens)

    def _exchange(self) -> Iterator[StreamEvent]:
        try:
            response = self._open(self._trace)
        except APIError:
            if self._aborted.is_set():
                self._interrupted()
                return
            raise
        finally:
            with self._lock:
                self._socket = None
        with self._lock:
            self._response = response
            self._reading_thread = threading.get_ident()
        provenance = response.extensions.get(PROVENANCE_EXTENSION, self._provenance)
        if isinstance(provenance, Provenance):
            self._reader.result.provenance = provenance
        if self._limiter is not None:
            self._limiter.publish(response.headers)
        if self._aborted.is_set():
            self._release(response)
            self._interrupted()
            return
        kind = response.headers.get("content-type", "text/event-stream")
        if kind.startswith("text/event-stream"):
            yield from self._events(response)
        else:
            yield from self._whole_body(response)

    def _events(self, response: httpx.Response) -> Iterator[StreamEvent]:
        reader = self._reader
        decoder = SSEDecoder()
        try:
            try:
                for chunk in response.iter_bytes():
                    for event in decoder.decode(chunk):
                        yield from self._deliver(reader.feed(event.data))
                    if reader.done:
                        break
                if not reader.done:
                    for event in decoder.flush():
                        yield from self._deliver(reader.feed(event.data))
                yield from self._deliver(reader.end())
            except (httpx.HTTPError, OSError) as exc:
                self._read_failed(exc)
                return
        finally:
            self._release(response)
        if self._aborted.is_set() and reader.result.finish_reason is None:
            self._interrupted()
            return
        result = self.result
        if result.finish_reason is None:
            if not reader.started:
                raise APIConnectionError(
                    "The service closed the stream without sending anything. Run the cell again."
                )
            raise TruncatedStreamError(
                "The answer stopped before the service said it was finished (no finish_reason):"
                " it is incomplete. Run the cell again.",
                partial=result,
            )
        if result.finish_reason == "sensitive":
            raise ContentFilteredError(partial=result)

    def _read_failed(self, exc: BaseException) -> None:
        """Reading broke: quietly when :meth:`close` did it, else the mapped error."""
        if self._aborted.is_set():
            self._interrupted()
            return
        partial = self.result if self._reader.started else None
        raise map_httpx_error(exc, self._base_url, reading=True, partial=partial) from None

    def _release(self, response: httpx.Response) -> None:
        response.close()
        with self._lock:
            self._response = None
            self._reading_thread = None

    def _whole_body(self, response: httpx.Response) -> Iterator[StreamEvent]:
        """One JSON body: a non-streamed request, or a server that would not stream."""
        try:
            body = response.read()
        except (httpx.HTTPError, OSError) as exc:
            self._read_failed(exc)
            return
        finally:
            self._release(response)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "no content type")
            instead = " instead of an event stream" if self._streamed else ", not JSON"
            raise StreamError(
                f"The service answered with {kind}{instead}: {body[:160]!r}. Check the base URL."
            ) from None
        if not isinstance(payload, dict):
            raise StreamError(f"The service sent an unexpected body: {body[:160]!r}")
        yield from self._deliver(self._reader.feed_payload(payload))
        yield from self._deliver(self._reader.end())
        result = self.result
        if result.finish_reason is None and any(payload.get(k) for k in self._ANSWER_KEYS):
            result.finish_reason = "stop"
        if result.finish_reason is None:
            raise StreamError(f"The service sent no answer: {body[:160]!r}")
        if result.finish_reason == "sensitive":
            raise ContentFilteredError(partial=result)

    def _deliver(self, events: list[StreamEvent]) -> Iterator[StreamEvent]:
        if (
            events
            and self.first_token_at is None
            and any(isinstance(e, TextDelta | ReasoningDelta | ToolCallDelta) for e in events)
        ):
            self.first_token_at = time.perf_counter()
        yield from events

    def _record_timings(self) -> None:
        timings = self._reader.result.timings
        end = self.finished_at or time.perf_counter()
        timings["total"] = end - self.started_at
        if self.first_token_at is not None:
            timings["ttft"] = self.first_token_at - self.started_at


def _rate_limited(error: APIError) -> bool:
    """A 429 that waiting fixes (not an exhausted quota), or the same inside a stream."""
    if isinstance(error, QuotaExceededError):
        return False
    if isinstance(error, APIStatusError):
        return error.status_code == 429
    return isinstance(error, InStreamError) and error.code in RATE_LIMIT_CODES
