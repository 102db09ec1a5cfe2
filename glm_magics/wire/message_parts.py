"""Reading chat messages, for the protocols that write them differently.

The package keeps conversations as chat-completions messages. Before a request is
written, :func:`check_messages` checks the list's shape; the Responses and Messages
body builders then read each message through these helpers: an assistant's tool
calls (:func:`tool_calls_of`), the call a tool result answers (:func:`tool_call_id`),
and the text of string or multi-part content (:func:`plain_text`,
:func:`text_parts`). A message a protocol cannot express raises
:class:`~glm_magics.errors.ParameterError` naming the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from glm_magics.errors import ParameterError

__all__ = [
    "check_messages",
    "plain_text",
    "text_parts",
    "tool_call_id",
    "tool_calls_of",
    "tool_output",
]


def check_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check the message list's shape; return plain dicts."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise ParameterError(
            "messages must be a non-empty list of {'role': ..., 'content': ...} dicts"
        )
    checked: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ParameterError(f"messages[{index}] must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise ParameterError(
                f"messages[{index}] has role {role!r}; use system, user, assistant or tool"
            )
        if "content" not in message and not message.get("tool_calls"):
            raise ParameterError(f"messages[{index}] ({role}) has no content")
        checked.append(dict(message))
    return checked


def tool_calls_of(index: int, message: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(id, name, arguments)`` of an assistant message's chat-format tool calls."""
    if message.get("role") != "assistant":
        return []
    calls: list[tuple[str, str, str]] = []
    for number, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(call.get("id"), str):
            raise ParameterError(
                f"messages[{index}].tool_calls[{number}] must be "
                "{'id': ..., 'type': 'function', 'function': {'name': ..., 'arguments': ...}}"
            )
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
        calls.append((call["id"], str(function.get("name") or ""), arguments))
    return calls


def tool_call_id(index: int, message: Mapping[str, Any]) -> str:
    """The id of the call a ``tool`` message answers (``messages[index]``)."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise ParameterError(
            f"messages[{index}] (tool) needs the 'tool_call_id' of the call it answers"
        )
    return call_id


def tool_output(content: Any) -> str:
    """A tool result's content as the one string both protocols take."""
    if isinstance(content, str) or content is None:
        return content or ""
    return plain_text(content) if isinstance(content, list) else json.dumps(content)


def plain_text(content: Any) -> str:
    """The text of string or multi-part content (non-text parts left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, Mapping)]
        return "".join(text for text in texts if isinstance(text, str))
    return ""


def text_parts(content: Any, kind: str) -> Any:
    """A string stays a string; chat ``{"type": "text"}`` parts become ``kind`` parts."""
    if not isinstance(content, list):
        return content
    return [
        {"type": kind, "text": part["text"]}
        if isinstance(part, Mapping) and part.get("type") == "text"
        else part
        for part in content
    ]
