"""A JSON answer shown as JSON: pretty-printed, coloured by token, in the theme's colours.

JSON mode asks the model for one object; once it parses, the live view shows it as a
code block instead of prose, coloured like every code block
(:mod:`~glm_magics.display.highlight`), so nothing of the answer is ever markup::

    json_html('{"a": 1}')   # '<pre class="glm-json" ...><code ...><span class=...'
"""

from __future__ import annotations

from pygments.lexers.data import JsonLexer  # type: ignore[import-untyped]

from glm_magics.display.highlight import highlight_tokens
from glm_magics.display.markdown import CODE_STYLE, PRE_STYLE

__all__ = ["json_html"]


def json_html(text: str) -> str:
    """``text`` (JSON) as one escaped, coloured ``<pre>`` block."""
    body = highlight_tokens(JsonLexer().get_tokens(text)).rstrip("\n")
    return (
        f'<pre class="glm-json" style="{PRE_STYLE}"><code style="{CODE_STYLE}">{body}</code></pre>'
    )
