"""The part of the Responses and Messages readers that does not depend on the protocol.

Both protocols stream typed events (and answer a non-streamed request with one
object) where chat streams chunks. :class:`EventAccumulator` holds what a reader of
either keeps: the text and reasoning so far, the tool calls by whatever keys the
protocol refers to them with, and the result it builds. A subclass implements
``_apply`` for one protocol's payloads (``_event_type`` reads a payload's ``type`` and
raises an untyped error body) and reports through the helpers: ``_say``, ``_think``,
``_open_call``, ``_fragment``, ``_settle``, ``_whole_call``, ``_finish``, ``_usage``
and ``_fail``. Those return the :mod:`~glm_magics.events` to yield (``_fail`` raises),
so the reader yields what :class:`~glm_magics.stream.ChunkAccumulator` yields for the
same answer over chat.

``feed`` and ``feed_payload`` turn malformed JSON or a payload of an unexpected shape
(a ``KeyError``, ``TypeError``... inside ``_apply``) into a
:class:`~glm_magics.errors.StreamError` that carries what had arrived.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
from glm_magics.results import ChatResult, ToolCall, Usage
from glm_magics.stream import decode_event, error_fields

__all__ = ["EventAccumulator", "object_field", "text_field"]


@dataclass
class _Call:
    """One tool call as it arrives; ``announced`` once its first fragment was yielded."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    announced: bool = False


class EventAccumulator:
    """What the Responses and Messages readers share: joining text, tool calls, errors.

    A tool call is announced (its ``ToolCallDelta`` with id and name) together with its
    first argument fragment, as chat sends it, so every protocol yields the same events.
    """

    def __init__(self, model: str = "") -> None:
        self.result = ChatResult(model=model)
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[_Call] = []
        self._keys: dict[object, int] = {}
        self.done = False
        self.started = False

    def feed(self, data: str) -> list[StreamEvent]:
        """Apply one ``data:`` payload; raise StreamError for an error or bad JSON."""
        if data.strip() == "[DONE]":
            self.done = True
            return []
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

    def _apply(self, payload: dict[str, Any]) -> list[StreamEvent]:
        raise NotImplementedError

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

    # helpers for the subclasses

    def _event_type(self, payload: dict[str, Any]) -> object:
        """The payload's ``type``, or None for a whole body; an error body is raised.

        An ``{"error": ...}`` object carries no ``type`` in either protocol, whether it
        is the whole answer or arrives in the middle of a stream.
        """
        kind = payload.get("type")
        if kind is None and payload.get("error"):
            self._fail(payload)
        return kind

    def _header(self, envelope: Mapping[str, Any]) -> None:
        if isinstance(envelope.get("model"), str) and envelope["model"]:
            self.result.model = envelope["model"]
        if self.result.id is None and isinstance(envelope.get("id"), str):
            self.result.id = envelope["id"]

    def _say(self, text: object) -> list[StreamEvent]:
        if not isinstance(text, str) or not text:
            return []
        self._text.append(text)
        return [TextDelta(text)]

    def _think(self, text: object) -> list[StreamEvent]:
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
        if not reason:
            return []
        self.result.finish_reason = reason
        return [Finished(reason)]

    def _usage(self, usage: Usage) -> list[StreamEvent]:
        self.result.usage = usage
        return [UsageReported(usage)]

    def _fail(self, payload: dict[str, Any]) -> NoReturn:
        """Raise the error event or body; an error ``type`` stands in for a missing code."""
        code, message = error_fields(payload)
        error = payload.get("error")
        if code is None and isinstance(error, dict) and isinstance(error.get("type"), str):
            code = error["type"]
        if code == CONTENT_FILTER_CODE:
            raise ContentFilteredError(message, code=code, partial=self.snapshot())
        raise InStreamError(message or "no details given", code=code, partial=self.snapshot())


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
