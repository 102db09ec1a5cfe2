"""The web search's sources under an answer, as escaped HTML or as plain text.

Sources are untrusted text from the web: :func:`sources_html` escapes everything and
only links ``http``/``https`` addresses (``javascript:`` and friends stay text).
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from glm_magics.results import WebSource

__all__ = ["sources_html", "sources_text"]


def _safe_link(link: str) -> str | None:
    try:
        parts = urlsplit(link)
    except ValueError:  # e.g. "http://[bad": shown as text
        return None
    return link if parts.scheme in ("http", "https") and parts.netloc else None


def sources_html(sources: list[WebSource]) -> str:
    """A numbered list of the sources (escaped; only http(s) links are clickable)."""
    if not sources:
        return ""
    items = []
    for source in sources:
        title = html.escape(source.title or source.link or "untitled")
        link = _safe_link(source.link)
        label = (
            f'<a href="{html.escape(link, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{title}</a>'
            if link
            else title
        )
        where = " · ".join(part for part in (source.media, source.publish_date) if part)
        extra = f' <span style="color:#6b7280">({html.escape(where)})</span>' if where else ""
        items.append(f"<li>{label}{extra}</li>")
    return (
        '<div class="glm-sources" style="font-size:0.9em"><b>Sources</b>'
        f'<ol style="margin-top:0.2em">{"".join(items)}</ol></div>'
    )


def sources_text(sources: list[WebSource]) -> str:
    """The sources as numbered plain-text lines (terminal display)."""
    lines = ["Sources:"] if sources else []
    for number, source in enumerate(sources, 1):
        lines.append(f"  [{number}] {source.title or 'untitled'} <{source.link}>")
    return "\n".join(lines)
