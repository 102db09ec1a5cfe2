"""What every protocol's answer reader shares: joining text, reasoning, tool calls, errors.

Chat completions stream chunks, Responses and Messages stream typed events, and all
three answer a non-streamed request with one object. :class:`StreamReader` is the
base of the three readers (:mod:`~glm_magics.wire.chat`,
:mod:`~glm_magics.wire.responses`, :mod:`~glm_magics.wire.messages`): it keeps the text
and reasoning so far, the tool calls under whatever keys the protocol refers to them
by, the web search's sources and the :class:`~glm_magics.results.ChatResult` they build.

A subclass implements ``_apply`` for one protocol's payloads and reports through the
helpers, which return the :mod:`~glm_magics.events` to yield (``_fail`` raises):
``_header``, ``_say``, ``_think``, ``_sources``, ``_open_call``, ``_fragment``,
``_settle``, ``_whole_call``, ``_finish``, ``_usage`` and ``_fail``. So the same answer
yields the same events over every protocol, and two things happen for all of them:

* answer text that opens with GLM's inline ``<think>…</think>`` (a server without a
  reasoning parser) is moved to the reasoning (:mod:`~glm_magics.wire.think_tags`);
* a top-level ``web_search`` array on a payload (or on the response or message object
  it carries) becomes :attr:`ChatResult.sources`.

``feed`` and ``feed_payload`` turn malformed JSON or a payload of an unexpected shape
(a ``KeyError``, ``TypeError``... inside ``_apply``) into a
:class:`~glm_magics.errors.StreamError` that carries what had arrived.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from glm_magics.errors import (
    CONTENT_FILTER_CODE,
    ContentFilteredError,
    InStreamError,
    StreamError,
)
from glm_magics.events import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageReported,
)
from glm_magics.results import ChatResult, ToolCall, Usage, parse_sources
from glm_magics.wire.http import error_fields
from glm_magics.wire.think_tags import ThinkTagSplitter

__all__ = ["StreamReader", "decode_event", "object_field", "text_field"]


@dataclass
class _Call:
    """One tool call as it arrives; ``announced`` once its first fragment was yielded."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    announced: bool = False


class StreamReader:
    """Reads one answer, streamed or whole, into events and a :class:`ChatResult`.

    ``done`` turns true when the protocol says the stream is over; ``started`` once
    anything of the answer arrived (retrying is safe only before that). A tool call is
    announced (its ``ToolCallDelta`` with id and name) together with its first argument
    fragment, as chat sends it.
    """

    def __init__(self, model: str = "") -> None:
        self.result = ChatResult(model=model)
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[_Call] = []
        self._keys: dict[object, int] = {}
        self._splitter: ThinkTagSplitter | None = ThinkTagSplitter()
        self.done = False
        self.started = False

    def feed(self, data: str) -> list[StreamEvent]:
        """Apply one ``data:`` payload; raise StreamError for an error or bad JSON."""
        if data.strip() == "[DONE]":
            self.done = True
            return self._settle_text()
        return self.feed_payload(decode_event(data, self.snapshot))

    def feed_payload(self, payload: dict[str, Any]) -> list[StreamEvent]:
        """Apply one decoded event or a whole non-streamed body; a bad shape is a StreamError."""
        try:
            events = self._apply(payload)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            detail = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
            raise StreamError(
                f"The service sent an event of an unexpected shape ({detail}): "
                f"{json.dumps(payload, ensure_ascii=False)[:160]}. Run the cell again.",
                partial=self.snapshot(),
            ) from None
        if events:
            self.started = True
        return events

    def end(self) -> list[StreamEvent]:
        """The stream ended: whatever answer text was still held back (a possible tag)."""
        return self._settle_text()

    def snapshot(self) -> ChatResult:
        """The result so far (text, reasoning and tool calls joined)."""
        result = self.result
        result.text = "".join(self._text)
        result.reasoning = "".join(self._reasoning)
        result.tool_calls = [
            ToolCall(
                id=call.id or f"call_{index}", name=call.name, arguments="".join(call.arguments)
            )
            for index, call in enumerate(self._calls)
        ]
        return result

    def _apply(self, payload: dict[str, Any]) -> list[StreamEvent]:
        raise NotImplementedError

    # -- helpers for the subclasses ---------------------------------------------------

    def _event_type(self, payload: dict[str, Any]) -> object:
        """The payload's ``type``, or None for a whole body; an error body is raised.

        An ``{"error": ...}`` object carries no ``type`` in the event protocols, whether
        it is the whole answer or arrives in the middle of a stream.
        """
        kind = payload.get("type")
        if kind is None and payload.get("error"):
            self._fail(payload)
        return kind

    def _header(self, envelope: Mapping[str, Any]) -> None:
        """Take the model id, the answer's id and any sources from a payload or envelope."""
        if isinstance(envelope.get("model"), str) and envelope["model"]:
            self.result.model = envelope["model"]
        if self.result.id is None and isinstance(envelope.get("id"), str):
            self.result.id = envelope["id"]
        if "web_search" in envelope:
            self._sources(envelope["web_search"])

    def _sources(self, value: object) -> None:
        known = {source.link for source in self.result.sources}
        for source in parse_sources(value):
            if source.link not in known:
                known.add(source.link)
                self.result.sources.append(source)

    def _say(self, text: object) -> list[StreamEvent]:
        """Answer text; a leading ``<think>…</think>`` goes to the reasoning instead."""
        if not isinstance(text, str) or not text:
            return []
        think = self._splitter
        if think is None or think.settled:
            self._splitter = None
            self._text.append(text)
            return [TextDelta(text)]
        return self._parts(think.feed(text))

    def _settle_text(self) -> list[StreamEvent]:
        think, self._splitter = self._splitter, None
        return self._parts(think.flush()) if think is not None else []

    def _parts(self, parts: Sequence[tuple[str, str]]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for kind, part in parts:
            events += self._think(part) if kind == "reasoning" else self._plain(part)
        return events

    def _plain(self, text: str) -> list[StreamEvent]:
        self._text.append(text)
        return [TextDelta(text)]

    def _think(self, text: object) -> list[StreamEvent]:
        """Reasoning the protocol sent as reasoning (``reasoning_content``, thinking...)."""
        if not isinstance(text, str) or not text:
            return []
        self._reasoning.append(text)
        return [ReasoningDelta(text)]

    def _open_call(
        self, keys: Sequence[object], call_id: object = None, name: object = None
    ) -> int:
        """The position of the call known under any of ``keys`` (a new one if none).

        Fills in the id and name when they are given and not yet known.
        """
        index = next((self._keys[key] for key in keys if key in self._keys), None)
        if index is None:
            index = len(self._calls)
            self._calls.append(_Call())
        for key in keys:
            self._keys[key] = index
        call = self._calls[index]
        if isinstance(call_id, str) and call_id and not call.id:
            call.id = call_id
        if isinstance(name, str) and name and not call.name:
            call.name = name
        return index

    def _fragment(self, keys: Sequence[object], arguments: str) -> list[StreamEvent]:
        index = self._open_call(keys)
        call = self._calls[index]
        call.arguments.append(arguments)
        if call.announced:
            return [ToolCallDelta(index=index, id=None, name=None, arguments=arguments)]
        call.announced = True
        return [ToolCallDelta(index, call.id or None, call.name or None, arguments)]

    def _settle(self, keys: Sequence[object], arguments: object) -> list[StreamEvent]:
        """A call's whole arguments: sent as one fragment unless fragments already came."""
        if self._calls[self._open_call(keys)].announced:
            return []
        if isinstance(arguments, Mapping):
            arguments = json.dumps(arguments, ensure_ascii=False)
        return self._fragment(keys, arguments if isinstance(arguments, str) else "")

    def _whole_call(
        self, keys: Sequence[object], call_id: object, name: object, arguments: object
    ) -> list[StreamEvent]:
        """A call that arrives in one piece (a whole body, or a call's ``done`` event)."""
        self._open_call(keys, call_id, name)
        return self._settle(keys, arguments)

    def _finish(self, reason: str | None) -> list[StreamEvent]:
        """The service said why it stopped; text held back for a possible tag comes first."""
        if not reason:
            return []
        events = self._settle_text()
        self.result.finish_reason = reason
        return [*events, Finished(reason)]

    def _usage(self, usage: Usage) -> list[StreamEvent]:
        self.result.usage = usage
        return [UsageReported(usage)]

    def _fail(self, payload: Mapping[str, Any]) -> NoReturn:
        """Raise the error event or body; an error ``type`` stands in for a missing code."""
        code, message = error_fields(payload)
        error = payload.get("error")
        if code is None and isinstance(error, dict) and isinstance(error.get("type"), str):
            code = error["type"]
        if code == CONTENT_FILTER_CODE:
            raise ContentFilteredError(message, code=code, partial=self.snapshot())
        raise InStreamError(message or "no details given", code=code, partial=self.snapshot())


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


def text_field(payload: Mapping[str, Any], key: str) -> str:
    """``payload[key]``, which must be a string (a TypeError or KeyError otherwise)."""
    value = payload[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} is {type(value).__name__}, not text")
    return value


def object_field(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``payload[key]``, which must be a JSON object (a TypeError or KeyError otherwise)."""
    value = payload[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key!r} is {type(value).__name__}, not an object")
    return value
