"""Three wire protocols to one service: chat completions, Responses and Messages.

The rest of the package speaks chat completions: messages are chat dicts, parameters
are what :func:`~glm_magics.wire.params.build_params` returns, and an answer is a series
of typed events that builds a :class:`~glm_magics.results.ChatResult`. A
:class:`WireProtocol` writes one endpoint's request body and makes the reader of that
endpoint's answer, so ``api="messages"`` gives what ``api="chat"`` gives::

    protocol = wire_protocol("responses")
    body = protocol.body(messages, "glm-4.7-flash", build_params(params), stream=True)
    reader = protocol.reader("glm-4.7-flash")
    for event in reader.feed(data):     # each ``data:`` payload of the response
        ...
    result = reader.snapshot()

Finish reasons come out as the chat values (``stop``, ``length``, ``tool_calls``,
``sensitive``), token counts as :class:`~glm_magics.results.Usage`, and an error inside
a stream as :class:`~glm_magics.errors.InStreamError` carrying what had arrived. Each
protocol lives in its own module, body and reader together: :mod:`~glm_magics.wire.chat`,
:mod:`~glm_magics.wire.responses` and :mod:`~glm_magics.wire.messages`, on the reader
base in :mod:`~glm_magics.wire.reader`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from glm_magics.errors import ParameterError
from glm_magics.wire.chat import ChatReader, chat_body
from glm_magics.wire.message_parts import check_messages
from glm_magics.wire.messages import MessagesReader, messages_body
from glm_magics.wire.reader import StreamReader
from glm_magics.wire.responses import ResponsesReader, responses_body

__all__ = ["PROTOCOLS", "WireProtocol", "sent_parameters", "wire_protocol"]

BodyBuilder = Callable[[list[dict[str, Any]], str, dict[str, Any], bool], dict[str, Any]]


@dataclass(frozen=True)
class WireProtocol:
    """One endpoint: where to POST, how to write the body, how to read the answer."""

    name: str
    path: str
    build: BodyBuilder = field(repr=False)
    make_reader: Callable[[str], StreamReader] = field(repr=False)

    def body(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str,
        params: Mapping[str, Any],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        """The JSON body for chat ``messages`` and ``params`` already checked by build_params."""
        return self.build(check_messages(messages), model, dict(params), stream)

    def reader(self, model: str = "") -> StreamReader:
        """A fresh reader for one answer (streamed events or one whole body)."""
        return self.make_reader(model)


PROTOCOLS: dict[str, WireProtocol] = {
    "chat": WireProtocol("chat", "/chat/completions", chat_body, ChatReader),
    "responses": WireProtocol("responses", "/responses", responses_body, ResponsesReader),
    "messages": WireProtocol("messages", "/messages", messages_body, MessagesReader),
}
"""The protocols by the name ``GLMClient.chat(..., api=...)`` takes."""


def wire_protocol(name: str) -> WireProtocol:
    """The protocol called ``name``, or a ParameterError listing the known ones."""
    try:
        return PROTOCOLS[name]
    except (KeyError, TypeError):
        raise ParameterError(
            f"api must be one of {', '.join(repr(key) for key in PROTOCOLS)}, got {name!r}"
        ) from None


# What a request body holds besides its parameters, in any of the three protocols.
_CONTENT_FIELDS = frozenset(
    {"model", "messages", "input", "system", "instructions", "stream", "stream_options", "tools"}
)


def sent_parameters(body: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a request ``body`` sent (temperature, thinking...), its tools by name.

    What an answer's provenance keeps: not the messages, the model or the stream flag.
    """
    params = {name: value for name, value in body.items() if name not in _CONTENT_FIELDS}
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        params["tools"] = [_tool_name(tool) for tool in tools]
    return params


def _tool_name(tool: object) -> str:
    if not isinstance(tool, Mapping):
        return "?"
    function = tool.get("function")
    if isinstance(function, Mapping) and function.get("name"):
        return str(function["name"])
    return str(tool.get("name") or tool.get("type") or "?")
