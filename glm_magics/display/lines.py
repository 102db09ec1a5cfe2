"""The one-line outputs a view draws (notes, tool calls, errors) and the approval block.

Every string here is text from the model or the user, so each is escaped
(:func:`~glm_magics.display.text_forms.line_html`) before it goes into HTML.
"""

from __future__ import annotations

import html

from glm_magics.display.text_forms import line_html

__all__ = [
    "AMBER",
    "INFO_KINDS",
    "MUTED",
    "WARNING",
    "approval_html",
    "approval_text",
    "info_html",
    "line",
]

MUTED = "color:#6b7280;font-size:0.85em"
AMBER = "#b45309"  # warnings, notices, calls waiting for approval
_TOOL = "font-size:0.85em;font-family:monospace"
WARNING = f"color:{AMBER};font-size:0.85em"  # a warning or notice line

INFO_KINDS: dict[str, tuple[str, str, str]] = {
    "info": ("glm-info", MUTED, ""),
    "tool": ("glm-tool", f"color:var(--jp-content-font-color1,#374151);{_TOOL}", "tool call: "),
    "tool-error": ("glm-tool", f"color:{AMBER};{_TOOL}", "tool call: "),
    "tool-declined": ("glm-tool glm-tool-declined", f"color:{AMBER};{_TOOL}", "tool call: "),
}
"""Info kinds: (CSS class, inline style, leading mark)."""


def line(css_class: str, text: str, style: str = MUTED) -> str:
    """One line of ``text``, escaped (backticks become code), in a ``div``."""
    return f'<div class="{css_class}" style="{style}">{line_html(text)}</div>'


def info_html(text: str) -> str:
    """One muted line of ``text`` (escaped), as a view shows its info lines."""
    return line("glm-info", text)


_APPROVAL_HEAD = "A tool call waits for your approval (Run or Skip):"


def approval_html(shown: str, note: str | None) -> str:
    """The call waiting for approval, exactly as it would run, escaped; the note under it."""
    style = f"border-left:3px solid {AMBER};padding-left:0.8em;font-size:0.9em"
    parts = [
        f'<div class="glm-approval" style="{style}">',
        f'<div style="color:{AMBER}">{html.escape(_APPROVAL_HEAD)}</div>',
        f'<pre class="glm-approval-call"><code>{html.escape(shown)}</code></pre>',
    ]
    if note:
        parts.append(line("glm-approval-note", note, f"color:{AMBER}"))
    parts.append("</div>")
    return "".join(parts)


def approval_text(shown: str, note: str | None) -> str:
    """:func:`approval_html` as plain text, for a terminal and text readers."""
    return "\n".join(part for part in (_APPROVAL_HEAD, shown, note) if part)
