"""A streamed markdown text shown as a column of displays, with bounded, linear resends.

The live display of an answer (or of the reasoning) must not resend the whole text
at every redraw: that would cost bytes quadratic in the answer's length. A
:class:`MarkdownColumn` keeps the final blocks of its
:class:`~glm_magics.display.markdown.IncrementalMarkdown` in closed displays that are
not sent again while it streams, and redraws only the live one below them. When the
text is complete the caller shows it whole elsewhere and :meth:`MarkdownColumn.clear`
empties the column (one short message per display).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

from glm_magics.display.markdown import IncrementalMarkdown, render_markdown

__all__ = ["MarkdownColumn", "Show"]

Show = Callable[[str, str], int]
"""Shows HTML in a display (created on first use) and returns the bytes sent."""

_FENCE_PIECE = 512  # code of an open fence cut off into a display of its own
_PACE = 3.0  # a redraw costing N bytes waits for N / _PACE new characters
_BUDGET_SLACK = 512
_LARGE_TAIL = 2048  # longer unfinished tails redraw only after +50% or a second
_SLOW_INTERVAL = 1.0
_WINDOW_INTERVAL = 0.25  # a windowed column redraws at most this often


class MarkdownColumn:
    """One streamed markdown text, shown as closed displays followed by one live display.

    Final blocks gather in the live display until they weigh ``piece`` bytes (a
    long open code fence is cut into pieces of its own); the display then gets them
    one last time, the unfinished tail moves to a new live display below, and the
    closed display is not sent again until :meth:`clear`. Other redraws are optional
    and skipped when bytes sent plus twice the live display's size would pass
    ``budget`` bytes per character received, when fewer than size / ``_PACE``
    characters arrived since the last one, for a long unfinished
    tail before it grew by half or a second passed, or while ``room()`` (the
    caller's message rate limit) is under one message; a close waits for two.

    With ``window`` set (a text that is re-sent whole later, like the reasoning),
    there is no byte budget: the live display shows only the last ``window``
    characters of the tail and redraws on a timer instead.
    """

    def __init__(
        self,
        show: Show,
        wrap: Callable[[str], str],
        *,
        budget: float = math.inf,
        piece: int,
        room: Callable[[], float] = lambda: math.inf,
        window: int | None = None,
    ) -> None:
        self._show = show
        self._window = window
        self._room = room
        self._wrap = wrap
        self._budget = budget
        self._piece = piece
        self._doc = IncrementalMarkdown()
        self.source: list[str] = []
        self.ids: list[str] = []
        self.closed = False
        self.stale = False
        self._live: str | None = None
        self._done: list[str] = []
        self._done_len = 0
        self._close_due = False
        self._chars = 0
        self._sent = 0
        self._ratio = 1.2  # HTML characters per tail character, as last measured
        self._shown_len = 0
        self._chars_shown = 0
        self._shown_at = -math.inf
        self._split_at = -math.inf
        self._closed_html: list[str] = []  # what the closed displays show, in order
        self._cut_fence = False

    @property
    def busy(self) -> bool:
        """Whether :meth:`update` has something to send (a redraw or a piece to close)."""
        return self.stale or self._close_due

    @property
    def has_text(self) -> bool:
        """Whether any (possibly blank) text arrived."""
        return self._chars > 0

    def append(self, text: str) -> None:
        """Add a delta; after :meth:`clear` or :meth:`replace` it is only recorded."""
        self.source.append(text)
        if self.closed:
            return
        self._doc.append(text)
        self._chars += len(text)
        self.stale = True

    def update(self, now: float) -> None:
        """Close finished blocks, then redraw the live display if worth it."""
        doc = self._doc
        finished = ""
        if doc.has_new_lines() and (
            doc.worth_splitting() or (not doc.in_fence and now - self._split_at >= _SLOW_INTERVAL)
        ):
            self._split_at = now
            finished = doc.split()
        code = doc.split_fence(_FENCE_PIECE) if doc.in_fence else ""
        self._cut_fence = self._cut_fence or bool(code)
        if finished or code:
            self._done.append(finished + code)
            self._done_len += len(finished) + len(code)
            self._close_due = bool(code) or self._done_len >= self._piece
        # Closing takes two messages: the finished part, then the tail moving down.
        if self._close_due and self._room() >= 2:
            self._closed_html.append("".join(self._done))
            self._send(self._live_id(), self._wrap("".join(self._done)))
            self._live, self._done, self._done_len, self._close_due = None, [], 0, False
            self._redraw(now, force=True)
            return
        if self.stale:
            self._redraw(now)

    def _redraw(self, now: float, *, force: bool = False) -> None:
        tail_len = len(self._doc.tail)
        force = force or not self.ids
        if self._window is not None:
            self._redraw_window(now, force=force)
            return
        allowance = self._budget * self._chars + _BUDGET_SLACK - self._sent
        if not force:
            estimate = self._done_len + tail_len * self._ratio + 64
            if 2 * estimate > allowance:
                return
            if (self._chars - self._chars_shown) * _PACE < estimate:
                return
            grew = tail_len >= 1.5 * self._shown_len
            if tail_len > _LARGE_TAIL and not grew and now - self._shown_at < _SLOW_INTERVAL:
                return
            if self._room() < 1:
                return
        tail_html = self._doc.render_tail()
        if tail_len >= 256:
            self._ratio = min(max(len(tail_html) / tail_len, 1.0), 4.0)
        body = "".join(self._done) + tail_html
        if not body.strip() and self._live is None:
            self.stale = False
            return
        page = self._wrap(body)
        if not force and 2 * len(page) > allowance:
            return
        self._send(self._live_id(), page)
        self.stale = False
        self._shown_len, self._shown_at = tail_len, now
        self._chars_shown = self._chars

    def _redraw_window(self, now: float, *, force: bool) -> None:
        """Live view of a text that is re-sent whole later (the reasoning).

        Only the last ``window`` characters of the unfinished tail are shown, at
        most every ``_WINDOW_INTERVAL`` seconds: each redraw costs a bounded number
        of bytes, so a long paragraph keeps moving instead of exhausting a per-
        character budget, and the bytes grow with the stream's duration, never with
        the square of its length.
        """
        if not force and (now - self._shown_at < _WINDOW_INTERVAL or self._room() < 1):
            return
        tail = self._doc.tail
        window = self._window or 0
        if len(tail) > window:
            cut = tail[-window:]
            space = cut.find(" ")
            cut = cut[space + 1 :] if 0 <= space < 40 else cut
            tail_html = render_markdown("… " + cut)
        else:
            tail_html = self._doc.render_tail()
        body = "".join(self._done) + tail_html
        if not body.strip() and self._live is None:
            self.stale = False
            return
        self._send(self._live_id(), self._wrap(body))
        self.stale = False
        self._shown_len, self._shown_at = len(tail), now
        self._chars_shown = self._chars

    def whole_html(self) -> str | None:
        """The whole text's HTML, from what was rendered while it streamed, or None when
        that differs from :func:`~glm_magics.display.markdown.render_markdown` of the
        whole (a long code fence went out in pieces, or a reference definition came)."""
        self._doc.flush()
        tail = self._doc.render_tail()  # may see a reference definition itself
        if self._cut_fence or self._doc.saw_references:
            return None
        return "".join(self._closed_html) + "".join(self._done) + tail

    def clear(self) -> None:
        """Close the column and empty its displays: the whole text now shows elsewhere."""
        self.closed = True
        self.stale = False
        for display_id in self.ids:
            self._send(display_id, "")

    def replace(self, page: str) -> None:
        """Show ``page`` in the first display and empty the others (one resend)."""
        self.closed = True
        self.stale = False
        if not self.ids:
            if not page:
                return
            self.ids.append(uuid.uuid4().hex)
        self._send(self.ids[0], page)
        for display_id in self.ids[1:]:
            self._send(display_id, "")

    def _live_id(self) -> str:
        if self._live is None:
            self._live = uuid.uuid4().hex
            self.ids.append(self._live)
        return self._live

    def _send(self, display_id: str, page: str) -> None:
        self._sent += self._show(display_id, page)
