"""The OpenAI Responses wire format (``POST /v1/responses``), built from a Reply.

A streamed answer is a run of named SSE events (``event: <type>`` then
``data: {json}`` whose ``type`` repeats the name and whose ``sequence_number``
counts from 0): ``response.created`` and ``response.in_progress``, then for each
output item (reasoning, message, function call) its ``added``, deltas and ``done``
events, then ``response.completed`` (or ``response.incomplete``) with the final
response object, which is also the non-streamed body. A search's sources are a
top-level ``web_search`` array (as on chat) in the response object of
``response.created`` and of the non-streamed body.

The pieces, their grouping and the tool-call fragments are the chat stream's
(:mod:`glm_magics.testing.wire`), so one reply streams the same deltas on every
route. A reply's chat finish reason maps to the response's status:

=========== ==============================
chat        responses
=========== ==============================
stop        completed
tool_calls  completed
length      incomplete (max_output_tokens)
sensitive   incomplete (content_filter)
=========== ==============================

Faults, pacing, ``line_ending``, ``comments`` and ``done`` apply as on the chat
route (with no terminator event to leave out, ``done=False`` only closes the
connection); the chat-only variants (``reasoning_field``, ``null_finish_reason``,
``separate_usage``) do not. Tool-call arguments stream in pieces unless the reply
sets ``tool_stream=False``.
"""

from __future__ import annotations

import itertools
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

__all__ = ["RESPONSES"]

_INCOMPLETE = {"length": "max_output_tokens", "sensitive": "content_filter"}


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type(status), "param": None, "code": code}}


def _error_event(code: str, message: str) -> SSEEvent:
    payload = {"type": "error", "code": code, "message": message, "param": None}
    return SSEEvent(dumps(payload), name="error")


def _response(answer: Answer, output: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The response object: in progress while ``output`` is None, else final."""
    finish = answer.reply.resolved_finish_reason()
    status = (
        "in_progress" if output is None else "incomplete" if finish in _INCOMPLETE else "completed"
    )
    body: dict[str, Any] = {
        "id": answer.id,
        "object": "response",
        "created_at": answer.created,
        "status": status,
        "model": answer.model,
        "output": output or [],
        "usage": None,
    }
    if status == "incomplete":
        body["incomplete_details"] = {"reason": _INCOMPLETE[finish]}
    if output is not None:
        usage = answer.usage()
        body["usage"] = {
            "input_tokens": usage["prompt"],
            "input_tokens_details": {"cached_tokens": usage["cached"]},
            "output_tokens": usage["completion"],
            "output_tokens_details": {"reasoning_tokens": usage["reasoning"]},
            "total_tokens": usage["total"] or usage["prompt"] + usage["completion"],
        }
    return body


def _output(answer: Answer) -> list[dict[str, Any]]:
    """The finished output items: reasoning, message, then one per function call."""
    reply, output = answer.reply, list[dict[str, Any]]()
    reasoning = "".join(reply.resolved_reasoning_pieces())
    if reasoning:
        content = [{"type": "reasoning_text", "text": reasoning}]
        output.append({"id": "", "type": "reasoning", "summary": [], "content": content})
    text = "".join(reply.resolved_text_pieces())
    if text:
        part = {"type": "output_text", "text": text, "annotations": []}
        message = {"id": "", "type": "message", "status": "completed", "role": "assistant"}
        output.append({**message, "content": [part]})
    for index, call in enumerate(reply.tool_calls):
        output.append(
            {
                "id": "",
                "type": "function_call",
                "status": "completed",
                "call_id": tool_call_id(call, index),
                "name": call.name,
                "arguments": call.arguments,
            }
        )
    prefixes = {"reasoning": "rs", "message": "msg", "function_call": "fc"}
    for position, item in enumerate(output):
        item["id"] = answer.item_id(prefixes[item["type"]], position)
    return output


def _stream_events(answer: Answer, chunk_size: int, fragmented: bool) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    sequence = itertools.count()

    def emit(kind: str, pieces: int = 0, **fields: Any) -> None:
        payload = {"type": kind, "sequence_number": next(sequence), **fields}
        events.append(SSEEvent(dumps(payload), pieces, name=kind))

    reply = answer.reply
    emit("response.created", response={**_response(answer, None), **web_search_field(reply)})
    emit("response.in_progress", response=_response(answer, None))
    output = _output(answer)
    calls = 0
    for position, item in enumerate(output):
        where = {"item_id": item["id"], "output_index": position}
        if item["type"] == "function_call":
            emit(
                "response.output_item.added",
                output_index=position,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for text, count in answer.argument_fragments(calls, fragmented, chunk_size):
                emit("response.function_call_arguments.delta", count, **where, delta=text)
            emit("response.function_call_arguments.done", **where, arguments=item["arguments"])
            calls += 1
        elif item["type"] == "reasoning":
            emit("response.output_item.added", output_index=position, item={**item, "content": []})
            for text, count in token_groups(reply.resolved_reasoning_pieces(), chunk_size):
                emit("response.reasoning_text.delta", count, **where, content_index=0, delta=text)
            text = item["content"][0]["text"]
            emit("response.reasoning_text.done", **where, content_index=0, text=text)
        else:
            emit(
                "response.output_item.added",
                output_index=position,
                item={**item, "status": "in_progress", "content": []},
            )
            part = item["content"][0]
            emit("response.content_part.added", **where, content_index=0, part={**part, "text": ""})
            for text, count in token_groups(reply.resolved_text_pieces(), chunk_size):
                emit("response.output_text.delta", count, **where, content_index=0, delta=text)
            emit("response.output_text.done", **where, content_index=0, text=part["text"])
            emit("response.content_part.done", **where, content_index=0, part=part)
        emit("response.output_item.done", output_index=position, item=item)
    final = _response(answer, output)
    emit(f"response.{final['status']}", response=final)
    return events


def _chat_view(body: Any) -> dict[str, Any]:
    """The request as chat messages and tools, for the canned reply and the token estimate."""
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    for item in [{"role": "user", "content": items}] if isinstance(items, str) else items or []:
        if not isinstance(item, Mapping):
            continue
        if "role" in item:
            messages.append({"role": item["role"], "content": item.get("content")})
        elif item.get("type") == "function_call_output":
            messages.append({"role": "tool", "content": item.get("output")})
    view: dict[str, Any] = {"messages": messages}
    if isinstance(body.get("tools"), list):
        view["tools"] = [chat_tool(tool, "parameters") for tool in body["tools"]]
    text = body.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("format"), Mapping):
        view["response_format"] = text["format"]
    return view


def _whole_body(answer: Answer) -> dict[str, Any]:
    return {**_response(answer, _output(answer)), **web_search_field(answer.reply)}


RESPONSES = ProtocolFormat(
    name="responses",
    path="/v1/responses",
    id_prefix="resp_",
    rules=RequestRules(
        conversation="input",
        conversation_kinds=(str, list),
        max_tokens_field="max_output_tokens",
    ),
    error_body=_error_body,
    error_event=_error_event,
    stream_events=_stream_events,
    whole_body=_whole_body,
    chat_view=_chat_view,
)
"""The OpenAI Responses format."""
