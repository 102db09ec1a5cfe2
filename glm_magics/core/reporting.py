"""How a live display watches an exchange: a reporter that takes events.

A :class:`~glm_magics.core.session.Session` (and :meth:`GLMClient.chat
<glm_magics.core.client.GLMClient.chat>`) tells a :class:`Reporter` what happens, as
plain values: the stream's own :mod:`~glm_magics.events` (reasoning and answer text,
tool-call fragments, a scheduled retry) and the exchange events below (time passing,
notes for the user, a tool that ran, a request or the whole answer finished, a
failure, a tool call waiting for approval). A reporter shows them however it likes;
nothing here knows of IPython::

    class Printer:
        def report(self, event: Event) -> None:
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)

    session.ask("Say hi", reporter=Printer())

Notebook, widget and terminal views live in :mod:`glm_magics.display`; a reporter
that ignores everything (:data:`QUIET`) is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from glm_magics.events import RetryScheduled, StreamEvent
from glm_magics.results import ChatResult

if TYPE_CHECKING:
    from glm_magics.tools import ApprovalRequest, ToolOutcome

__all__ = [
    "QUIET",
    "Answered",
    "ApprovalAsked",
    "Event",
    "Failed",
    "JSONAnswer",
    "Note",
    "NoteKind",
    "Notice",
    "Reporter",
    "RetryCallback",
    "RoundEnded",
    "Tick",
    "ToolRan",
]

NoteKind = Literal["info", "error"]


@dataclass(frozen=True)
class Tick:
    """Time passed (about every 50 ms while a request runs): redraw if you draw live.

    ``waiting`` is true until the first piece of the answer arrived; ``elapsed`` counts
    seconds since the request was sent.
    """

    elapsed: float
    waiting: bool


@dataclass(frozen=True)
class Notice:
    """A passing remark before the answer (values cut short, old turns left out)."""

    message: str


@dataclass(frozen=True)
class Note:
    """A lasting line: a cost notice, fields a server ignores, a JSON check."""

    message: str
    kind: NoteKind = "info"


@dataclass(frozen=True)
class ToolRan:
    """The model asked for a tool call and it ran (or failed); ``outcome`` says how."""

    outcome: ToolOutcome


@dataclass(frozen=True)
class ApprovalAsked:
    """A tool call waits for approval: show ``request.shown()`` (and its untrusted note)
    now, before the person is asked; a :class:`ToolRan` for the same call follows."""

    request: ApprovalRequest


@dataclass(frozen=True)
class RoundEnded:
    """A request that asked for tool calls is done; their results go into the next one."""

    result: ChatResult


@dataclass(frozen=True)
class Answered:
    """The answer is complete (or was stopped: ``result.interrupted``).

    ``max_tokens`` is what the request allowed, for saying why an answer was cut.
    """

    result: ChatResult
    max_tokens: int | None = None


@dataclass(frozen=True)
class JSONAnswer:
    """A JSON-mode answer that parsed: ``text`` is the value, pretty-printed, for a view
    to show as a JSON block instead of prose."""

    text: str


@dataclass(frozen=True)
class Failed:
    """The exchange failed; ``message`` says what to do (the key is never in it)."""

    message: str


Event = (
    StreamEvent
    | Tick
    | Notice
    | Note
    | ApprovalAsked
    | ToolRan
    | RoundEnded
    | Answered
    | JSONAnswer
    | Failed
)
"""Everything a reporter may be told."""


class Reporter(Protocol):
    """Watches one exchange; called on the thread that asked."""

    def report(self, event: Event) -> None:
        """Take one event; return quickly (draw later, on a :class:`Tick`)."""


class _Quiet:
    def report(self, event: Event) -> None:
        """Ignore the event."""

    def __repr__(self) -> str:
        return "QUIET"


QUIET: Reporter = _Quiet()
"""A reporter that shows nothing."""


class RetryCallback:
    """A reporter that passes retry notices to a plain callback (``GLMClient.chat(on_retry=)``)."""

    def __init__(self, on_retry: Callable[[RetryScheduled], None]) -> None:
        self._on_retry = on_retry

    def report(self, event: Event) -> None:
        """Call back with a :class:`~glm_magics.events.RetryScheduled`; ignore the rest."""
        if isinstance(event, RetryScheduled):
            self._on_retry(event)
