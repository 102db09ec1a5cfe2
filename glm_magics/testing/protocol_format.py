"""What one wire format gives the request handler, and what the handler gives it.

The local server answers three protocols on one path through the handler: check
the request, pick a reply, then send it streamed or whole. Only the shapes differ,
and a :class:`ProtocolFormat` holds them: the rules the request is checked by, the
error bodies, the streamed events, the whole body, and the request seen as a chat
request (for the canned default reply and the prompt-token estimate). The handler
gives each format an :class:`Answer` (the reply plus its model, id, time and
prompt size) and receives :class:`SSEEvent` objects to write.

The three formats: :data:`~glm_magics.testing.chat_format.CHAT`,
:data:`~glm_magics.testing.responses_format.RESPONSES` and
:data:`~glm_magics.testing.messages_format.MESSAGES`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glm_magics.testing.replies import Reply
from glm_magics.testing.validation import RequestRules
from glm_magics.testing.wire import tool_call_deltas, usage_for

__all__ = ["Answer", "ProtocolFormat", "SSEEvent"]


@dataclass(frozen=True)
class SSEEvent:
    """One SSE event: its ``data:`` payload, its token pieces (for pacing), its name.

    Chat events have no name (``data:`` only); Responses and Messages events start
    with an ``event:`` line.
    """

    payload: str
    pieces: int = 0
    name: str | None = None

    def frame(self, line_ending: str = "\n") -> bytes:
        """The bytes on the wire, ended by a blank line."""
        end = line_ending
        head = "" if self.name is None else f"event: {self.name}{end}"
        return f"{head}data: {self.payload}{end}{end}".encode()


@dataclass(frozen=True)
class Answer:
    """What the bodies of one reply share: the reply, model, id, time and prompt size."""

    reply: Reply
    model: str
    id: str
    created: int
    prompt_tokens: int

    def chat_usage(self) -> dict[str, Any]:
        """The chat usage object: the reply's own, else estimated (see :func:`usage_for`)."""
        return usage_for(self.reply, self.prompt_tokens)

    def usage(self) -> dict[str, int]:
        """The numbers of :meth:`chat_usage`, for the protocols that rename them."""
        usage = self.chat_usage()
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


def _in_pieces(body: Any) -> bool:
    """Responses and Messages stream call arguments in pieces whatever the request says."""
    return True


@dataclass(frozen=True)
class ProtocolFormat:
    """One protocol's side of the server, served at ``POST path``.

    - ``id_prefix`` goes before a generated answer id (``resp_``, ``msg_``).
    - ``rules`` say where the request keeps what the validator checks.
    - ``error_body(status, code, message)`` is an HTTP error's body;
      ``error_event(code, message)`` an error inside a stream.
    - ``stream_events(answer, chunk_size, fragmented)`` are the events of a streamed
      answer (``fragmented``: tool-call arguments in pieces); ``whole_body(answer)``
      the non-streamed body, serialized with ``sort_keys``.
    - ``chat_view(body)`` is the request as chat messages and tools;
      ``fragments_by_default(body)`` whether call arguments stream in pieces when
      the reply's ``tool_stream`` leaves it open (by default they do).
    """

    name: str
    path: str
    id_prefix: str
    rules: RequestRules
    error_body: Callable[[int, str, str], dict[str, Any]]
    error_event: Callable[[str, str], SSEEvent]
    stream_events: Callable[[Answer, int, bool], list[SSEEvent]]
    whole_body: Callable[[Answer], dict[str, Any]]
    chat_view: Callable[[Any], dict[str, Any]]
    fragments_by_default: Callable[[Any], bool] = _in_pieces
    sort_keys: bool = False

    def error_frame(self, reply: Reply) -> bytes | None:
        """The reply's in-stream error as this format frames it, or ``None`` without one."""
        if reply.stream_error is None:
            return None
        return self.error_event(*reply.stream_error).frame(reply.line_ending)
