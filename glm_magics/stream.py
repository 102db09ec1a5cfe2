"""A streamed chat completion: typed events as they arrive, and the result they build.

:class:`ChunkAccumulator` turns decoded ``chat.completion.chunk`` payloads into
events and a :class:`~glm_magics.results.ChatResult`; it accepts every shape GLM
hosts send (``reasoning_content`` or ``reasoning``, ``finish_reason`` absent or
``null``, usage in the finish chunk or a separate one, tool calls whole or in
fragments by ``index``). :class:`ChatStream` runs the HTTP exchange, retries before
the first token, and can be aborted from another thread.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from glm_magics.errors import (
    CONTENT_FILTER_CODE,
    APIConnectionError,
    APIError,
    ContentFilteredError,
    InStreamError,
    StreamError,
    TruncatedStreamError,
)
from glm_magics.events import (
    Finished,
    ReasoningDelta,
    RetryScheduled,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageReported,
)
from glm_magics.results import ChatResult, ToolCall, Usage
from glm_magics.retry import RetryPolicy, describe_failure, is_retryable
from glm_magics.sse import SSEDecoder
from glm_magics.think_tags import ThinkTagSplitter
from glm_magics.web_search import parse_sources

if TYPE_CHECKING:
    from types import TracebackType

    from glm_magics.protocols import StreamAccumulator

__all__ = ["ChatStream", "ChunkAccumulator", "decode_event", "error_fields"]


@dataclass
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChunkAccumulator:
    """Builds a :class:`ChatResult` from chunk payloads, yielding events for each."""

    def __init__(self, model: str = "") -> None:
        self.result = ChatResult(model=model)
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _PartialToolCall] = {}
        self._think: ThinkTagSplitter | None = ThinkTagSplitter()
        self.done = False
        self.started = False

    def feed(self, data: str) -> list[StreamEvent]:
        """Apply one ``data:`` payload; raise StreamError for an error or bad JSON."""
        if data.strip() == "[DONE]":
            self.done = True
            return self._end_content()
        return self.feed_payload(decode_event(data, self.snapshot))

    def feed_payload(self, payload: dict[str, Any]) -> list[StreamEvent]:
        """Apply one decoded chunk; an unexpected shape is a StreamError."""
        try:
            return self._apply(payload)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            raise StreamError(
                f"The service sent an event of an unexpected shape ({exc}): "
                f"{json.dumps(payload, ensure_ascii=False)[:160]}. Run the cell again.",
                partial=self.snapshot(),
            ) from None

    def _apply(self, payload: dict[str, Any]) -> list[StreamEvent]:
        if payload.get("error"):
            code, message = error_fields(payload)
            if code == CONTENT_FILTER_CODE:
                raise ContentFilteredError(message, code=code, partial=self.snapshot())
            raise InStreamError(message, code=code, partial=self.snapshot())
        events: list[StreamEvent] = []
        result = self.result
        if isinstance(payload.get("model"), str) and payload["model"]:
            result.model = payload["model"]
        if result.id is None and isinstance(payload.get("id"), str):
            result.id = payload["id"]
        if "web_search" in payload:
            known = {source.link for source in result.sources}
            for source in parse_sources(payload["web_search"]):
                if source.link not in known:
                    known.add(source.link)
                    result.sources.append(source)
        for choice in payload.get("choices") or ():
            if not isinstance(choice, dict) or (choice.get("index") or 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self._reasoning.append(reasoning)
                events.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.extend(self._content(content))
            for position, call in enumerate(delta.get("tool_calls") or ()):
                events.append(self._tool_fragment(position, call))
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                events.extend(self._end_content())
                result.finish_reason = finish
                events.append(Finished(finish))
        usage = payload.get("usage")
        if isinstance(usage, dict):
            result.usage = Usage.from_payload(usage)
            events.append(UsageReported(result.usage))
        if events:
            self.started = True
        return events

    def _content(self, text: str) -> list[StreamEvent]:
        """Answer text; a leading ``<think>…</think>`` (a server without a reasoning
        parser) goes to the reasoning instead."""
        think = self._think
        if think is None or think.settled:
            self._think = None
            self._text.append(text)
            return [TextDelta(text)]
        return self._parts(think.feed(text))

    def _end_content(self) -> list[StreamEvent]:
        think, self._think = self._think, None
        return self._parts(think.flush()) if think is not None else []

    def _parts(self, parts: Sequence[tuple[str, str]]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for kind, part in parts:
            if kind == "reasoning":
                self._reasoning.append(part)
                events.append(ReasoningDelta(part))
            else:
                self._text.append(part)
                events.append(TextDelta(part))
        return events

    def _tool_fragment(self, position: int, call: dict[str, Any]) -> ToolCallDelta:
        index = call.get("index")
        if not isinstance(index, int):
            index = position
        function = call.get("function") or {}
        partial = self._calls.setdefault(index, _PartialToolCall())
        call_id = call.get("id") if isinstance(call.get("id"), str) else None
        name = function.get("name") if isinstance(function.get("name"), str) else None
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, ensure_ascii=False)
        arguments = arguments if isinstance(arguments, str) else ""
        if call_id:
            partial.id = call_id
        if name:
            partial.name = name
        partial.arguments.append(arguments)
        return ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments)

    def snapshot(self) -> ChatResult:
        """The result so far (text, reasoning and tool calls joined)."""
        result = self.result
        result.text = "".join(self._text)
        result.reasoning = "".join(self._reasoning)
        result.tool_calls = [
            ToolCall(
                id=call.id or f"call_{index}", name=call.name, arguments="".join(call.arguments)
            )
            for index, call in sorted(self._calls.items())
        ]
        return result


def decode_event(data: str, partial: Callable[[], ChatResult]) -> dict[str, Any]:
    """One ``data:`` payload as a JSON object, or a StreamError carrying ``partial()``."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise StreamError(
            f"The service sent a malformed event ({exc.msg} at character {exc.pos}): "
            f"{data[:120]!r}. Run the cell again.",
            partial=partial(),
        ) from None
    if not isinstance(payload, dict):
        raise StreamError(f"The service sent an unexpected event: {data[:120]!r}")
    return payload


def error_fields(payload: dict[str, Any]) -> tuple[str | None, str]:
    """``(code, message)`` from an error body in any of the usual shapes."""
    error = payload.get("error", payload)
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, str(error)
    code = error.get("code")
    message = error.get("message") or error.get("msg") or payload.get("detail") or ""
    return (str(code) if code not in (None, "") else None), str(message)


Opener = Callable[[Callable[[str, dict[str, Any]], None]], httpx.Response]
"""Sends the request; takes an httpcore ``trace`` callback (to learn the socket early)."""


class ChatStream:
    """Iterate for events; use as a context manager so the connection is always closed.

    ``close()`` may be called from another thread (a Stop button, an interrupt
    handler): it shuts the socket down so a blocked read returns at once, and the
    iteration ends quietly with ``result.interrupted`` set.

    ``accumulator`` reads the answer's events; the default reads chat completion
    chunks (see :mod:`glm_magics.protocols` for the others).
    """

    # Where a whole (non-streamed) body keeps its answer, in each wire protocol.
    _ANSWER_KEYS = ("choices", "output", "content")

    def __init__(
        self,
        open_response: Opener,
        *,
        model: str,
        policy: RetryPolicy,
        sleep: Callable[[float], None] | None = None,
        accumulator: StreamAccumulator | None = None,
    ) -> None:
        self._open = open_response
        self._policy = policy
        self._accumulator = accumulator if accumulator is not None else ChunkAccumulator(model)
        self._aborted = threading.Event()
        self._response: httpx.Response | None = None
        self._socket: socket.socket | None = None
        self._reader: int | None = None
        self._lock = threading.Lock()
        self._sleep = sleep
        self._iterated = False
        self.started_at = time.perf_counter()
        self.first_token_at: float | None = None
        self.finished_at: float | None = None

    @property
    def result(self) -> ChatResult:
        """What has arrived so far; complete once iteration has finished."""
        return self._accumulator.snapshot()

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
        if response is not None and sock is None:
            stream = response.extensions.get("network_stream")
            found = stream.get_extra_info("socket") if stream is not None else None
            sock = found if isinstance(found, socket.socket) else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if response is None:
            return
        if self._reader != threading.get_ident():
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
                    if self._accumulator.started or attempt >= attempts or not is_retryable(error):
                        raise
                    delay = self._policy.delay(attempt, getattr(error, "retry_after", None))
                    if delay is None:
                        raise
                    attempt += 1
                    yield RetryScheduled(describe_failure(error), delay, attempt, attempts)
                    self._wait(delay)
                    if self._aborted.is_set():
                        self._accumulator.result.interrupted = True
                        return
        finally:
            self.finished_at = time.perf_counter()
            self._record_timings()

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
        try:
            response = self._open(self._trace)
        except APIError:
            if self._aborted.is_set():
                self._accumulator.result.interrupted = True
                return
            raise
        finally:
            with self._lock:
                self._socket = None
        with self._lock:
            self._response = response
            self._reader = threading.get_ident()
        if self._aborted.is_set():
            response.close()
            self._accumulator.result.interrupted = True
            return
        accumulator = self._accumulator
        kind = response.headers.get("content-type", "text/event-stream")
        if not kind.startswith("text/event-stream"):
            yield from self._whole_body(response)
            return
        decoder = SSEDecoder()
        try:
            try:
                for chunk in response.iter_bytes():
                    for event in decoder.decode(chunk):
                        yield from self._deliver(event.data)
                    if accumulator.done:
                        break
                if not accumulator.done:
                    for event in decoder.flush():
                        yield from self._deliver(event.data)
            except (httpx.HTTPError, OSError) as exc:
                if self._aborted.is_set():
                    accumulator.result.interrupted = True
                    return
                if not accumulator.started:
                    raise APIConnectionError(
                        f"The connection broke before the answer started ({type(exc).__name__})."
                        " Check the network and run the cell again."
                    ) from None
                raise TruncatedStreamError(
                    "The connection broke in the middle of the answer "
                    f"({type(exc).__name__}); what arrived is kept. Run the cell again for a "
                    "complete answer.",
                    partial=self.result,
                ) from None
        finally:
            self._release(response)
        if self._aborted.is_set() and accumulator.result.finish_reason is None:
            accumulator.result.interrupted = True
            return
        result = self.result
        if result.finish_reason is None:
            if not accumulator.started:
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

    def _release(self, response: httpx.Response) -> None:
        response.close()
        with self._lock:
            self._response = None
            self._reader = None

    def _whole_body(self, response: httpx.Response) -> Iterator[StreamEvent]:
        """A server that answered a streamed request with one JSON body (or an error)."""
        try:
            body = response.read()
        except httpx.HTTPError as exc:
            raise APIConnectionError(
                f"The connection broke while reading the answer ({type(exc).__name__})."
            ) from None
        finally:
            self._release(response)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "no content type")
            raise StreamError(
                f"The service answered with {kind} instead of an event stream: "
                f"{body[:160]!r}. Check the base URL."
            ) from None
        if not isinstance(payload, dict):
            raise StreamError(f"The service sent an unexpected body: {body[:160]!r}")
        yield from self._accumulator.feed_payload(payload)
        result = self.result
        if result.finish_reason is None and any(payload.get(k) for k in self._ANSWER_KEYS):
            result.finish_reason = "stop"
        if result.finish_reason is None:
            raise StreamError(f"The service sent no answer: {body[:160]!r}")
        if result.finish_reason == "sensitive":
            raise ContentFilteredError(partial=result)

    def _deliver(self, data: str) -> Iterator[StreamEvent]:
        events = self._accumulator.feed(data)
        if (
            events
            and self.first_token_at is None
            and any(isinstance(e, TextDelta | ReasoningDelta | ToolCallDelta) for e in events)
        ):
            self.first_token_at = time.perf_counter()
        yield from events

    def _record_timings(self) -> None:
        timings = self._accumulator.result.timings
        end = self.finished_at or time.perf_counter()
        timings["total"] = end - self.started_at
        if self.first_token_at is not None:
            timings["ttft"] = self.first_token_at - self.started_at
