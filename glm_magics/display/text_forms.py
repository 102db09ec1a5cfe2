"""An answer as text and as markdown, made as safe as its HTML, for every other reader.

A finished answer's output carries ``text/plain`` and ``text/markdown`` beside its
``text/html``, so that ``jupyter console``, nbconvert (markdown, LaTeX, PDF), text
viewers and frontends that prefer markdown all show it. Model output is untrusted,
and a markdown renderer may allow raw HTML (JupyterLab does for trusted output), so
:func:`safe_markdown` keeps the answer's markdown but defuses, outside code:

* raw HTML and autolinks: every ``<`` becomes ``&lt;``, so ``<script>`` or
  ``<img onerror=…>`` shows as text, as :func:`~glm_magics.display.markdown.render_markdown`
  shows it;
* links and reference definitions whose URL uses a ``javascript:``, ``vbscript:``,
  ``file:`` or ``data:`` scheme (after decoding entities and dropping the blanks a
  browser ignores): their bracket is escaped, so they stay text;
* images: they become links, so that showing the answer fetches nothing.

Code blocks and inline code are kept byte for byte (a renderer shows them as text).
:func:`printable` makes text safe for a terminal.
"""

from __future__ import annotations

import html
import re

from glm_magics.display.markdown import BlockLines, block_lines, render_with_blocks, unsafe_url

__all__ = [
    "answer_forms",
    "line_html",
    "literal_markdown",
    "plain_answer",
    "printable",
    "safe_markdown",
]

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BACKTICKS = re.compile(r"(?<!\\)`+")
_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash escape, as markdown reads it
_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*_{}\[\]()#+\-.!|~>]")
_REFERENCE = re.compile(r"^( {0,3})\[([^\]]+)\]:[ \t]*<?(\S*?)>?(?:\s|$)")


def printable(text: str) -> str:
    """Drop ``\\r`` and neutralise other control characters (no terminal escapes)."""
    return _CONTROL.sub("\ufffd", text.replace("\r", ""))


def safe_markdown(text: str) -> str:
    """``text`` (untrusted markdown) with raw HTML, unsafe links and images defused.

    >>> safe_markdown("**hi** <script>x</script> `<b>`")
    '**hi** &lt;script>x&lt;/script> `<b>`'
    """
    text = _newlines(text)
    return _safe(text, block_lines(text))


def answer_forms(text: str, page: str | None = None) -> tuple[str, str]:
    """The answer as safe HTML (:func:`~glm_magics.display.markdown.render_markdown`)
    and as safe markdown (:func:`safe_markdown`), from one parse; ``page``: its HTML,
    when already rendered."""
    text = _newlines(text)
    if page is not None:
        return page, _safe(text, block_lines(text))
    page, blocks = render_with_blocks(text)
    return page, _safe(text, blocks)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _safe(text: str, blocks: BlockLines) -> str:
    lines = text.split("\n")
    code, runs = blocks
    unit_of = list(range(len(lines)))  # each line on its own, but for multi-line runs
    for start, stop in runs:
        for number in range(start, min(stop, len(lines))):
            unit_of[number] = start
    out: list[str] = []
    number = 0
    while number < len(lines):
        if number in code:
            out.append(lines[number])
            number += 1
            continue
        stop = number + 1
        while stop < len(lines) and stop not in code and unit_of[stop] == unit_of[number]:
            stop += 1
        out.append(_defuse("\n".join(lines[number:stop])))
        number = stop
    return "\n".join(out)


def line_html(text: str) -> str:
    """A one-line message as HTML: escaped, with its `backticked` parts as code.

    >>> line_html("run `%glm key` <now>")
    'run <code>%glm key</code> &lt;now&gt;'
    """
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(text))


def literal_markdown(text: str) -> str:
    """``text`` as markdown that shows it literally: no formatting, links or HTML.

    >>> literal_markdown("max_tokens · <b> [x](y)")
    'max\\\\_tokens · &lt;b\\\\> \\\\[x\\\\]\\\\(y\\\\)'
    """
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", printable(text))
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "  \n")


def plain_answer(text: str, *, reasoning: str | None = None) -> str:
    """The answer as terminal-safe text, after a one-line summary of the reasoning."""
    answer = printable(text).strip("\n")
    return f"({reasoning})\n\n{answer}" if reasoning and answer else reasoning or answer


def _defuse(prose: str) -> str:
    """Escape what could become HTML, a live link or an image, outside inline code."""
    parts: list[str] = []
    position = 0
    while True:
        opening = _BACKTICKS.search(prose, position)
        if opening is None:
            parts.append(_defuse_text(prose[position:]))
            break
        closing = re.compile(rf"(?<!`){opening.group()}(?!`)").search(prose, opening.end())
        if closing is None:  # an unmatched run of backticks is literal text
            parts.append(_defuse_text(prose[position : opening.end()]))
            position = opening.end()
            continue
        parts.append(_defuse_text(prose[position : opening.start()]))
        parts.append(prose[opening.start() : closing.end()])
        position = closing.end()
    return "".join(parts)


def _defuse_text(text: str) -> str:
    def link(match: re.Match[str]) -> str:
        return "]\\(" + match.group()[2:] if _unsafe(match.group(1)) else match.group()

    text = _LINK_TARGET.sub(link, text)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        reference = _REFERENCE.match(line)
        if reference and _unsafe(reference.group(3)):
            lines[index] = f"{reference.group(1)}\\{line[len(reference.group(1)) :]}"
    # Entities, not backslashes: a backslash the model wrote before them cannot undo them.
    return "\n".join(lines).replace("<", "&lt;").replace("![", "&#33;[")


def _unsafe(target: str) -> bool:
    """Whether a link target, as written, points somewhere unsafe once markdown reads it."""
    return unsafe_url(html.unescape(_ESCAPED.sub(r"\1", target)))
