"""The Anthropic Messages wire format (``POST /v1/messages``), built from a Reply.

A streamed answer is a run of named SSE events (``event: <type>`` then
``data: {json}`` whose ``type`` repeats the name): ``message_start`` with an empty
message, ``ping``, then for each content block (thinking, text, tool use) its
``content_block_start``, deltas and ``content_block_stop``, then ``message_delta``
with the stop reason and ``message_stop``. The non-streamed body is the finished
message. ``max_tokens`` is required, as Anthropic requires it. A search's sources
are a top-level ``web_search`` array (as on chat) in the message of
``message_start`` and of the non-streamed body.

The pieces, their grouping and the tool-call fragments are the chat stream's
(:mod:`glm_magics.testing.wire`), so one reply streams the same deltas on every
route. A reply's chat finish reason maps to the stop reason:

=========== ==============
chat        messages
=========== ==============
stop        end_turn
tool_calls  tool_use
length      max_tokens
sensitive   refusal
=========== ==============

Faults, pacing, ``line_ending``, ``comments`` and ``done`` (``False`` leaves out
``message_stop``) apply as on the chat route; the chat-only variants
(``reasoning_field``, ``null_finish_reason``, ``separate_usage``) do not.
Tool-call arguments stream in pieces unless the reply sets ``tool_stream=False``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from glm_magics.testing.protocol_format import Answer, ProtocolFormat, SSEEvent
from glm_magics.testing.validation import RequestRules
from glm_magics.testing.wire import (
    chat_tool,
    dumps,
    error_type,
    token_groups,
    tool_call_id,
    web_search_field,
)

__all__ = ["MESSAGES"]

_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "sensitive": "refusal",
}


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def _error_event(code: str, message: str) -> SSEEvent:
    """An in-stream error; a code that is an error type (``overloaded_error``) is kept."""
    kind = code if code.endswith("_error") else "api_error"
    payload = {"type": "error", "error": {"type": kind, "message": message}}
    return SSEEvent(dumps(payload), name="error")


def _usage(answer: Answer, *, output: bool = True) -> dict[str, int]:
    usage = answer.usage()
    counts = {
        "input_tokens": usage["prompt"] - usage["cached"],
        "cache_read_input_tokens": usage["cached"],
    }
    return {**counts, "output_tokens": usage["completion"] if output else 0}


def _blocks(answer: Answer) -> list[dict[str, Any]]:
    """The finished content blocks: thinking (signed), text, then one per tool call."""
    reply, blocks = answer.reply, list[dict[str, Any]]()
    reasoning = "".join(reply.resolved_reasoning_pieces())
    if reasoning:
        signature = hashlib.sha256(reasoning.encode()).hexdigest()
        blocks.append({"type": "thinking", "thinking": reasoning, "signature": signature})
    text = "".join(reply.resolved_text_pieces())
    if text:
        blocks.append({"type": "text", "text": text})
    for index, call in enumerate(reply.tool_calls):
        try:
            arguments = json.loads(call.arguments)
        except json.JSONDecodeError:
            arguments = None
        tool_input = arguments if isinstance(arguments, dict) else {}
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_call_id(call, index),
                "name": call.name,
                "input": tool_input,
            }
        )
    return blocks


def _message(answer: Answer, content: list[dict[str, Any]], *, final: bool) -> dict[str, Any]:
    finish = answer.reply.resolved_finish_reason()
    return {
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": _STOP_REASONS.get(finish, finish) if final else None,
        "stop_sequence": None,
        "usage": _usage(answer, output=final),
    }


def _stream_events(answer: Answer, chunk_size: int, fragmented: bool) -> list[SSEEvent]:
    events: list[SSEEvent] = []

    def emit(kind: str, pieces: int = 0, **fields: Any) -> None:
        events.append(SSEEvent(dumps({"type": kind, **fields}), pieces, name=kind))

    reply = answer.reply
    emit("message_start", message={**_message(answer, [], final=False), **web_search_field(reply)})
    emit("ping")
    calls = 0
    for index, block in enumerate(_blocks(answer)):
        if block["type"] == "thinking":
            emit(
                "content_block_start",
                index=index,
                content_block={**block, "thinking": "", "signature": ""},
            )
            for text, count in token_groups(reply.resolved_reasoning_pieces(), chunk_size):
                delta = {"type": "thinking_delta", "thinking": text}
                emit("content_block_delta", count, index=index, delta=delta)
            emit(
                "content_block_delta",
                index=index,
                delta={"type": "signature_delta", "signature": block["signature"]},
            )
        elif block["type"] == "text":
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
            for text, count in token_groups(reply.resolved_text_pieces(), chunk_size):
                delta = {"type": "text_delta", "text": text}
                emit("content_block_delta", count, index=index, delta=delta)
        else:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            for text, count in answer.argument_fragments(calls, fragmented, chunk_size):
                delta = {"type": "input_json_delta", "partial_json": text}
                emit("content_block_delta", count, index=index, delta=delta)
            calls += 1
        emit("content_block_stop", index=index)
    final = _message(answer, [], final=True)
    stop: dict[str, Any] = {"stop_reason": final["stop_reason"], "stop_sequence": None}
    emit("message_delta", delta=stop, usage={"output_tokens": final["usage"]["output_tokens"]})
    if reply.done:
        emit("message_stop")
    return events


def _chat_view(body: Any) -> dict[str, Any]:
    """The request as chat messages and tools, for the canned reply and the token estimate."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        results = [
            block
            for block in (content if isinstance(content, list) else [])
            if isinstance(block, Mapping) and block.get("type") == "tool_result"
        ]
        if results:
            messages += [{"role": "tool", "content": block.get("content")} for block in results]
        else:
            messages.append({"role": message.get("role"), "content": content})
    view: dict[str, Any] = {"messages": messages}
    if isinstance(body.get("tools"), list):
        view["tools"] = [chat_tool(tool, "input_schema") for tool in body["tools"]]
    if isinstance(body.get("response_format"), Mapping):  # a GLM extension, passed through
        view["response_format"] = body["response_format"]
    return view


def _whole_body(answer: Answer) -> dict[str, Any]:
    return {**_message(answer, _blocks(answer), final=True), **web_search_field(answer.reply)}


MESSAGES = ProtocolFormat(
    name="messages",
    path="/v1/messages",
    id_prefix="msg_",
    rules=RequestRules(max_tokens_required=True),
    error_body=_error_body,
    error_event=_error_event,
    stream_events=_stream_events,
    whole_body=_whole_body,
    chat_view=_chat_view,
)
"""The Anthropic Messages format."""
