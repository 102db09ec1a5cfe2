"""The service's built-in web search: its request options and the sources it returns.

Turning it on adds one ``web_search`` entry to the request's ``tools``; the service
searches, answers from what it found, and (with ``search_result``) lists what it
read in a top-level ``web_search`` array, which becomes :attr:`ChatResult.sources`::

    >>> SearchOptions(count=5, recency="oneWeek").tool()["web_search"]["count"]
    5

Each request with search costs :data:`SEARCH_COST_USD` on the default service.
Sources are untrusted text from the web: :func:`sources_html` escapes everything
and only links ``http``/``https`` addresses.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from glm_magics.errors import ParameterError

__all__ = [
    "RECENCY_FILTERS",
    "SEARCH_COST_USD",
    "SearchOptions",
    "WebSource",
    "parse_sources",
    "sources_html",
    "sources_text",
]

SEARCH_COST_USD = 0.033
RECENCY_FILTERS = ("oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit")


@dataclass(frozen=True)
class SearchOptions:
    """How to search: ``count`` results (1-50), a ``domain`` filter, a ``recency``
    filter, a ``prompt`` telling the service how to use the results, and whether
    to return the ``results`` (the sources list) with the answer."""

    count: int | None = None
    domain: str | None = None
    recency: str | None = None
    prompt: str | None = None
    results: bool = True

    def tool(self) -> dict[str, Any]:
        """The ``tools`` entry; raises ParameterError for an option out of range."""
        search: dict[str, Any] = {"enable": True, "search_result": self.results}
        if self.count is not None:
            if isinstance(self.count, bool) or not isinstance(self.count, int):
                raise ParameterError(f"search count must be a whole number, got {self.count!r}")
            if not 1 <= self.count <= 50:
                raise ParameterError(f"search count must be between 1 and 50, got {self.count}")
            search["count"] = self.count
        if self.domain:
            domain = self.domain.strip()
            if not domain or any(c.isspace() for c in domain):
                raise ParameterError(f"search domain must be one domain name, got {self.domain!r}")
            search["search_domain_filter"] = domain
        if self.recency is not None:
            if self.recency not in RECENCY_FILTERS:
                raise ParameterError(
                    f"search recency must be one of {', '.join(RECENCY_FILTERS)}, "
                    f"got {self.recency!r}"
                )
            search["search_recency_filter"] = self.recency
        if self.prompt:
            search["search_prompt"] = self.prompt
        return {"type": "web_search", "web_search": search}


@dataclass(frozen=True)
class WebSource:
    """One page the search used: title, link, and what the service quoted from it."""

    title: str
    link: str
    content: str = ""
    media: str = ""
    publish_date: str = ""
    refer: str = ""

    @classmethod
    def from_payload(cls, item: Mapping[str, Any]) -> WebSource:
        """One entry of the service's ``web_search`` array (missing fields are empty)."""

        def text(name: str) -> str:
            value = item.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            title=text("title"),
            link=text("link"),
            content=text("content"),
            media=text("media"),
            publish_date=text("publish_date"),
            refer=text("refer"),
        )


def parse_sources(value: object) -> list[WebSource]:
    """The sources in a ``web_search`` array; anything else gives ``[]``."""
    if not isinstance(value, list):
        return []
    return [WebSource.from_payload(item) for item in value if isinstance(item, Mapping)]


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
