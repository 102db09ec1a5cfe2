"""Chat messages and parameters as the body of each protocol's request.

The package keeps conversations as chat-completions messages. These builders turn a
checked message list (see :func:`~glm_magics.protocols.check_messages`) and the
parameters :func:`~glm_magics.params.build_params` returned into the JSON one
endpoint takes; :class:`~glm_magics.protocols.WireProtocol` picks the builder::

    body = responses_body(messages, "glm-4.7-flash", params, True)

What each protocol needs besides renaming:

- Responses: system messages become ``instructions``; tool results become
  ``function_call_output`` items; an assistant's reasoning before its tool calls is
  sent back as a ``reasoning`` item; tools are flattened (no ``function`` wrapper).
- Messages: system messages become ``system``; consecutive tool results share one
  user message of ``tool_result`` blocks; an assistant's tool calls become
  ``thinking``, ``text`` and ``tool_use`` blocks with parsed arguments; ``max_tokens``
  is required, so :data:`DEFAULT_MAX_TOKENS` fills it in.

A message the target protocol cannot express raises
:class:`~glm_magics.errors.ParameterError` naming the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from glm_magics.errors import ParameterError
from glm_magics.params import RANGES

__all__ = ["DEFAULT_MAX_TOKENS", "chat_body", "messages_body", "responses_body"]

#: The Messages protocol requires ``max_tokens``; this is GLM's documented default.
DEFAULT_MAX_TOKENS = int(RANGES["max_tokens"].default)


def chat_body(
    messages: list[dict[str, Any]], model: str, params: dict[str, Any], stream: bool
) -> dict[str, Any]:
    """``POST /chat/completions``: the messages as they are; a stream asks for usage too."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(params)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def responses_body(
    messages: list[dict[str, Any]], model: str, params: dict[str, Any], stream: bool
) -> dict[str, Any]:
    """``POST /responses``: ``instructions`` plus ``input`` items.

    ``max_tokens`` becomes ``max_output_tokens`` and ``response_format`` becomes
    ``text.format``; the other parameters keep their chat names.
    """
    system: list[str] = []
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role, content = message["role"], message.get("content")
        if role == "system":
            system.append(_plain_text(content))
        elif role == "tool":
            output = {"call_id": _tool_call_id(index, message), "output": _tool_output(content)}
            items.append({"type": "function_call_output", **output})
        else:
            calls = _tool_calls(index, message)
            reasoning = message.get("reasoning_content") if calls else None
            if isinstance(reasoning, str) and reasoning:
                # A reasoning input item needs an id; the first call's id stands in for it.
                items.append(
                    {
                        "type": "reasoning",
                        "id": f"rs_{calls[0][0]}",
                        "summary": [],
                        "content": [{"type": "reasoning_text", "text": reasoning}],
                    }
                )
            if content not in (None, "", []):
                kind = "input_text" if role == "user" else "output_text"
                items.append({"role": role, "content": _text_parts(content, kind)})
            for call_id, name, arguments in calls:
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call_id,
                        "name": name,
                        "arguments": arguments,
                    }
                )
    if not items:
        raise ParameterError("the responses protocol needs at least one non-system message")
    body: dict[str, Any] = {"model": model}
    if system:
        body["instructions"] = "\n\n".join(system)
    body["input"] = items
    for name, value in params.items():
        if name == "max_tokens":
            body["max_output_tokens"] = value
        elif name == "tools":
            body["tools"] = [_responses_tool(tool) for tool in value]
        elif name == "response_format":
            body["text"] = {"format": dict(value)}
        else:
            body[name] = value
    if stream:
        body["stream"] = True
    return body


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
                    "tool_use_id": _tool_call_id(index, message),
                    "content": _tool_output(content),
                }
            )
            continue
        results = None
        if role == "system":
            system.append(_plain_text(content))
        elif role == "user" or not message.get("tool_calls"):
            converted.append({"role": role, "content": _text_parts(content or "", "text")})
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


def _assistant_blocks(index: int, message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Thinking, text and tool_use blocks: GLM wants its reasoning back around tool calls."""
    blocks: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append({"type": "thinking", "thinking": reasoning})
    text = _plain_text(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for number, (call_id, name, arguments) in enumerate(_tool_calls(index, message)):
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


def _tool_calls(index: int, message: Mapping[str, Any]) -> list[tuple[str, str, str]]:
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


def _tool_call_id(index: int, message: Mapping[str, Any]) -> str:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise ParameterError(
            f"messages[{index}] (tool) needs the 'tool_call_id' of the call it answers"
        )
    return call_id


def _tool_output(content: Any) -> str:
    if isinstance(content, str) or content is None:
        return content or ""
    return _plain_text(content) if isinstance(content, list) else json.dumps(content)


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, Mapping)]
        return "".join(text for text in texts if isinstance(text, str))
    return ""


def _text_parts(content: Any, kind: str) -> Any:
    """A string stays a string; chat ``{"type": "text"}`` parts become ``kind`` parts."""
    if not isinstance(content, list):
        return content
    return [
        {"type": kind, "text": part["text"]}
        if isinstance(part, Mapping) and part.get("type") == "text"
        else part
        for part in content
    ]


def _responses_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)
    function = tool["function"]
    flat: dict[str, Any] = {"type": "function", "name": function["name"]}
    for key in ("description", "parameters", "strict"):
        if key in function:
            flat[key] = function[key]
    return flat


def _messages_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)
    function = tool["function"]
    converted: dict[str, Any] = {"name": function["name"]}
    if "description" in function:
        converted["description"] = function["description"]
    converted["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return converted
