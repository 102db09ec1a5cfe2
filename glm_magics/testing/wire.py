"""The GLM wire format: completion chunks, completions, usage and error bodies.

Everything here is pure (no sockets, no clocks except ids), so the byte layout
can be pinned by tests against the recorded Z.ai traffic. The rules the
recordings show:

- JSON is compact (``","`` and ``":"``) with raw UTF-8 (``ensure_ascii=False``).
- A chunk's keys come in the order ``id, created, object, model, choices[, usage]``;
  a choice's in the order ``index[, finish_reason], delta``.
- Text deltas carry ``"role":"assistant"`` first; tool-call deltas carry no role.
- The finish chunk has an empty ``content`` delta and the usage.
- A non-streamed ``chat.completion`` has its keys sorted (that is what Z.ai sends).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from glm_magics.testing.replies import Reply, ToolCallSpec, tokenize
from glm_magics.wire.presets import KNOWN_MODELS

__all__ = [
    "KNOWN_MODELS",
    "MODEL_PARAMETERS",
    "StreamEvent",
    "completion_body",
    "completion_id",
    "dumps",
    "error_body",
    "estimate_prompt_tokens",
    "make_usage",
    "model_detail",
    "model_list",
    "model_object",
    "stream_events",
    "token_groups",
    "tool_call_deltas",
    "tool_call_id",
    "usage_for",
]


@dataclass(frozen=True)
class StreamEvent:
    """One ``data:`` payload and how many token pieces it carries (for pacing)."""

    payload: str
    pieces: int


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON with raw UTF-8, as GLM writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


def error_body(code: str, message: str) -> dict[str, Any]:
    """A Z.ai error body: ``{"error": {"code": "1302", "message": "…"}}``."""
    return {"error": {"code": code, "message": message}}


def completion_id(seed: str) -> str:
    """A Z.ai shaped id: UTC ``YYYYmmddHHMMSS`` plus 16 hex digits derived from ``seed``."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return stamp + hashlib.sha256(seed.encode()).hexdigest()[:16]


def tool_call_id(call: ToolCallSpec, index: int) -> str:
    """The call's own id, or a deterministic ``call_`` + 24 hex digits."""
    if call.id is not None:
        return call.id
    digest = hashlib.sha256(f"{index}\0{call.name}\0{call.arguments}".encode()).hexdigest()
    return "call_" + digest[:24]


def estimate_prompt_tokens(body: Any) -> int:
    """Roughly four characters per token over the request's message texts."""
    chars = 0
    messages = body.get("messages") if isinstance(body, Mapping) else None
    for message in messages if isinstance(messages, list) else []:
        chars += sum(len(text) for text in _message_texts(message))
    return max(1, round(chars / 4))


def _message_texts(message: Any) -> Iterator[str]:
    if not isinstance(message, Mapping):
        return
    content = message.get("content")
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                yield part["text"]


def make_usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    """A usage object in the key order of the recorded stream."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def usage_for(reply: Reply, prompt_tokens: int) -> dict[str, Any]:
    """The usage object a reply reports: its own ``usage``, or an estimate.

    The estimate counts the reasoning and answer pieces and, for each tool call, its
    argument pieces plus one. Every protocol's usage is built from this object, so
    one reply reports the same numbers on all of them; ``prompt_tokens`` is what
    :func:`estimate_prompt_tokens` gave for the request.
    """
    if reply.usage is not None:
        return dict(reply.usage)
    reasoning = len(reply.resolved_reasoning_pieces())
    completion = reasoning + len(reply.resolved_text_pieces())
    completion += sum(len(tokenize(call.arguments)) + 1 for call in reply.tool_calls)
    return make_usage(prompt_tokens, completion, reasoning)


def token_groups(pieces: list[str], size: int) -> Iterator[tuple[str, int]]:
    """Join ``pieces`` ``size`` at a time: ``(text, how many pieces)`` for each delta.

    The count paces the stream (one token interval per piece), so a delta of three
    pieces takes three intervals however it is grouped::

        list(token_groups(["a", "b", "c"], 2))  # [("ab", 2), ("c", 1)]
    """
    for start in range(0, len(pieces), size):
        group = pieces[start : start + size]
        yield "".join(group), len(group)


def stream_events(
    reply: Reply,
    *,
    model: str,
    completion_id: str,
    created: int,
    prompt_tokens: int,
    chunk_size: int,
    tool_stream: bool,
) -> list[StreamEvent]:
    """The ``data:`` payloads of a streamed answer, ``[DONE]`` included if wanted.

    Reasoning deltas come first, then answer deltas, then one delta per tool call
    (or its fragments when ``tool_stream``), then the finish chunk with usage.
    """
    head: dict[str, Any] = {
        "id": completion_id,
        "created": created,
        "object": "chat.completion.chunk",
        "model": model,
    }
    null_finish = {"finish_reason": None} if reply.null_finish_reason else {}

    def chunk(delta: dict[str, Any], pieces: int) -> StreamEvent:
        choice = {"index": 0, **null_finish, "delta": delta}
        return StreamEvent(dumps({**head, "choices": [choice]}), pieces)

    events: list[StreamEvent] = []
    if reply.web_search:  # the sources come first, with an empty delta, as Z.ai sends them
        choice = {"index": 0, **null_finish, "delta": {"role": "assistant", "content": ""}}
        payload = {**head, "choices": [choice], "web_search": [dict(s) for s in reply.web_search]}
        events.append(StreamEvent(dumps(payload), 0))
    for text, count in token_groups(reply.resolved_reasoning_pieces(), chunk_size):
        events.append(chunk({"role": "assistant", reply.reasoning_field: text}, count))
    for text, count in token_groups(reply.resolved_text_pieces(), chunk_size):
        events.append(chunk({"role": "assistant", "content": text}, count))
    for index, call in enumerate(reply.tool_calls):
        for delta, count in tool_call_deltas(call, index, tool_stream, chunk_size):
            events.append(chunk({"tool_calls": [delta]}, count))

    usage = usage_for(reply, prompt_tokens)
    finish_choice = {
        "index": 0,
        "finish_reason": reply.resolved_finish_reason(),
        "delta": {"role": "assistant", "content": ""},
    }
    if reply.separate_usage:
        events.append(StreamEvent(dumps({**head, "choices": [finish_choice]}), 0))
        events.append(StreamEvent(dumps({**head, "choices": [], "usage": usage}), 0))
    else:
        events.append(StreamEvent(dumps({**head, "choices": [finish_choice], "usage": usage}), 0))
    if reply.done:
        events.append(StreamEvent("[DONE]", 0))
    return events


def tool_call_deltas(
    call: ToolCallSpec, index: int, fragmented: bool, chunk_size: int
) -> Iterator[tuple[dict[str, Any], int]]:
    """The chat ``tool_calls`` deltas of call number ``index``, with their piece counts.

    Whole (one delta with id, name and all arguments) unless ``fragmented``; then
    the arguments are tokenized and sent ``chunk_size`` pieces at a time, the first
    delta naming the call. The Responses and Messages formats re-shape these deltas,
    so all protocols split a call's arguments at the same places.
    """
    call_id = tool_call_id(call, index)
    if not fragmented:
        function = {"name": call.name, "arguments": call.arguments}
        yield {"id": call_id, "index": index, "type": "function", "function": function}, 1
        return
    # First fragment names the call, later ones only extend its arguments; clients
    # join them by ``index``.
    fragments = list(token_groups(tokenize(call.arguments), chunk_size)) or [("", 0)]
    for number, (arguments, count) in enumerate(fragments):
        if number == 0:
            function = {"name": call.name, "arguments": arguments}
            yield {"id": call_id, "index": index, "type": "function", "function": function}, count
        else:
            yield {"index": index, "function": {"arguments": arguments}}, count


def completion_body(
    reply: Reply, *, model: str, completion_id: str, created: int, prompt_tokens: int
) -> dict[str, Any]:
    """A non-streamed ``chat.completion``; serialize it with ``sort_keys=True``."""
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
    extra = {"web_search": [dict(s) for s in reply.web_search]} if reply.web_search else {}
    return {
        **extra,
        "choices": [
            {"index": 0, "finish_reason": reply.resolved_finish_reason(), "message": message}
        ],
        "created": created,
        "id": completion_id,
        "model": model,
        "object": "chat.completion",
        "request_id": completion_id,
        "usage": usage_for(reply, prompt_tokens),
    }


# A fixed date (2025-12-22, the GLM-4.7 release) keeps the model routes deterministic.
_MODEL_CREATED = 1766361600

MODEL_PARAMETERS: dict[str, Any] = {
    "temperature": {"min": 0.0, "max": 1.0, "default": 1.0},
    "top_p": {"min": 0.01, "max": 1.0, "default": 0.95},
    "max_tokens": {"min": 1, "max": 131072, "default": 4096},
    "context_window": 200000,
}
"""The documented GLM-4.7 parameter ranges, served by ``GET /v1/models/{id}``."""


def model_object(model_id: str) -> dict[str, Any]:
    """One entry of the OpenAI model list."""
    return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "z-ai"}


def model_list(model_ids: Iterable[str]) -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return {"object": "list", "data": [model_object(model_id) for model_id in model_ids]}


def model_detail(model_id: str, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``GET /v1/models/{id}`` body: the list entry plus parameter ranges."""
    return {**model_object(model_id), "parameters": dict(parameters or MODEL_PARAMETERS)}
