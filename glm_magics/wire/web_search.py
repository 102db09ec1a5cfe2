"""The service's built-in web search: its request options and the sources it returns.

Two request forms say the same: the hosted service documents top-level fields
(``tool_web_search: true`` with ``search_result``, ``search_prompt``, ``count``,
``search_domain_filter``, ``search_recency_filter``: :meth:`SearchOptions.fields`),
Z.ai's own API a ``web_search`` entry in ``tools`` (:meth:`SearchOptions.tool`). A
request is written in Z.ai's form and :func:`hosted_form` moves it to the fields
for every server but Z.ai's (its preset says which). The service searches, answers
from what it found, and (with ``search_result``) lists what it read in a top-level
``web_search`` array, which the protocol readers turn into
:attr:`~glm_magics.results.ChatResult.sources`::

    >>> SearchOptions(count=5, recency="oneWeek").fields()["count"]
    5

Each request with search costs :data:`SEARCH_COST_USD` on the default service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glm_magics.errors import ParameterError

__all__ = ["RECENCY_FILTERS", "SEARCH_COST_USD", "TOGGLE", "SearchOptions", "hosted_form"]

SEARCH_COST_USD = 0.033
RECENCY_FILTERS = ("oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit")
TOGGLE = "tool_web_search"
"""The hosted service's top-level field that turns the search on."""


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
        """Z.ai's form, a ``tools`` entry; raises ParameterError for an option out of range."""
        return {"type": "web_search", "web_search": {"enable": True, **self.options()}}

    def fields(self) -> dict[str, Any]:
        """The hosted service's form, top-level request fields (``tool_web_search``...)."""
        return {TOGGLE: True, **self.options()}

    def options(self) -> dict[str, Any]:
        """The options both forms share, checked (ParameterError for one out of range)."""
        search: dict[str, Any] = {"search_result": self.results}
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
        return search


def hosted_form(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with a ``web_search`` tools entry (Z.ai's form) moved to the top-level
    fields the hosted service documents; ``tool_choice`` goes when no tool is left."""
    tools = params.get("tools")
    if not isinstance(tools, list | tuple):
        return dict(params)
    searches = [tool for tool in tools if _is_search(tool)]
    if not searches:
        return dict(params)
    moved = {key: value for key, value in params.items() if key != "tools"}
    options = searches[-1].get("web_search") or {}
    moved.update({TOGGLE: True, **{k: v for k, v in options.items() if k != "enable"}})
    kept = [tool for tool in tools if not _is_search(tool)]
    if kept:
        moved["tools"] = kept
    else:
        moved.pop("tool_choice", None)
    return moved


def _is_search(tool: object) -> bool:
    return isinstance(tool, Mapping) and tool.get("type") == "web_search"
