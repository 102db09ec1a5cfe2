"""Code coloured by token, in the notebook theme's own editor colours.

Pygments (which comes with IPython) splits the code into tokens; each is escaped and
wrapped in a ``<span>`` with a short class (``glm-k`` for a keyword, ``glm-s`` for a
string...). The notebook extension's stylesheet gives each class JupyterLab's editor
colour (a CSS variable), so the colours follow the light or dark theme, and a class
survives the sanitizer of an untrusted notebook where an inline style would not. A
streamed answer is coloured once, when it is shown whole. Nothing of the code is ever
markup::

    highlight("x = 1  # one", "python")   # 'x = <span class="glm-m">1</span>  <span ...'
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.token import Comment, Keyword, Name, Number, String  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

__all__ = ["CLASSES", "highlight", "highlight_code_blocks", "highlight_tokens"]

# (token type, class); the first match wins. Operators and plain names stay uncoloured:
# colour where it helps reading, and fewer spans to send.
_KINDS: tuple[tuple[Any, str], ...] = (
    (Comment, "glm-c"),
    (String, "glm-s"),
    (Number, "glm-m"),
    (Keyword, "glm-k"),
    (Name.Tag, "glm-p"),  # JSON keys
    (Name.Builtin, "glm-b"),
    (Name.Function, "glm-d"),
    (Name.Class, "glm-d"),
    (Name.Decorator, "glm-a"),
)
CLASSES = {name: kind for kind, name in _KINDS}
"""Every class a span may get, with its token type (the extension's CSS colours each)."""


_BLOCK = re.compile(
    r'(<pre[^>]*><code[^>]*\bclass="language-([^"]+)"[^>]*>)(.*?)(</code></pre>)', re.DOTALL
)


def highlight_code_blocks(page: str) -> str:
    """``page`` (HTML from :func:`~glm_magics.display.markdown.render_markdown`) with the
    code of each block whose language is known coloured by token.

    Raw HTML from the model is escaped by the renderer, so every ``<pre><code`` is one of
    ours; the code is unescaped, then escaped again token by token.
    """

    def coloured(block: re.Match[str]) -> str:
        spans = highlight(html.unescape(block.group(3)), block.group(2))
        return block.group(0) if spans is None else block.group(1) + spans + block.group(4)

    return _BLOCK.sub(coloured, page)


def highlight(code: str, language: str) -> str | None:
    """``code`` as escaped, coloured spans, or None when ``language`` has no lexer."""
    lexer = _lexer(language.strip().lower())
    return None if lexer is None else highlight_tokens(lexer.get_tokens(code))


def highlight_tokens(tokens: Any) -> str:
    """Pygments ``(type, text)`` pairs as escaped, coloured spans (no trailing newline
    added; the text is kept exactly)."""
    parts: list[str] = []
    for kind, value in tokens:
        escaped = html.escape(value)
        style = _style(kind)
        parts.append(f"<span {style}>{escaped}</span>" if style and value.strip() else escaped)
    return "".join(parts)


@cache
def _lexer(language: str) -> Lexer | None:
    if not language:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@cache
def _style(kind: Any) -> str | None:
    for token, name in _KINDS:
        if kind in token:
            return f'class="{name}"'
    return None
