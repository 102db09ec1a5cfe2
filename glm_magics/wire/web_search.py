"""The service's built-in web search: its request options and the sources it returns.

Turning it on adds one ``web_search`` entry to the request's ``tools``; the service
searches, answers from what it found, and (with ``search_result``) lists what it
read in a top-level ``web_search`` array, which the protocol readers turn into
:attr:`~glm_magics.results.ChatResult.sources`::

    >>> SearchOptions(count=5, recency="oneWeek").tool()["web_search"]["count"]
    5

Each request with search costs :data:`SEARCH_COST_USD` on the default service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glm_magics.errors import ParameterError

__all__ = ["RECENCY_FILTERS", "SEARCH_COST_USD", "SearchOptions"]

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
