"""A JSON answer shown as JSON: pretty-printed, coloured by token, in the theme's colours.

JSON mode asks the model for one object; once it parses, the live view shows it as a
code block instead of prose. Pygments (which comes with IPython) splits the text into
tokens; each is escaped and coloured with JupyterLab's own editor colours (CSS
variables, with light-theme fallbacks), so it reads in light and dark themes, and
nothing of the answer is ever markup::

    json_html('{"a": 1}')   # '<pre class="glm-json" ...><code><span style=...'
"""

from __future__ import annotations

import html
from typing import Any

from pygments.lexers.data import JsonLexer  # type: ignore[import-untyped]
from pygments.token import Keyword, Name, Number, String  # type: ignore[import-untyped]

__all__ = ["json_html"]

_COLOURS: tuple[tuple[Any, str], ...] = (
    (Name.Tag, "var(--jp-mirror-editor-property-color, #05a)"),  # object keys
    (String, "var(--jp-mirror-editor-string-color, #a11)"),
    (Number, "var(--jp-mirror-editor-number-color, #080)"),
    (Keyword, "var(--jp-mirror-editor-keyword-color, #708)"),  # true, false, null
)
_BLOCK_STYLE = (
    "background:var(--jp-cell-editor-background, #f5f5f5);padding:0.6em 0.8em;"
    "border-radius:4px;overflow-x:auto;font-family:var(--jp-code-font-family, monospace);"
    "font-size:var(--jp-code-font-size, 0.9em);line-height:1.4"
)


def json_html(text: str) -> str:
    """``text`` (JSON) as one escaped, coloured ``<pre>`` block."""
    parts: list[str] = []
    for kind, value in JsonLexer().get_tokens(text):
        escaped = html.escape(value)
        colour = _colour(kind)
        parts.append(f'<span style="color:{colour}">{escaped}</span>' if colour else escaped)
    body = "".join(parts).rstrip("\n")
    return f'<pre class="glm-json" style="{_BLOCK_STYLE}"><code>{body}</code></pre>'


def _colour(kind: Any) -> str | None:
    for token, colour in _COLOURS:
        if kind in token:
            return colour
    return None
