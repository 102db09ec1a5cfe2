"""Anthropic Messages (``POST /messages``): the request body and the answer's reader.

The body (:func:`messages_body`) carries system messages as ``system``; consecutive
tool results share one user message of ``tool_result`` blocks; an assistant's tool
calls become ``thinking``, ``text`` and ``tool_use`` blocks with parsed arguments;
``max_tokens`` is required, so :data:`DEFAULT_MAX_TOKENS` fills it in.

The stream opens with ``message_start`` (the model, the id and the input token
counts), then each content block (``thinking``, ``text`` or ``tool_use``) as
``content_block_start``, its ``content_block_delta`` pieces and
``content_block_stop``; ``message_delta`` brings the stop reason and output tokens,
``message_stop`` ends it. A non-streamed request answers with one ``message``
object, which :class:`MessagesReader` reads the same way::

    reader = MessagesReader("glm-4.7-flash")
    for data in payloads:                   # each ``data:`` of the stream
        for event in reader.feed(data):
            ...
    result = reader.snapshot()

Stop reasons come out as chat finish reasons (``end_turn`` as ``stop``, ``tool_use``
as ``tool_calls``, ``max_tokens`` as ``length``, ``refusal`` as ``sensitive``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from glm_magics.errors import ParameterError
from glm_magics.events import StreamEvent
from glm_magics.results import Usage, token_count
from glm_magics.wire.message_parts import (
    plain_text,
    text_parts,
    tool_call_id,
    tool_calls_of,
    tool_output,
)
from glm_magics.wire.params import RANGES
from glm_magics.wire.reader import StreamReader, object_field, text_field

__all__ = ["DEFAULT_MAX_TOKENS", "MessagesReader", "messages_body", "messages_usage"]

#: The Messages protocol requires ``max_tokens``; this is GLM's documented default.
DEFAULT_MAX_TOKENS = int(RANGES["max_tokens"].default)


def messages_body(
    messages: list[dict[str, Any]], model: str, params: dict[str, Any], stream: bool
) -> dict[str, Any]:
    """``POST /messages``: ``system`` plus ``messages`` of content blocks.

    ``max_tokens`` is always set, ``stop`` becomes ``stop_sequences`` and a string
    ``tool_choice`` becomes ``{"type": ...}``; the other parameters keep their names.
    """
    system: list[str] = []
    converted: list[dict[str, Any]] = []
    results: list[dict[str, Any]] | None = None  # tool results since the last other message
    for index, message in enumerate(messages):
        role, content = message["role"], message.get("content")
        if role == "tool":
            if results is None:
                results = []
                converted.append({"role": "user", "content": results})
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": tool_call_id(index, message),
                    "content": tool_output(content),
                }
            )
            continue
        results = None
        if role == "system":
            system.append(plain_text(content))
        elif role == "user" or not message.get("tool_calls"):
            converted.append({"role": role, "content": text_parts(content or "", "text")})
        else:
            converted.append({"role": "assistant", "content": _assistant_blocks(index, message)})
    if not converted:
        raise ParameterError("the messages protocol needs at least one non-system message")
    body: dict[str, Any] = {"model": model}
    if system:
        body["system"] = "\n\n".join(system)
    body["messages"] = converted
    body["max_tokens"] = params.get("max_tokens", DEFAULT_MAX_TOKENS)
    for name, value in params.items():
        if name == "max_tokens":
            continue
        if name == "stop":
            body["stop_sequences"] = list(value)
        elif name == "tools":
            body["tools"] = [_messages_tool(tool) for tool in value]
        elif name == "tool_choice":
            body["tool_choice"] = {"type": value} if isinstance(value, str) else value
        else:
            body[name] = value
    if stream:
        body["stream"] = True
    return body


def _messages_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)
    function = tool["function"]
    converted: dict[str, Any] = {"name": function["name"]}
    if "description" in function:
        converted["description"] = function["description"]
    converted["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return converted


def _assistant_blocks(index: int, message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Thinking, text and tool_use blocks: GLM wants its reasoning back around tool calls."""
    blocks: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append({"type": "thinking", "thinking": reasoning})
    text = plain_text(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for number, (call_id, name, arguments) in enumerate(tool_calls_of(index, message)):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ParameterError(
                f"messages[{index}].tool_calls[{number}] ({name!r}) has arguments that are not "
                "a JSON object; the messages protocol sends them parsed. Fix or drop that call."
            )
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": parsed})
    return blocks


_MESSAGES_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "sensitive",
}


class MessagesReader(StreamReader):
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
