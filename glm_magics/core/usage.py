"""What this session has used: requests, tokens, web searches and what they cost.

Every request the magics or the control panel send (each round of a tool loop
counts) is recorded; ``%glm usage`` prints the totals::

    requests         4 (1 interrupted)
    tokens in        5,120 (1,024 cached)
    tokens out       2,048 (1,200 reasoning)
    tool calls       3 (2 run, 1 declined)
    web searches     2 x $0.033 = $0.066

Tool calls are the calls the model asked for; "run" counts the functions called,
"declined" the calls that waited for approval and did not get it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from glm_magics.wire.web_search import SEARCH_COST_USD

if TYPE_CHECKING:
    from collections.abc import Iterable

    from glm_magics.results import ChatResult
    from glm_magics.tools import ToolOutcome

__all__ = ["SessionUsage"]


@dataclass
class _Totals:
    requests: int = 0
    interrupted: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    searches: int = 0
    tool_calls: int = 0
    tools_run: int = 0
    tools_declined: int = 0


class SessionUsage:
    """Running totals; thread-safe (the panel records from its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = _Totals()

    def record(self, result: ChatResult, *, searched: bool = False, failed: bool = False) -> None:
        """Count one request and what the service reported for it."""
        usage = result.usage
        with self._lock:
            totals = self._totals
            totals.requests += 1
            totals.interrupted += int(result.interrupted)
            totals.failed += int(failed)
            totals.prompt_tokens += usage.prompt_tokens
            totals.completion_tokens += usage.completion_tokens
            totals.reasoning_tokens += usage.reasoning_tokens
            totals.cached_tokens += usage.cached_tokens
            totals.searches += int(searched)
            totals.tool_calls += len(result.tool_calls)

    def record_tools(self, outcomes: Iterable[ToolOutcome]) -> None:
        """Count the calls of one tool round that ran and that were declined."""
        outcomes = list(outcomes)
        with self._lock:
            self._totals.tools_run += sum(outcome.called for outcome in outcomes)
            self._totals.tools_declined += sum(outcome.declined for outcome in outcomes)

    @property
    def tools_run(self) -> int:
        """Tool calls whose function was called."""
        return self._totals.tools_run

    @property
    def tools_declined(self) -> int:
        """Tool calls that waited for approval and did not get it (not run)."""
        return self._totals.tools_declined

    @property
    def requests(self) -> int:
        """Requests sent so far."""
        return self._totals.requests

    @property
    def searches(self) -> int:
        """Requests sent with web search on."""
        return self._totals.searches

    @property
    def search_cost(self) -> float:
        """What the web searches cost, in US dollars."""
        return self._totals.searches * SEARCH_COST_USD

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._totals = _Totals()

    def report(self) -> str:
        """The totals as aligned lines (``%glm usage``)."""
        with self._lock:
            t = _Totals(**vars(self._totals))
        flags = [
            f"{t.interrupted:,} interrupted" if t.interrupted else "",
            f"{t.failed:,} failed" if t.failed else "",
        ]
        flag_text = ", ".join(f for f in flags if f)
        lines = [
            f"requests         {t.requests:,}" + (f" ({flag_text})" if flag_text else ""),
            f"tokens in        {t.prompt_tokens:,}"
            + (f" ({t.cached_tokens:,} cached)" if t.cached_tokens else ""),
            f"tokens out       {t.completion_tokens:,}"
            + (f" ({t.reasoning_tokens:,} reasoning)" if t.reasoning_tokens else ""),
            f"tool calls       {t.tool_calls:,}"
            + (f" ({t.tools_run:,} run, {t.tools_declined:,} declined)" if t.tool_calls else ""),
            f"web searches     {t.searches:,} x ${SEARCH_COST_USD:.3f} = "
            f"${t.searches * SEARCH_COST_USD:.3f}",
        ]
        return "\n".join(lines)
