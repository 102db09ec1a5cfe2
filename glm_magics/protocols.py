"""Three wire protocols to one service: chat completions, Responses and Messages.

The rest of the package speaks chat completions: messages are chat dicts, parameters
are what :func:`~glm_magics.params.build_params` returns, and an answer is a series of
typed events that builds a :class:`~glm_magics.results.ChatResult`. A
:class:`WireProtocol` translates a request into one endpoint's body and reads that
endpoint's answer back into the same events, so ``api="messages"`` gives what
``api="chat"`` gives::

    protocol = PROTOCOLS["responses"]
    body = protocol.body(messages, "glm-4.7-flash", build_params(params), stream=True)
    accumulator = protocol.accumulator("glm-4.7-flash")
    for event in accumulator.feed(data):    # each ``data:`` payload of the response
        ...
    result = accumulator.snapshot()

Finish reasons come out as the chat values (``stop``, ``length``, ``tool_calls``,
``sensitive``), token counts as :class:`~glm_magics.results.Usage`, and an error inside
a stream as :class:`~glm_magics.errors.InStreamError` carrying what had arrived.

The pieces live by concept: :mod:`~glm_magics.request_bodies` writes the request
bodies, :mod:`~glm_magics.responses_stream` and :mod:`~glm_magics.messages_stream`
read the answers (on the base in :mod:`~glm_magics.event_accumulator`), and chat
answers go through :class:`~glm_magics.stream.ChunkAccumulator`. This module ties
each protocol's pieces together under its name and re-exports the readers, so
``from glm_magics.protocols import ...`` reaches all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from glm_magics.errors import ParameterError
from glm_magics.events import StreamEvent
from glm_magics.messages_stream import MessagesAccumulator, messages_usage
from glm_magics.request_bodies import (
    DEFAULT_MAX_TOKENS,
    chat_body,
    messages_body,
    responses_body,
)
from glm_magics.responses_stream import ResponsesAccumulator, responses_usage
from glm_magics.results import ChatResult
from glm_magics.stream import ChunkAccumulator

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "PROTOCOLS",
    "MessagesAccumulator",
    "ResponsesAccumulator",
    "StreamAccumulator",
    "WireProtocol",
    "check_messages",
    "messages_usage",
    "responses_usage",
    "wire_protocol",
]


class StreamAccumulator(Protocol):
    """What :class:`~glm_magics.stream.ChatStream` needs to read one protocol's answer."""

    result: ChatResult
    done: bool
    started: bool

    def feed(self, data: str) -> list[StreamEvent]: ...

    def feed_payload(self, payload: dict[str, Any]) -> list[StreamEvent]: ...

    def snapshot(self) -> ChatResult: ...


BodyBuilder = Callable[[list[dict[str, Any]], str, dict[str, Any], bool], dict[str, Any]]


@dataclass(frozen=True)
class WireProtocol:
    """One endpoint: where to POST, how to write the body, how to read the answer."""

    name: str
    path: str
    build: BodyBuilder = field(repr=False)
    make_accumulator: Callable[[str], StreamAccumulator] = field(repr=False)

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

    def accumulator(self, model: str = "") -> StreamAccumulator:
        """A fresh reader for one answer (streamed events or one whole body)."""
        return self.make_accumulator(model)


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


PROTOCOLS: dict[str, WireProtocol] = {
    "chat": WireProtocol("chat", "/chat/completions", chat_body, ChunkAccumulator),
    "responses": WireProtocol("responses", "/responses", responses_body, ResponsesAccumulator),
    "messages": WireProtocol("messages", "/messages", messages_body, MessagesAccumulator),
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
