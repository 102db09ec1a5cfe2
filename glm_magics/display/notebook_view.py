"""Live HTML display of a streamed GLM answer: a waiting line, the reasoning, the answer.

:class:`NotebookView` renders into Jupyter through display ids (a cell's output by
default, or any :class:`DisplaySink`, such as the control panel's widgets). It is a
:class:`~glm_magics.display.view.StreamView`, so a session reports to it directly;
deltas are buffered and drawn on ticks, and like rich's ``Live`` the token rate and
the redraw rate are independent, so a fast stream costs a bounded number of
redraws::

    view = NotebookView("glm-4-7-flash")
    view.reasoning("Let me think.")
    view.text("**Hello**")
    view.tick()
    view.finish("glm-4-7-flash · 312 tokens · 4.1 s")

When an answer is done its live displays are emptied and one output shows it whole,
with ``text/plain`` (the answer as text, the reasoning summed up in a line) and
``text/markdown`` (made safe, see :mod:`~glm_magics.display.text_forms`) beside the
HTML, so that ``jupyter console``, nbconvert and text viewers read it too.

Model output is untrusted: it only reaches the page through
:func:`~glm_magics.display.markdown.render_markdown` (raw HTML shown as text, no
``javascript:`` links), and every string composed here is ``html.escape``-d.
"""

from __future__ import annotations

import html
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from glm_magics.display.highlight import highlight_code_blocks
from glm_magics.display.lines import INFO_KINDS, WARNING, approval_html, approval_text, line
from glm_magics.display.markdown import render_markdown
from glm_magics.display.markdown_column import MarkdownColumn
from glm_magics.display.publisher import Publisher
from glm_magics.display.sinks import DisplaySink, IPythonDisplaySink
from glm_magics.display.sources import sources_html, sources_text
from glm_magics.display.text_forms import answer_forms, plain_answer
from glm_magics.display.view import StreamView
from glm_magics.results import WebSource

__all__ = ["ANSWER_OPEN", "REASONING_OPEN", "NotebookView"]

# Live redraws stop once bytes sent (plus twice the live display, which must still
# be sent at the end) would pass this many bytes per character received.
_ANSWER_BUDGET = 2.5
# The live reasoning shows at most this many characters of its unfinished paragraph
# (the whole text is in the <details> it collapses into).
_REASONING_WINDOW = 1200
# Smaller pieces mean smaller live displays, so more redraws for the same bytes,
# but more outputs in the cell; the reasoning collapses, so it uses fewer.
_ANSWER_PIECE = 256
_REASONING_PIECE = 1024
_SLOW_INTERVAL = 1.0
# Display messages per ``min_interval``: a little under one, so that the final
# messages still fit; closing a piece takes two (the publisher's bucket holds two).
_MESSAGES_PER_INTERVAL = 0.9
_REASONING_STYLE = "color:#6b7280;border-left:3px solid #d1d5db;padding-left:0.8em;font-size:0.9em"


def _new_id() -> str:
    return uuid.uuid4().hex


ANSWER_OPEN = '<div class="glm-answer">'
"""How each display of a streamed answer opens (it closes with ``</div>``)."""
REASONING_OPEN = f'<div class="glm-reasoning" style="{_REASONING_STYLE}">'
"""How each display of streaming reasoning opens (it closes with ``</div>``)."""


def _wrap_answer(body: str) -> str:
    return f"{ANSWER_OPEN}{body}</div>"


def _wrap_reasoning(body: str) -> str:
    return f"{REASONING_OPEN}{body}</div>"


class _WordCount:
    """Counts words across deltas (a word may be split between two deltas)."""

    def __init__(self) -> None:
        self.words = 0
        self._in_word = False

    def feed(self, text: str) -> None:
        """Count the words in the next delta."""
        if not text:
            return
        count = len(text.split())
        if count and self._in_word and not text[0].isspace():
            count -= 1
        self.words += count
        self._in_word = not text[-1].isspace()


def _words(count: int) -> str:
    return f"{count} word" if count == 1 else f"{count} words"


class NotebookView(StreamView):
    """Rich HTML view for Jupyter frontends, updated in place through display ids.

    Layout, top to bottom: a waiting/notice line (emptied by the first token), the
    reasoning in a muted bordered area (``glm-reasoning``) that collapses into a
    ``<details>`` element once the answer starts, the answer as markdown
    (``glm-answer``), a status line (``glm-status``) and any error (``glm-error``).
    Redraws happen on :meth:`tick`, at most every ``min_interval`` seconds of
    ``clock`` (the first token shows at once), and only the unfinished tail of the
    markdown is re-sent, so bytes and CPU stay linear in the answer's length.
    """

    def __init__(
        self,
        model: str,
        *,
        show_reasoning: bool = True,
        min_interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sink: DisplaySink | None = None,
    ) -> None:
        super().__init__()
        self._model = model
        self._show_reasoning = show_reasoning
        self._min_interval = min_interval
        self._clock = clock
        rate = _MESSAGES_PER_INTERVAL / min_interval if min_interval > 0 else math.inf
        self._out = Publisher(sink if sink is not None else IPythonDisplaySink(), clock, rate)
        self._start()

    def _start(self) -> None:
        """Fresh state for one request's output (the publisher and its rate carry on)."""
        show, room = self._out.show, self._out.room
        self._reasoning = MarkdownColumn(
            show,
            _wrap_reasoning,
            piece=_REASONING_PIECE,
            room=room,
            window=_REASONING_WINDOW,
        )
        self._answer = MarkdownColumn(
            show, _wrap_answer, budget=_ANSWER_BUDGET, piece=_ANSWER_PIECE, room=room
        )
        self._pending_reasoning: list[str] = []
        self._pending_text: list[str] = []
        self._words = _WordCount()
        self._top_id: str | None = None
        self._waiting_s: int | None = None
        self._notice: str | None = None
        self._shown_words: int | None = None
        self._shown_words_at = -math.inf
        self._started = False
        self._collapsed = False
        self._late_reasoning = False
        self._last_tick = -math.inf
        self._finalized = False
        self._json: str | None = None
        self._answer_id: str | None = None
        self._finished = False
        self._error_id: str | None = None
        self._approval_id: str | None = None

    def new_round(self) -> None:
        """End this request's output; the next request (after tool calls) draws below it."""
        self._ensure_top()
        self._finalize()
        self._start()

    def info(self, message: str, *, kind: str = "info") -> None:
        """A lasting line below what is shown (``kind``: info, tool, tool-error or
        tool-declined); a tool call's line takes the place of its approval block."""
        self._ensure_top()
        css, style, mark = INFO_KINDS.get(kind, INFO_KINDS["info"])
        shown_in = (self._approval_id if kind.startswith("tool") else None) or _new_id()
        self._approval_id = None
        self._out.show(shown_in, line(css, f"{mark}{message}", style), f"{mark}{message}")

    def approval(self, shown: str, note: str | None) -> None:
        """A tool call waits for approval: show it (its outcome line replaces it)."""
        self._ensure_top()
        self._approval_id = _new_id()
        self._out.show(self._approval_id, approval_html(shown, note), approval_text(shown, note))

    def sources(self, sources: list[WebSource]) -> None:
        """The web search's sources, numbered, under the answer."""
        if not sources:
            return
        self._ensure_top()
        self._finalize()
        self._out.show(_new_id(), sources_html(sources), sources_text(sources))

    def waiting(self, elapsed: float) -> None:
        """Show "Waiting for {model}… N s"; redraws only when N changes."""
        self._ensure_top()
        seconds = max(0, int(elapsed))
        if not self._started and not self._finalized and seconds != self._waiting_s:
            self._waiting_s = seconds
            self._show_top()

    def notice(self, message: str) -> None:
        """Show ``message`` in the waiting area, replacing any earlier notice."""
        self._notice = message
        self._show_top()

    def reasoning(self, delta: str) -> None:
        """Buffer a reasoning delta."""
        self._ensure_top()
        if delta and not self._finalized:
            self._pending_reasoning.append(delta)

    def text(self, delta: str) -> None:
        """Buffer an answer delta."""
        self._ensure_top()
        if delta and not self._finalized:
            self._pending_text.append(delta)

    def tick(self) -> None:
        """Redraw what changed, unless the last redraw was under ``min_interval`` ago."""
        self._ensure_top()
        if self._finalized or not (
            self._pending_reasoning
            or self._pending_text
            or self._reasoning.busy
            or self._answer.busy
        ):
            return
        now = self._clock()
        first_text = bool(self._pending_text) and not self._answer.has_text
        if self._started and not first_text and now - self._last_tick < self._min_interval:
            return
        self._last_tick = now
        self._ingest()
        if self._show_reasoning and not self._collapsed:
            self._reasoning.update(now)
        self._answer.update(now)
        if self._words.words and now - self._shown_words_at >= _SLOW_INTERVAL:
            self._shown_words, self._shown_words_at = self._words.words, now
        self._show_top()

    def finish(
        self, status: str, *, warning: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        """Final render, then the status line (saved with ``metadata``) and an optional
        warning; later calls do nothing."""
        self._ensure_top()
        if self._finished:
            return
        self._finished = True
        self._finalize()
        page = line("glm-status", status) if status else ""
        plain = status
        if warning:
            page += line("glm-warning", f"⚠ {warning}", WARNING)
            plain += f"\nWarning: {warning}"
        if page:
            self._out.show(_new_id(), page, plain, metadata)

    def json_answer(self, text: str) -> None:
        """Show the parsed JSON answer as a coloured JSON block, in place of the prose."""
        self._json = text
        if self._finalized:
            self._show_answer()  # the answer was already settled: show it again as JSON
        else:
            self._finalize()

    def error(self, message: str) -> None:
        """Final render of what arrived, then ``Error: message`` (a repeat replaces it)."""
        self._ensure_top()
        self._finalize()
        if self._error_id is None:
            self._error_id = _new_id()
        text = f"Error: {message}"
        self._out.show(self._error_id, line("glm-error", text, "color:#b91c1c"), text)

    def _ingest(self) -> None:
        if not self._started and (self._pending_reasoning or self._pending_text):
            self._started = True
            self._notice = None  # a retry notice is stale once tokens flow
        if self._pending_reasoning:
            delta = "".join(self._pending_reasoning)
            self._pending_reasoning.clear()
            self._words.feed(delta)
            if self._show_reasoning:
                self._late_reasoning = self._collapsed
                self._reasoning.append(delta)
        if self._pending_text:
            delta = "".join(self._pending_text)
            self._pending_text.clear()
            if not self._collapsed:
                self._collapsed = True
                if self._show_reasoning and self._reasoning.has_text:
                    self._reasoning.replace(self._details())
            self._answer.append(delta)

    def _details(self) -> str:
        source = "".join(self._reasoning.source)
        if not source.strip():
            return ""
        summary = f"Reasoning · {_words(self._words.words)}"
        return (
            f'<details class="glm-reasoning" style="{_REASONING_STYLE}">'
            f"<summary>{html.escape(summary)}</summary>{render_markdown(source)}</details>"
        )

    def _finalize(self) -> None:
        if self._finalized:
            return
        self._ingest()
        self._finalized = True
        self._started = True
        self._notice = None
        self._show_answer()  # first, so the page never shows less than it did
        self._reasoning.clear()  # then the live displays give way to the whole answer
        self._answer.clear()
        self._ensure_top()
        assert self._top_id is not None
        top = self._top_html()
        self._out.show(self._top_id, top, None if top else "")  # an empty top: settled

    def _show_answer(self) -> None:
        """The finished answer in one output: HTML (with the reasoning), markdown, text.

        Live displays are pieces of the answer, and frontends that cannot update a
        display (``jupyter console``) or read only one representation (nbconvert to
        LaTeX, a text viewer) need the whole answer in one
        place; so the answer is sent once more, whole, when it is done.
        """
        answer = "".join(self._answer.source)
        reasoning = "".join(self._reasoning.source) if self._show_reasoning else ""
        page, summary = "", None
        if reasoning.strip():
            summary = f"Reasoning · {_words(self._words.words)}"
            if answer.strip() or self._json is not None:
                page += self._details()
            else:  # no answer: the reasoning stays open
                page += _wrap_reasoning(render_markdown(reasoning))
        if self._json is not None:
            from glm_magics.display.json_block import json_html

            page += _wrap_answer(json_html(self._json))
            answer, markdown = self._json, f"```json\n{self._json}\n```"
        else:
            body, markdown = answer_forms(answer, self._answer.whole_html())
            body = highlight_code_blocks(body)
            if answer.strip():
                page += _wrap_answer(body)
        if not page:
            return
        if self._answer_id is None:
            self._answer_id = _new_id()
        if summary and answer.strip():
            markdown = f"*{summary}*\n\n{markdown}"
        self._out.show(
            self._answer_id, page, plain_answer(answer, reasoning=summary), markdown=markdown
        )

    def _top_html(self) -> str:
        parts = []
        if not self._started and self._waiting_s is not None:
            waiting = f"Waiting for {self._model}… {self._waiting_s} s"
            parts.append(line("glm-waiting", waiting))
        elif (
            not self._show_reasoning
            and not self._finalized
            and not self._answer.has_text
            and self._shown_words is not None
        ):
            reasoning = f"{self._model} is reasoning… {_words(self._shown_words)}"
            parts.append(line("glm-waiting", reasoning))
        if self._notice:
            parts.append(line("glm-notice", self._notice, WARNING))
        return "".join(parts)

    def _ensure_top(self) -> None:
        if self._top_id is None:
            self._top_id = _new_id()
            self._out.show(self._top_id, self._top_html())

    def _show_top(self) -> None:
        self._ensure_top()
        assert self._top_id is not None
        self._out.show(self._top_id, self._top_html())
