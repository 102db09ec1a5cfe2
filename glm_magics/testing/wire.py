"""What the local server's three wire formats share: JSON, ids, usage, tokens, tool calls.

Chat completions (:mod:`~glm_magics.testing.chat_format`), Responses
(:mod:`~glm_magics.testing.responses_format`) and Messages
(:mod:`~glm_magics.testing.messages_format`) build their bodies from one
:class:`~glm_magics.testing.Reply` with these helpers, so the same reply is cut into
the same deltas, the same tool-call fragments and the same usage on every route.
The model routes' bodies (``GET /v1/models``) and the Z.ai error body, which all
routes send, live here too.

Everything is pure (no sockets, no clocks except ids), so the byte layout can be
pinned by tests against the recorded Z.ai traffic. JSON is compact (``","`` and
``":"``) with raw UTF-8 (``ensure_ascii=False``), as GLM writes it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from glm_magics.testing.replies import Reply, ToolCallSpec, tokenize
from glm_magics.wire.presets import KNOWN_MODELS

__all__ = [
    "KNOWN_MODELS",
    "MODEL_PARAMETERS",
    "chat_tool",
    "completion_id",
    "dumps",
    "error_body",
    "error_type",
    "estimate_prompt_tokens",
    "make_usage",
    "model_detail",
    "model_list",
    "model_object",
    "token_groups",
    "tool_call_deltas",
    "tool_call_id",
    "usage_for",
    "web_search_field",
]


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


def web_search_field(reply: Reply) -> dict[str, Any]:
    """``{"web_search": [sources]}`` when the reply has search sources, else ``{}``.

    Every route sends a reply's sources as this top-level array, the way Z.ai sends
    them on chat completions; spread it into the object that carries them::

        {**body, **web_search_field(reply)}
    """
    return {"web_search": [dict(source) for source in reply.web_search]} if reply.web_search else {}


def token_groups(pieces: list[str], size: int) -> Iterator[tuple[str, int]]:
    """Join ``pieces`` ``size`` at a time: ``(text, how many pieces)`` for each delta.

    The count paces the stream (one token interval per piece), so a delta of three
    pieces takes three intervals however it is grouped::

        list(token_groups(["a", "b", "c"], 2))  # [("ab", 2), ("c", 1)]
    """
    for start in range(0, len(pieces), size):
        group = pieces[start : start + size]
        yield "".join(group), len(group)


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


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """The error ``type`` that the Responses and Messages error bodies give a status."""
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def chat_tool(tool: Any, schema_key: str) -> Any:
    """A Responses or Messages function tool in chat form, for the canned default reply.

    Those protocols name the function at the top of the tool and keep its schema under
    ``schema_key`` (``parameters`` or ``input_schema``); other tools pass unchanged.
    """
    if not isinstance(tool, Mapping) or "name" not in tool:
        return tool
    function = {"name": tool["name"], "parameters": tool.get(schema_key) or {}}
    return {"type": "function", "function": function}


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
