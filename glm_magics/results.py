"""Values a chat request produces: :class:`ChatResult`, :class:`ToolCall`, :class:`Usage`,
:class:`WebSource`, :class:`Provenance`.

Plain data with no behaviour beyond reading the service's JSON; how a result looks in
a notebook is the display layer's business (the extension registers it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from glm_magics.errors import JSONAnswerError

__all__ = [
    "ChatResult",
    "Provenance",
    "ToolCall",
    "Usage",
    "WebSource",
    "parse_json_answer",
    "parse_sources",
    "token_count",
]

_FENCE = re.compile(r"\A```[ \t]*(?:json)?[ \t]*\n(?P<body>.*?)\n?```[ \t]*\Z", re.S | re.I)


def parse_json_answer(text: str) -> Any:
    """Parse an answer given in JSON mode; raise JSONAnswerError saying where it broke."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body")
    if not body:
        raise JSONAnswerError("The answer is empty, not JSON.", text=text)
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise JSONAnswerError(
            f"The answer is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}); the raw text is kept in result.text. Ask again, or lower "
            "the temperature.",
            text=text,
        ) from None


@dataclass(frozen=True)
class Usage:
    """Token counts the service reported for one request (0 when it did not say)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    @classmethod
    def from_payload(cls, payload: dict[str, Any] | None) -> Usage:
        """Read the OpenAI/GLM ``usage`` object, including the nested detail counts."""
        if not isinstance(payload, dict):
            return cls()
        prompt_details = payload.get("prompt_tokens_details") or {}
        completion_details = payload.get("completion_tokens_details") or {}
        prompt = token_count(payload.get("prompt_tokens"))
        completion = token_count(payload.get("completion_tokens"))
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=token_count(payload.get("total_tokens")) or prompt + completion,
            reasoning_tokens=token_count(completion_details.get("reasoning_tokens"))
            if isinstance(completion_details, dict)
            else 0,
            cached_tokens=token_count(prompt_details.get("cached_tokens"))
            if isinstance(prompt_details, dict)
            else 0,
        )


def token_count(value: object) -> int:
    """A token count from a usage object: a whole number, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class WebSource:
    """One page the built-in web search used: title, link, and what the service quoted."""

    title: str
    link: str
    content: str = ""
    media: str = ""
    publish_date: str = ""
    refer: str = ""

    @classmethod
    def from_payload(cls, item: Mapping[str, Any]) -> WebSource:
        """One entry of the service's ``web_search`` array (missing fields are empty)."""

        def text(name: str) -> str:
            value = item.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            title=text("title"),
            link=text("link"),
            content=text("content"),
            media=text("media"),
            publish_date=text("publish_date"),
            refer=text("refer"),
        )


def parse_sources(value: object) -> list[WebSource]:
    """The sources in a ``web_search`` array; anything else gives ``[]``."""
    if not isinstance(value, list):
        return []
    return [WebSource.from_payload(item) for item in value if isinstance(item, Mapping)]


@dataclass(frozen=True)
class Provenance:
    """Where an answer came from: asked live, recorded into a cassette, or replayed from one.

    ``date`` is the day the service gave the answer (for a replayed one, the day it was
    recorded), ``endpoint`` the path asked (``/chat/completions``...), ``parameters``
    what was sent besides the messages (tools by name), ``cassette`` the file's name.
    """

    source: str = "live"
    """``"live"``, ``"recorded"`` or ``"replayed"``."""
    date: str = ""
    endpoint: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    cassette: str | None = None

    def describe(self, model: str) -> str | None:
        """The words a status line adds, e.g. ``replayed · recorded 2026-11-30 with
        glm-4.7-flash``; ``None`` for a live answer."""
        if self.source == "replayed":
            return f"replayed · recorded {self.date or 'on an unknown date'} with {model or '?'}"
        if self.source == "recorded":
            return f"recorded to {self.cassette}"
        return None

    def metadata(self, model: str) -> dict[str, Any]:
        """What a notebook output keeps under ``glm``: model as returned, endpoint,
        parameters, date, source and cassette."""
        return {
            "model": model,
            "endpoint": self.endpoint,
            "parameters": dict(self.parameters),
            "date": self.date,
            "source": self.source,
            "cassette": self.cassette,
        }


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; raises ``ValueError`` saying what was wrong."""
        if not self.arguments.strip():
            return {}
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"tool call {self.name!r} sent arguments that are not valid JSON ({exc.msg}): "
                f"{self.arguments[:200]!r}"
            ) from None
        if not isinstance(value, dict):
            raise ValueError(
                f"tool call {self.name!r} sent {type(value).__name__} arguments, expected an object"
            )
        return value

    def to_message(self) -> dict[str, Any]:
        """The entry for an assistant message's ``tool_calls`` list."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class ChatResult:
    """The whole answer to one request: text, reasoning, tool calls, usage.

    ``interrupted`` is set when the user stopped the stream; ``text`` then holds what
    had arrived.
    """

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    model: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    id: str | None = None
    interrupted: bool = False
    sources: list[WebSource] = field(default_factory=list)
    """Pages the built-in web search used (with ``search_result`` on)."""
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    provenance: Provenance = field(default_factory=Provenance, repr=False)
    """Live, recorded or replayed, and from which request (see :class:`Provenance`)."""

    @property
    def json(self) -> Any:
        """The answer parsed as JSON (JSON mode); a ```json fence around it is allowed.

        Raises :class:`~glm_magics.errors.JSONAnswerError`, which keeps the raw text,
        when the answer is not valid JSON.
        """
        return parse_json_answer(self.text)

    def to_message(self) -> dict[str, Any]:
        """This answer as an assistant message for the next request.

        GLM's interleaved thinking needs the reasoning sent back around tool calls,
        so ``reasoning_content`` is kept only when the answer made tool calls.
        """
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
            if self.reasoning:
                message["reasoning_content"] = self.reasoning
        return message
