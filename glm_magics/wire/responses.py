"""OpenAI Responses (``POST /responses``): the request body and the answer's reader.

The body (:func:`responses_body`) carries system messages as ``instructions`` and the
rest as ``input`` items: tool results become ``function_call_output`` items, an
assistant's reasoning before its tool calls is sent back as a ``reasoning`` item, and
tools are flattened (no ``function`` wrapper).

The stream is a series of ``response.*`` events: text and reasoning deltas, output
items (a function call is one, announced by ``output_item.added``, its arguments
streamed by ``function_call_arguments.delta``) and a final ``response.completed`` or
``response.incomplete`` carrying the whole response with its status and usage. A
non-streamed request answers with that response object alone, which
:class:`ResponsesReader` reads the same way::

    reader = ResponsesReader("glm-4.7-flash")
    for data in payloads:                   # each ``data:`` of the stream
        for event in reader.feed(data):
            ...
    result = reader.snapshot()

A ``completed`` status finishes as ``stop`` (``tool_calls`` when the answer called
tools), ``incomplete`` as ``length`` or ``sensitive``. A ``failed`` response or an
``error`` event raises :class:`~glm_magics.errors.InStreamError`
(:class:`~glm_magics.errors.ContentFilteredError` for the content filter's code); a
final response in any other status (``queued``, ``cancelled``...) is a
:class:`~glm_magics.errors.StreamError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glm_magics.errors import ParameterError
from glm_magics.events import StreamEvent
from glm_magics.results import Usage
from glm_magics.wire.message_parts import (
    plain_text,
    text_parts,
    tool_call_id,
    tool_calls_of,
    tool_output,
)
from glm_magics.wire.reader import StreamReader, object_field, text_field

__all__ = ["ResponsesReader", "responses_body", "responses_usage"]


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
            system.append(plain_text(content))
        elif role == "tool":
            output = {"call_id": tool_call_id(index, message), "output": tool_output(content)}
            items.append({"type": "function_call_output", **output})
        else:
            calls = tool_calls_of(index, message)
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
                items.append({"role": role, "content": text_parts(content, kind)})
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


def _responses_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)
    function = tool["function"]
    flat: dict[str, Any] = {"type": "function", "name": function["name"]}
    for key in ("description", "parameters", "strict"):
        if key in function:
            flat[key] = function[key]
    return flat


_INCOMPLETE_FINISH = {"max_output_tokens": "length", "content_filter": "sensitive"}


class ResponsesReader(StreamReader):
    """Reads ``POST /responses`` events (``response.*`` types) or one ``response`` body."""

    def _apply(self, payload: dict[str, Any]) -> list[StreamEvent]:
        kind = self._event_type(payload)
        if kind is None:
            if payload.get("object") == "response" or "output" in payload:
                return self._end(payload, streamed=False)
            raise ValueError("no 'type' and no 'output'")
        match kind:
            case "response.created" | "response.in_progress":
                self._header(object_field(payload, "response"))
            case "response.output_text.delta":
                return self._say(text_field(payload, "delta"))
            case "response.reasoning_text.delta" | "response.reasoning_summary_text.delta":
                return self._think(text_field(payload, "delta"))
            case "response.output_item.added":
                item = object_field(payload, "item")
                if item.get("type") == "function_call":
                    self._open_call(
                        _item_keys(payload, item), item.get("call_id"), item.get("name")
                    )
            case "response.function_call_arguments.delta":
                return self._fragment(_item_keys(payload, {}), text_field(payload, "delta"))
            case "response.function_call_arguments.done":
                return self._settle(_item_keys(payload, {}), payload.get("arguments"))
            case "response.output_item.done":
                item = object_field(payload, "item")
                if item.get("type") == "function_call":
                    return self._whole_call(
                        _item_keys(payload, item),
                        item.get("call_id"),
                        item.get("name"),
                        item.get("arguments"),
                    )
            case "response.completed" | "response.incomplete":
                response = object_field(payload, "response")
                status = response.get("status") or kind.removeprefix("response.")
                return self._end({**response, "status": status}, streamed=True)
            case "response.failed":
                response = object_field(payload, "response")
                self._header(response)
                self._fail({"error": response.get("error") or "the response failed"})
            case "error":
                self._fail(
                    payload if isinstance(payload.get("error"), dict) else {"error": payload}
                )
        return []

    def _end(self, response: dict[str, Any], *, streamed: bool) -> list[StreamEvent]:
        """The final response object: finish reason, usage, and the output if not streamed."""
        self._header(response)
        status = response.get("status")
        if status == "failed":
            self._fail({"error": response.get("error") or "the response failed"})
        events: list[StreamEvent] = []
        if not (streamed and (self._text or self._reasoning or self._calls)):
            for position, item in enumerate(response.get("output") or ()):
                events += self._whole_item(position, item)
        self.done = True
        if status == "completed":
            events += self._finish("tool_calls" if self._calls else "stop")
        elif status == "incomplete":
            details = response.get("incomplete_details") or {}
            events += self._finish(_INCOMPLETE_FINISH.get(str(details.get("reason")), "length"))
        else:  # queued, in_progress, cancelled: nothing this client can wait for
            raise ValueError(f"the response is {status!r}, not completed")
        if isinstance(response.get("usage"), dict):
            events += self._usage(responses_usage(response["usage"]))
        return events

    def _whole_item(self, position: int, item: dict[str, Any]) -> list[StreamEvent]:
        kind = item.get("type")
        if kind == "reasoning":
            parts = item.get("content") or item.get("summary") or ()
            return [event for part in parts for event in self._think(part.get("text"))]
        if kind == "message":
            return [
                event
                for part in item.get("content") or ()
                if part.get("type") in ("output_text", "refusal")
                for event in self._say(part.get("text") or part.get("refusal"))
            ]
        if kind == "function_call":
            return self._whole_call(
                _item_keys({"output_index": position}, item),
                item.get("call_id"),
                item.get("name"),
                item.get("arguments"),
            )
        return []


def _item_keys(event: Mapping[str, Any], item: Mapping[str, Any]) -> list[object]:
    """How events refer to one output item: its id, and its position in the output."""
    keys: list[object] = []
    for item_id in (item.get("id"), event.get("item_id")):
        if isinstance(item_id, str) and item_id:
            keys.append(item_id)
    if isinstance(event.get("output_index"), int):
        keys.append(("output", event["output_index"]))
    if not keys:
        raise ValueError("a function call event names no item_id or output_index")
    return keys


def responses_usage(payload: Any) -> Usage:
    """A :class:`Usage` from a Responses ``usage`` object."""
    if not isinstance(payload, Mapping):
        return Usage()
    return Usage.from_payload(
        {
            "prompt_tokens": payload.get("input_tokens"),
            "completion_tokens": payload.get("output_tokens"),
            "total_tokens": payload.get("total_tokens"),
            "prompt_tokens_details": payload.get("input_tokens_details"),
            "completion_tokens_details": payload.get("output_tokens_details"),
        }
    )
