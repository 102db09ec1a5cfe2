"""Chat completions (``POST /chat/completions``): the request body and the answer's reader.

GLM's own protocol, and the package's lingua franca: conversations are kept as chat
messages and the other protocols translate from them. :class:`ChatReader` accepts
every shape GLM hosts send, as the recorded traffic and other servers show:
``reasoning_content`` or ``reasoning``, ``finish_reason`` absent or ``null``, usage in
the finish chunk or a separate one, tool calls whole or in fragments by ``index``,
web search sources in a top-level ``web_search`` array, and a non-streamed
``chat.completion`` whose ``message`` is read like one big ``delta``::

    reader = ChatReader("glm-4.7-flash")
    for data in payloads:                   # each ``data:`` of the stream
        for event in reader.feed(data):
            ...
    result = reader.snapshot()
"""

from __future__ import annotations

from typing import Any

from glm_magics.events import StreamEvent
from glm_magics.results import Usage
from glm_magics.wire.reader import StreamReader

__all__ = ["ChatReader", "chat_body"]


def chat_body(
    messages: list[dict[str, Any]], model: str, params: dict[str, Any], stream: bool
) -> dict[str, Any]:
    """The body: the messages as they are; a stream asks for usage too."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(params)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


class ChatReader(StreamReader):
    """Reads ``chat.completion.chunk`` payloads, or one whole ``chat.completion``."""

    def _apply(self, payload: dict[str, Any]) -> list[StreamEvent]:
        if payload.get("error"):
            self._fail(payload)
        self._header(payload)
        events: list[StreamEvent] = []
        for choice in payload.get("choices") or ():
            if not isinstance(choice, dict) or (choice.get("index") or 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            events += self._think(delta.get("reasoning_content") or delta.get("reasoning"))
            events += self._say(delta.get("content"))
            for position, call in enumerate(delta.get("tool_calls") or ()):
                events += self._call_fragment(position, call)
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                events += self._finish(finish)
        usage = payload.get("usage")
        if isinstance(usage, dict):
            events += self._usage(Usage.from_payload(usage))
        return events

    def _call_fragment(self, position: int, call: dict[str, Any]) -> list[StreamEvent]:
        """One ``tool_calls`` entry: a whole call, or a fragment of one by ``index``."""
        index = call.get("index")
        keys = [index if isinstance(index, int) else position]
        function = call.get("function") or {}
        self._open_call(keys, call.get("id"), function.get("name"))
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            return self._settle(keys, arguments)
        return self._fragment(keys, arguments if isinstance(arguments, str) else "")
