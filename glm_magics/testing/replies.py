"""Scripted replies for the local test server: what to say, how, and what to break.

A :class:`Reply` describes one answer to one ``POST /v1/chat/completions``. The
common case is a couple of strings::

    Reply(text="Olá!", reasoning="The user wants a greeting...")

The server cuts them into token-like pieces with :func:`tokenize` (the same
shapes the recorded GLM traffic shows: ``" word"``, punctuation, ``".\\n\\n"``) and
streams them. Everything else on the dataclass is a knob for tests: exact pieces
(to reproduce a recording byte for byte), ids and usage, pacing overrides, faults
(HTTP errors, dropped connections, malformed or stalled streams, in-stream errors)
and wire variants that other GLM hosts use (``reasoning`` instead of
``reasoning_content``, comments, CRLF, ``finish_reason: null``, separate usage).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from typing import Any

__all__ = ["Reply", "ToolCallSpec", "parse_recorded_stream", "tokenize"]

# Shaped like the GLM tokenizer output in the recordings: a leading space sticks to
# the word after it, punctuation runs keep their trailing newlines (".\n\n"), digits
# come in groups of up to three after a lone space (" ", "40"), English contractions
# split off ("'s"). The final "." (DOTALL) makes the pieces always join back.
_PIECE = re.compile(
    r"'(?:s|t|re|ve|m|ll|d)\b"
    r"| ?[^\W\d_]+"
    r"|\d{1,3}"
    r"| ?[^\s\w]+\n*"
    r"|\s+(?!\S)"
    r"|\s+"
    r"|.",
    re.DOTALL,
)

# Z.ai business error codes a status maps to when a test gives only the status.
_DEFAULT_ERROR_CODES = {
    400: "1214",
    401: "1002",
    403: "1220",
    404: "1211",
    429: "1302",
    500: "500",
    503: "1305",
}


def tokenize(text: str) -> list[str]:
    """Split ``text`` into deterministic token-like pieces that join back to it.

    >>> tokenize("Hi there.\\n\\nBye")
    ['Hi', ' there', '.\\n\\n', 'Bye']
    """
    return _PIECE.findall(text)


@dataclass(frozen=True)
class ToolCallSpec:
    """One function call the scripted model makes.

    ``arguments`` is the JSON string exactly as it goes on the wire (the model
    writes it; nothing guarantees it parses). ``id`` defaults to a deterministic
    ``call_…`` id derived from the name, arguments and position.
    """

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted answer; queue it with ``LocalGLMServer.queue(reply)``.

    Content: ``text`` / ``reasoning`` (or exact ``text_pieces`` /
    ``reasoning_pieces``, which win), ``tool_calls``, ``finish_reason`` (default
    ``"tool_calls"`` with tool calls, else ``"stop"``; ``"length"`` and
    ``"sensitive"`` are what GLM sends when cut short or filtered), ``usage``
    (``None``: estimated), ``id`` / ``created`` / ``model`` (``None``: generated id,
    current time, the request's model), ``web_search`` (the sources of a search:
    dicts with ``title``, ``link``, ``content``, ``media``, ``publish_date``,
    ``refer``, sent as a top-level ``web_search`` array as Z.ai does: on the first
    chat chunk, in Responses' ``response.created``, in Messages' ``message_start``,
    and in every non-streamed body).

    Pacing overrides the server's knobs for this reply only (``None`` inherits):
    ``latency`` seconds before the status line (a slow network, or a queue at the
    service: the client waits for the response itself), ``ttft`` seconds after the
    headers before the first event, ``tokens_per_second`` (``0`` or less means as
    fast as possible), ``chunk_size`` pieces per event.

    Faults: ``status`` with ``error_code`` / ``error_message`` / ``retry_after``
    answers with a Z.ai error body instead of a completion. Event indices below
    count the ``data:`` events already sent (answer chunks, the finish chunk, the
    usage chunk and ``[DONE]``; not comments or the injected lines):

    - ``disconnect_after=N``: drop the TCP connection after N events, without the
      final empty HTTP chunk (a client sees an incomplete body).
    - ``malformed_after=N``: insert one ``data:`` line with truncated JSON, go on.
    - ``stall_after=N`` + ``stall_seconds``: go silent for a while (``stop()``
      ends the stall at once).
    - ``stream_error=(code, message)`` + ``stream_error_after=N``: send
      ``data: {"error": …}`` after N events and end the body there.
    - ``done=False``: end the body after the finish chunk, without ``[DONE]``.

    Wire variants: ``reasoning_field`` (``"reasoning"`` on some hosts),
    ``null_finish_reason``, ``separate_usage``, ``comments``, ``line_ending``
    (``"\\r\\n"``), ``tool_stream`` (``None`` follows the request's ``tool_stream``;
    ``True`` streams arguments in fragments keyed by ``index``).

    ``raw_body`` is sent verbatim (one event per write, paced), e.g. a recorded
    ``.sse`` file: see :meth:`from_recorded`.
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: Sequence[ToolCallSpec] = ()
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    text_pieces: Sequence[str] | None = None
    reasoning_pieces: Sequence[str] | None = None
    web_search: Sequence[Mapping[str, Any]] = ()
    id: str | None = None
    created: int | None = None
    model: str | None = None
    # pacing overrides
    latency: float | None = None
    ttft: float | None = None
    tokens_per_second: float | None = None
    chunk_size: int | None = None
    # faults
    status: int = 200
    error_code: str | None = None
    error_message: str | None = None
    retry_after: str | float | None = None
    disconnect_after: int | None = None
    malformed_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0
    stream_error: tuple[str, str] | None = None
    stream_error_after: int = 0
    done: bool = True
    # wire variants
    reasoning_field: str = "reasoning_content"
    null_finish_reason: bool = False
    separate_usage: bool = False
    comments: bool = False
    line_ending: str = "\n"
    tool_stream: bool | None = None
    raw_body: bytes | None = None
    raw_content_type: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.line_ending not in ("\n", "\r\n", "\r"):
            raise ValueError(
                f"line_ending must be '\\n', '\\r\\n' or '\\r', not {self.line_ending!r}"
            )
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")

    @classmethod
    def error(
        cls,
        status: int,
        code: str | None = None,
        message: str | None = None,
        retry_after: str | float | None = None,
    ) -> Reply:
        """An HTTP error answer, Z.ai style: ``{"error": {"code": …, "message": …}}``.

        ``code`` defaults to the business code Z.ai uses for that status
        (429 → ``"1302"``, 401 → ``"1002"``…), ``message`` to the status phrase.

        >>> Reply.error(429, retry_after=2).error_code
        '1302'
        """
        return cls(
            status=status,
            error_code=code or _DEFAULT_ERROR_CODES.get(status, str(status)),
            error_message=message or _status_phrase(status),
            retry_after=retry_after,
        )

    @classmethod
    def from_recorded(cls, path: str | Path, *, verbatim: bool = True) -> Reply:
        """Replay a recorded ``*.response.sse`` or ``*.response.json`` file.

        ``verbatim=True`` serves the file's bytes as they are (the content type
        follows the extension). ``verbatim=False`` parses a ``.sse`` recording into
        pieces, tool calls, usage and ids, so pacing, chunking and wire variants
        apply to real text.
        """
        path = Path(path)
        data = path.read_bytes()
        if not verbatim:
            if path.suffix == ".json":
                raise ValueError("verbatim=False needs a streamed .sse recording")
            return parse_recorded_stream(data)
        is_json = path.suffix == ".json"
        return cls(
            raw_body=data,
            raw_content_type="application/json" if is_json else "text/event-stream",
        )

    def with_changes(self, **changes: Any) -> Reply:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def resolved_finish_reason(self) -> str:
        """The finish reason on the wire: explicit, or implied by the tool calls."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def resolved_error(self) -> tuple[str, str]:
        """The ``(code, message)`` of an error reply, with Z.ai-like defaults."""
        code = self.error_code or _DEFAULT_ERROR_CODES.get(self.status, str(self.status))
        return code, self.error_message or _status_phrase(self.status)

    def resolved_text_pieces(self) -> list[str]:
        """The answer deltas: ``text_pieces`` when given, else ``tokenize(text)``."""
        return list(self.text_pieces) if self.text_pieces is not None else tokenize(self.text)

    def resolved_reasoning_pieces(self) -> list[str]:
        """The reasoning deltas: ``reasoning_pieces`` when given, else tokenized."""
        if self.reasoning_pieces is not None:
            return list(self.reasoning_pieces)
        return tokenize(self.reasoning)


def parse_recorded_stream(data: bytes) -> Reply:
    """Turn a recorded GLM SSE body into a :class:`Reply` that reproduces it.

    Takes the deltas as pieces, complete tool calls, the usage of the finish chunk
    and the first chunk's ``id`` / ``created`` / ``model``. Streamed tool-call
    fragments are joined by ``index``.
    """
    reasoning: list[str] = []
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    header: dict[str, Any] = {}
    finish: str | None = None
    usage: dict[str, Any] | None = None
    for line in data.replace(b"\r\n", b"\n").split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            break
        chunk = json.loads(payload)
        header = header or chunk
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            delta = choice.get("delta", {})
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
                continue  # its delta is the empty terminator
            for key in ("reasoning_content", "reasoning"):
                if isinstance(delta.get(key), str):
                    reasoning.append(delta[key])
            if isinstance(delta.get("content"), str):
                text.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call.get("index", len(calls)), {"arguments": ""})
                function = call.get("function", {})
                slot["arguments"] += function.get("arguments") or ""
                for key, value in (("id", call.get("id")), ("name", function.get("name"))):
                    if value:
                        slot[key] = value
    return Reply(
        reasoning_pieces=reasoning,
        text_pieces=text,
        tool_calls=[
            ToolCallSpec(name=c.get("name", ""), arguments=c["arguments"], id=c.get("id"))
            for _, c in sorted(calls.items())
        ],
        finish_reason=finish,
        usage=usage,
        id=header.get("id"),
        created=header.get("created"),
        model=header.get("model"),
    )


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
