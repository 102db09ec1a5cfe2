"""A live view of an exchange: the reporter events turned into what a display draws.

:class:`StreamView` is a :class:`~glm_magics.core.reporting.Reporter`. Its
:meth:`~StreamView.report` reads each event once, here, and calls the drawing
methods a view implements: a waiting line, the reasoning, the answer, passing
notices and lasting lines, the status line, the sources and errors. Two views
exist: :class:`~glm_magics.display.notebook_view.NotebookView` (HTML through display
ids, in a cell or a widget) and :class:`~glm_magics.display.plain_view.PlainView`
(text for a terminal)::

    session.ask("Explain entropy.", reporter=PlainView("glm-4-7-flash"))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from glm_magics.core.reporting import (
    Answered,
    ApprovalAsked,
    Event,
    Failed,
    JSONAnswer,
    Note,
    Notice,
    RoundEnded,
    Tick,
    ToolRan,
)
from glm_magics.display.status import format_status
from glm_magics.events import ReasoningDelta, RetryScheduled, TextDelta
from glm_magics.results import WebSource

__all__ = ["StreamView"]


class StreamView(ABC):
    """Draws one exchange; see the module docstring for what each event becomes.

    After a request that asked for tool calls (:class:`RoundEnded`) the next request's
    first event starts a new round below the tool-call lines.
    """

    def __init__(self) -> None:
        self._round_over = False

    def report(self, event: Event) -> None:
        """Draw what ``event`` says (events a view has no use for are ignored)."""
        draw = _DRAW.get(type(event))
        if draw is None:
            return
        if self._round_over and type(event) in _STARTS_A_ROUND:
            self._round_over = False
            self.new_round()
        draw(self, event)

    @abstractmethod
    def waiting(self, elapsed: float) -> None:
        """Before the first token: show a live "Waiting for {model}… N s" line."""

    @abstractmethod
    def notice(self, message: str) -> None:
        """Show a transient notice (retries, rate limits); the next one replaces it."""

    @abstractmethod
    def reasoning(self, delta: str) -> None:
        """Buffer a reasoning delta; it is drawn on a later :meth:`tick`."""

    @abstractmethod
    def text(self, delta: str) -> None:
        """Buffer an answer delta; it is drawn on a later :meth:`tick`."""

    @abstractmethod
    def tick(self) -> None:
        """Redraw if something changed, at a bounded rate."""

    @abstractmethod
    def finish(
        self, status: str, *, warning: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        """Final render, then one status line (and a warning line, if given); a view that
        saves outputs keeps ``metadata`` with the status line."""

    @abstractmethod
    def error(self, message: str) -> None:
        """Final render of what arrived, then one clear error line."""

    @abstractmethod
    def info(self, message: str, *, kind: str = "info") -> None:
        """A lasting line (a cost notice, a tool call and its result)."""

    @abstractmethod
    def approval(self, shown: str, note: str | None) -> None:
        """A tool call waits for approval: show the call (``shown``, text to escape) and
        the untrusted note, now; the call's outcome line follows (:meth:`info`)."""

    @abstractmethod
    def sources(self, sources: list[WebSource]) -> None:
        """The web search's sources under the answer."""

    @abstractmethod
    def json_answer(self, text: str) -> None:
        """A JSON-mode answer parsed: show ``text`` (pretty JSON) as JSON."""

    @abstractmethod
    def new_round(self) -> None:
        """The request is done; another one (after tool calls) follows below."""


def _tick(view: StreamView, event: Tick) -> None:
    if event.waiting:
        view.waiting(event.elapsed)
    view.tick()


def _answered(view: StreamView, event: Answered) -> None:
    view.sources(event.result.sources)
    result = event.result
    status, warning = format_status(result, max_tokens=event.max_tokens)
    view.finish(status, warning=warning, metadata={"glm": result.provenance.metadata(result.model)})


def _round_ended(view: StreamView, event: RoundEnded) -> None:
    view.finish(format_status(event.result)[0])
    view._round_over = True


def _note(view: StreamView, event: Note) -> None:
    if event.kind == "error":
        view.error(event.message)
    else:
        view.info(event.message)


def _tool_ran(view: StreamView, event: ToolRan) -> None:
    outcome = event.outcome
    kind = "tool-declined" if outcome.declined else "tool-error" if outcome.error else "tool"
    view.info(outcome.summary(), kind=kind)


def _approval_asked(view: StreamView, event: ApprovalAsked) -> None:
    view.approval(event.request.shown(), event.request.untrusted_note())


# One entry per event type, looked up once per event: answer text is the hot path.
_DRAW: dict[type, Callable[[StreamView, Any], None]] = {
    TextDelta: lambda view, event: view.text(event.text),
    ReasoningDelta: lambda view, event: view.reasoning(event.text),
    Tick: _tick,
    RetryScheduled: lambda view, event: view.notice(event.message),
    Notice: lambda view, event: view.notice(event.message),
    Note: _note,
    ToolRan: _tool_ran,
    ApprovalAsked: _approval_asked,
    RoundEnded: _round_ended,
    Answered: _answered,
    Failed: lambda view, event: view.error(event.message),
    JSONAnswer: lambda view, event: view.json_answer(event.text),
}
# After a tool round, the next request's first sign of life starts a new round below.
_STARTS_A_ROUND = frozenset({TextDelta, ReasoningDelta, Tick, RetryScheduled, Notice, Answered})
