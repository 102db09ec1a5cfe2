"""Reading an Anthropic Messages answer (``POST /messages``) into chat events.

The stream opens with ``message_start`` (the model, the id and the input token
counts), then each content block (``thinking``, ``text`` or ``tool_use``) as
``content_block_start``, its ``content_block_delta`` pieces and
``content_block_stop``; ``message_delta`` brings the stop reason and output tokens,
``message_stop`` ends it. A non-streamed request answers with one ``message``
object, which :class:`MessagesAccumulator` reads the same way::

    accumulator = MessagesAccumulator("glm-4.7-flash")
    for data in payloads:                   # each ``data:`` of the stream
        for event in accumulator.feed(data):
            ...
    result = accumulator.snapshot()

Stop reasons come out as chat finish reasons (``end_turn`` as ``stop``, ``tool_use``
as ``tool_calls``, ``max_tokens`` as ``length``, ``refusal`` as ``sensitive``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glm_magics.event_accumulator import EventAccumulator, object_field, text_field
from glm_magics.events import StreamEvent
from glm_magics.results import Usage, token_count

__all__ = ["MessagesAccumulator", "messages_usage"]

_MESSAGES_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "sensitive",
}


class MessagesAccumulator(EventAccumulator):
    """Reads ``POST /messages`` events (``message_start``...) or one ``message`` body."""

    def __init__(self, model: str = "") -> None:
        super().__init__(model)
        self._start_usage: dict[str, Any] = {}
        self._inputs: dict[object, Any] = {}

    def _apply(self, payload: dict[str, Any]) -> list[StreamEvent]:
        kind = self._event_type(payload)
        if kind is None:
            raise ValueError("no 'type'")
        match kind:
            case "message_start":
                message = object_field(payload, "message")
                self._header(message)
                self._start_usage = dict(message.get("usage") or {})
            case "content_block_start":
                return self._block(payload["index"], object_field(payload, "content_block"))
            case "content_block_delta":
                delta = object_field(payload, "delta")
                match delta.get("type"):
                    case "thinking_delta":
                        return self._think(text_field(delta, "thinking"))
                    case "text_delta":
                        return self._say(text_field(delta, "text"))
                    case "input_json_delta":
                        return self._fragment([payload["index"]], text_field(delta, "partial_json"))
            case "content_block_stop":
                if payload["index"] in self._keys:
                    return self._settle([payload["index"]], self._inputs.get(payload["index"]))
            case "message_delta":
                delta = payload.get("delta") or {}
                events = self._finish(_messages_finish(delta.get("stop_reason")))
                if isinstance(payload.get("usage"), dict):
                    events += self._usage(messages_usage({**self._start_usage, **payload["usage"]}))
                return events
            case "message_stop":
                self.done = True
            case "error":
                self._fail(payload)
            case "message":
                return self._whole(payload)
        return []

    def _block(self, index: object, block: dict[str, Any]) -> list[StreamEvent]:
        kind = block.get("type")
        if kind == "thinking":
            return self._think(block.get("thinking"))
        if kind == "text":
            return self._say(block.get("text"))
        if kind == "tool_use":
            self._open_call([index], block.get("id"), block.get("name"))
            self._inputs[index] = block.get("input") or {}
        return []

    def _whole(self, message: dict[str, Any]) -> list[StreamEvent]:
        self._header(message)
        events: list[StreamEvent] = []
        for position, block in enumerate(message.get("content") or ()):
            if block.get("type") == "tool_use":
                events += self._whole_call(
                    [position], block.get("id"), block.get("name"), block.get("input") or {}
                )
            else:
                events += self._block(position, block)
        self.done = True
        events += self._finish(_messages_finish(message.get("stop_reason")))
        if isinstance(message.get("usage"), dict):
            events += self._usage(messages_usage(message["usage"]))
        return events


def _messages_finish(stop_reason: object) -> str | None:
    if not isinstance(stop_reason, str) or not stop_reason:
        return None
    return _MESSAGES_FINISH.get(stop_reason, stop_reason)


def messages_usage(payload: Any) -> Usage:
    """A :class:`Usage` from a Messages ``usage`` object.

    There ``input_tokens`` leaves out the tokens read from or written to the prompt
    cache, so they are added back to give the whole prompt, as chat counts it. The
    protocol does not report reasoning tokens.
    """
    if not isinstance(payload, Mapping):
        return Usage()
    fresh, read, written = (
        token_count(payload.get(key))
        for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    output = token_count(payload.get("output_tokens"))
    prompt = fresh + read + written
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=output,
        total_tokens=prompt + output,
        cached_tokens=read,
    )
