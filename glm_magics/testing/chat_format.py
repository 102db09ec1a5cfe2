"""The chat completions wire format (``POST /v1/chat/completions``), built from a Reply.

This is Z.ai's OpenAI-compatible format, the one the recorded GLM-4.7-Flash traffic
pins byte for byte. The rules the recordings show:

- A chunk's keys come in the order ``id, created, object, model, choices[, usage]``;
  a choice's in the order ``index[, finish_reason], delta``.
- Text deltas carry ``"role":"assistant"`` first; tool-call deltas carry no role.
- The finish chunk has an empty ``content`` delta and the usage.
- A search's sources come first, as a top-level ``web_search`` array on a chunk
  with an empty delta.
- A non-streamed ``chat.completion`` has its keys sorted (that is what Z.ai sends).
- Errors, in the body and in the stream, are ``{"error": {"code", "message"}}``.

The wire variants other GLM hosts use (``reasoning_field``, ``null_finish_reason``,
``separate_usage``) are chat-only. Tool-call arguments stream in fragments when the
request sets ``tool_stream`` (or the reply's ``tool_stream`` says so).
"""

from __future__ import annotations

from typing import Any

from glm_magics.testing.protocol_format import Answer, ProtocolFormat, SSEEvent
from glm_magics.testing.validation import RequestRules
from glm_magics.testing.wire import (
    dumps,
    error_body,
    token_groups,
    tool_call_deltas,
    tool_call_id,
    web_search_field,
)

__all__ = ["CHAT"]


def _stream_events(answer: Answer, chunk_size: int, fragmented: bool) -> list[SSEEvent]:
    """The ``data:`` payloads of a streamed answer, ``[DONE]`` included if wanted.

    Sources (if any) come first, then reasoning deltas, answer deltas, one delta per
    tool call (or its fragments when ``fragmented``), then the finish chunk with usage.
    """
    reply = answer.reply
    head: dict[str, Any] = {
        "id": answer.id,
        "created": answer.created,
        "object": "chat.completion.chunk",
        "model": answer.model,
    }
    null_finish = {"finish_reason": None} if reply.null_finish_reason else {}

    def chunk(delta: dict[str, Any], pieces: int) -> SSEEvent:
        choice = {"index": 0, **null_finish, "delta": delta}
        return SSEEvent(dumps({**head, "choices": [choice]}), pieces)

    events: list[SSEEvent] = []
    if reply.web_search:  # the sources come first, with an empty delta, as Z.ai sends them
        choice = {"index": 0, **null_finish, "delta": {"role": "assistant", "content": ""}}
        payload = {**head, "choices": [choice], **web_search_field(reply)}
        events.append(SSEEvent(dumps(payload), 0))
    for text, count in token_groups(reply.resolved_reasoning_pieces(), chunk_size):
        events.append(chunk({"role": "assistant", reply.reasoning_field: text}, count))
    for text, count in token_groups(reply.resolved_text_pieces(), chunk_size):
        events.append(chunk({"role": "assistant", "content": text}, count))
    for index, call in enumerate(reply.tool_calls):
        for delta, count in tool_call_deltas(call, index, fragmented, chunk_size):
            events.append(chunk({"tool_calls": [delta]}, count))

    usage = answer.chat_usage()
    finish_choice = {
        "index": 0,
        "finish_reason": reply.resolved_finish_reason(),
        "delta": {"role": "assistant", "content": ""},
    }
    if reply.separate_usage:
        events.append(SSEEvent(dumps({**head, "choices": [finish_choice]}), 0))
        events.append(SSEEvent(dumps({**head, "choices": [], "usage": usage}), 0))
    else:
        events.append(SSEEvent(dumps({**head, "choices": [finish_choice], "usage": usage}), 0))
    if reply.done:
        events.append(SSEEvent("[DONE]", 0))
    return events


def _whole_body(answer: Answer) -> dict[str, Any]:
    """A non-streamed ``chat.completion``; serialize it with ``sort_keys=True``."""
    reply = answer.reply
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(reply.resolved_text_pieces()),
    }
    reasoning = "".join(reply.resolved_reasoning_pieces())
    if reasoning:
        message[reply.reasoning_field] = reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": tool_call_id(call, index),
                "index": index,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for index, call in enumerate(reply.tool_calls)
        ]
    return {
        **web_search_field(reply),
        "choices": [
            {"index": 0, "finish_reason": reply.resolved_finish_reason(), "message": message}
        ],
        "created": answer.created,
        "id": answer.id,
        "model": answer.model,
        "object": "chat.completion",
        "request_id": answer.id,
        "usage": answer.chat_usage(),
    }


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """Z.ai's error body; the status is only on the response line."""
    return error_body(code, message)


def _error_event(code: str, message: str) -> SSEEvent:
    return SSEEvent(dumps(error_body(code, message)))


def _chat_view(body: Any) -> dict[str, Any]:
    """A chat request is its own chat view."""
    return dict(body)


def _fragments_by_default(body: Any) -> bool:
    """GLM streams call arguments in fragments only when the request asks with ``tool_stream``."""
    return body.get("tool_stream") is True


CHAT = ProtocolFormat(
    name="chat",
    path="/v1/chat/completions",
    id_prefix="",
    rules=RequestRules(),
    error_body=_error_body,
    error_event=_error_event,
    stream_events=_stream_events,
    whole_body=_whole_body,
    chat_view=_chat_view,
    fragments_by_default=_fragments_by_default,
    sort_keys=True,
)
"""The chat completions format."""
