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

from glm_magics.core.reporting import (
    Answered,
    Event,
    Failed,
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
        if isinstance(event, Note):
            if event.kind == "error":
                self.error(event.message)
            else:
                self.info(event.message)
            return
        if isinstance(event, ToolRan):
            outcome = event.outcome
            self.info(outcome.summary(), kind="tool-error" if outcome.error else "tool")
            return
        if isinstance(event, Failed):
            self.error(event.message)
            return
        if isinstance(event, RoundEnded):
            self.finish(format_status(event.result)[0])
            self._round_over = True
            return
        starts_drawing = Tick | TextDelta | ReasoningDelta | RetryScheduled | Notice
        if self._round_over and isinstance(event, starts_drawing):
            self._round_over = False
            self.new_round()
        if isinstance(event, Tick):
            if event.waiting:
                self.waiting(event.elapsed)
            self.tick()
        elif isinstance(event, TextDelta):
            self.text(event.text)
        elif isinstance(event, ReasoningDelta):
            self.reasoning(event.text)
        elif isinstance(event, RetryScheduled | Notice):
            self.notice(event.message)
        elif isinstance(event, Answered):
            result = event.result
            self.sources(result.sources)
            status, warning = format_status(result, max_tokens=event.max_tokens)
            self.finish(status, warning=warning)

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
    def finish(self, status: str, *, warning: str | None = None) -> None:
        """Final render, then one status line (and a warning line, if given)."""

    @abstractmethod
    def error(self, message: str) -> None:
        """Final render of what arrived, then one clear error line."""

    @abstractmethod
    def info(self, message: str, *, kind: str = "info") -> None:
        """A lasting line (a cost notice, a tool call and its result)."""

    @abstractmethod
    def sources(self, sources: list[WebSource]) -> None:
        """The web search's sources under the answer."""

    @abstractmethod
    def new_round(self) -> None:
        """The request is done; another one (after tool calls) follows below."""
