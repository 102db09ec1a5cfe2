"""The Responses and Messages wire formats of the local server, built from a Reply.

Besides chat completions (:mod:`glm_magics.testing.wire`) the service answers
``POST /v1/responses`` (OpenAI Responses) and ``POST /v1/messages`` (Anthropic
Messages). Both stream named SSE events (``event: <type>`` then ``data: {json}``
whose ``type`` repeats the name) and answer a non-streamed request with one object.
A :class:`ProtocolFormat` bundles what the request handler needs for one of them:
the rules its request is checked by, error bodies, the streamed events and the whole body.

Everything is pure. The pieces, their grouping, the tool-call fragments, the usage
estimate and the ids come from the chat wire helpers, so one :class:`Reply` streams
the same deltas over all three protocols. Mapping of a reply's chat finish reason:

=========== ============================== ==============
chat        responses                      messages
=========== ============================== ==============
stop        completed                      end_turn
tool_calls  completed                      tool_use
length      incomplete (max_output_tokens) max_tokens
sensitive   incomplete (content_filter)    refusal
=========== ============================== ==============

Faults, pacing, ``line_ending``, ``comments`` and ``done`` (``False`` leaves out
``message_stop``) apply as on the chat route; the chat-only variants
(``reasoning_field``, ``null_finish_reason``, ``separate_usage``, ``web_search``) do not.
Tool-call arguments stream in pieces unless the reply sets ``tool_stream=False``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from glm_magics.testing.replies import Reply
from glm_magics.testing.validation import RequestRules
from glm_magics.testing.wire import (
    dumps,
    token_groups,
    tool_call_deltas,
    tool_call_id,
    usage_for,
)

__all__ = ["FORMATS", "Answer", "NamedEvent", "ProtocolFormat"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_MESSAGES_STOP = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "sensitive": "refusal",
}
_INCOMPLETE = {"length": "max_output_tokens", "sensitive": "content_filter"}


@dataclass(frozen=True)
class NamedEvent:
    """One SSE event: its ``event:`` name, its ``data:`` JSON, and its token pieces (pacing)."""

    name: str
    payload: str
    pieces: int = 0

    def frame(self, line_ending: str = "\n") -> bytes:
        """The bytes on the wire, ``event:`` line first."""
        end = line_ending
        return f"event: {self.name}{end}data: {self.payload}{end}{end}".encode()


@dataclass(frozen=True)
class Answer:
    """What the bodies of one reply share: the reply, model, id, time and prompt size."""

    reply: Reply
    model: str
    id: str
    created: int
    prompt_tokens: int

    def usage(self) -> dict[str, int]:
        """The chat usage numbers (explicit on the reply, else estimated as for chat)."""
        usage = usage_for(self.reply, self.prompt_tokens)
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return {
            "prompt": int(usage.get("prompt_tokens") or 0),
            "completion": int(usage.get("completion_tokens") or 0),
            "total": int(usage.get("total_tokens") or 0),
            "cached": int(prompt_details.get("cached_tokens") or 0),
            "reasoning": int(completion_details.get("reasoning_tokens") or 0),
        }

    def item_id(self, prefix: str, position: int) -> str:
        """A deterministic id for one output item or content block."""
        digest = hashlib.sha256(f"{self.id}\0{position}".encode()).hexdigest()
        return f"{prefix}_{digest[:24]}"

    def argument_fragments(self, index: int, fragmented: bool, size: int) -> list[tuple[str, int]]:
        """A call's arguments as the chat stream would cut them (one piece when whole)."""
        call = self.reply.tool_calls[index]
        deltas = tool_call_deltas(call, index, fragmented, size)
        return [(delta["function"]["arguments"], count) for delta, count in deltas]


@dataclass(frozen=True)
class ProtocolFormat:
    """One protocol's side of the server; see the module docstring."""

    name: str
    id_prefix: str
    rules: RequestRules
    error_body: Callable[[int, str, str], dict[str, Any]]
    error_event: Callable[[str, str], NamedEvent]
    stream_events: Callable[[Answer, int, bool], list[NamedEvent]]
    whole_body: Callable[[Answer], dict[str, Any]]
    chat_view: Callable[[Any], dict[str, Any]]


def _error_type(status: int) -> str:
    """The error ``type`` both protocols use for an HTTP status."""
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _chat_tool(tool: Any, schema_key: str) -> Any:
    """A protocol's function tool back in chat form (for the canned default reply)."""
    if not isinstance(tool, Mapping) or "name" not in tool:
        return tool
    function = {"name": tool["name"], "parameters": tool.get(schema_key) or {}}
    return {"type": "function", "function": function}


# -- responses ----------------------------------------------------------------------


def _responses_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": _error_type(status), "param": None, "code": code}}


def _responses_error_event(code: str, message: str) -> NamedEvent:
    return NamedEvent(
        "error", dumps({"type": "error", "code": code, "message": message, "param": None})
    )


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


def _responses_output(answer: Answer) -> list[dict[str, Any]]:
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


def _responses_stream(answer: Answer, chunk_size: int, fragmented: bool) -> list[NamedEvent]:
    events: list[NamedEvent] = []
    sequence = itertools.count()

    def emit(kind: str, pieces: int = 0, **fields: Any) -> None:
        payload = {"type": kind, "sequence_number": next(sequence), **fields}
        events.append(NamedEvent(kind, dumps(payload), pieces))

    reply = answer.reply
    emit("response.created", response=_response(answer, None))
    emit("response.in_progress", response=_response(answer, None))
    output = _responses_output(answer)
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


def _responses_view(body: Any) -> dict[str, Any]:
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
        view["tools"] = [_chat_tool(tool, "parameters") for tool in body["tools"]]
    text = body.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("format"), Mapping):
        view["response_format"] = text["format"]
    return view


def _responses_body(answer: Answer) -> dict[str, Any]:
    return _response(answer, _responses_output(answer))


# -- messages -----------------------------------------------------------------------


def _messages_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _error_type(status), "message": message}}


def _messages_error_event(code: str, message: str) -> NamedEvent:
    """An in-stream error; a code that is an error type (``overloaded_error``) is kept."""
    kind = code if code.endswith("_error") else "api_error"
    return NamedEvent(
        "error", dumps({"type": "error", "error": {"type": kind, "message": message}})
    )


def _messages_usage(answer: Answer, *, output: bool = True) -> dict[str, int]:
    usage = answer.usage()
    counts = {
        "input_tokens": usage["prompt"] - usage["cached"],
        "cache_read_input_tokens": usage["cached"],
    }
    return {**counts, "output_tokens": usage["completion"] if output else 0}


def _messages_blocks(answer: Answer) -> list[dict[str, Any]]:
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
        "stop_reason": _MESSAGES_STOP.get(finish, finish) if final else None,
        "stop_sequence": None,
        "usage": _messages_usage(answer, output=final),
    }


def _messages_stream(answer: Answer, chunk_size: int, fragmented: bool) -> list[NamedEvent]:
    events: list[NamedEvent] = []

    def emit(kind: str, pieces: int = 0, **fields: Any) -> None:
        events.append(NamedEvent(kind, dumps({"type": kind, **fields}), pieces))

    reply = answer.reply
    emit("message_start", message=_message(answer, [], final=False))
    emit("ping")
    calls = 0
    for index, block in enumerate(_messages_blocks(answer)):
        if block["type"] == "thinking":
            emit(
                "content_block_start",
                index=index,
                content_block={**block, "thinking": "", "signature": ""},
            )
            for text, count in token_groups(reply.resolved_reasoning_pieces(), chunk_size):
                emit(
                    "content_block_delta",
                    count,
                    index=index,
                    delta={"type": "thinking_delta", "thinking": text},
                )
            emit(
                "content_block_delta",
                index=index,
                delta={"type": "signature_delta", "signature": block["signature"]},
            )
        elif block["type"] == "text":
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
            for text, count in token_groups(reply.resolved_text_pieces(), chunk_size):
                emit(
                    "content_block_delta",
                    count,
                    index=index,
                    delta={"type": "text_delta", "text": text},
                )
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


def _messages_view(body: Any) -> dict[str, Any]:
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
        view["tools"] = [_chat_tool(tool, "input_schema") for tool in body["tools"]]
    if isinstance(body.get("response_format"), Mapping):  # a GLM extension, passed through
        view["response_format"] = body["response_format"]
    return view


def _messages_body(answer: Answer) -> dict[str, Any]:
    return _message(answer, _messages_blocks(answer), final=True)


FORMATS: dict[str, ProtocolFormat] = {
    "/v1/responses": ProtocolFormat(
        name="responses",
        id_prefix="resp_",
        rules=RequestRules(
            conversation="input",
            conversation_kinds=(str, list),
            max_tokens_field="max_output_tokens",
        ),
        error_body=_responses_error,
        error_event=_responses_error_event,
        stream_events=_responses_stream,
        whole_body=_responses_body,
        chat_view=_responses_view,
    ),
    "/v1/messages": ProtocolFormat(
        name="messages",
        id_prefix="msg_",
        rules=RequestRules(max_tokens_required=True),
        error_body=_messages_error,
        error_event=_messages_error_event,
        stream_events=_messages_stream,
        whole_body=_messages_body,
        chat_view=_messages_view,
    ),
}
"""The protocol formats by the path the handler routes."""
