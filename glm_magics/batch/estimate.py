"""What a batch would cost before it runs: ``map_rows(..., dry_run=True)``.

Nothing is sent. Prompt tokens are estimated from the rows' prompts (the heuristic in
:mod:`glm_magics.tokens`); the answer's tokens cannot be known, so an assumption is
made and stated. The time is what the rate limits allow, whichever is slower: the
requests per minute, or the tokens per minute.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """A batch's size and cost, estimated; shown as a small table in a notebook."""

    rows: int
    """Rows in the frame."""
    stored: int
    """Rows already answered in the store (not sent again)."""
    requests: int
    """Requests the rest needs (fewer with ``rows_per_request``)."""
    prompt_tokens: int
    output_tokens: int
    output_assumption: str
    """How ``output_tokens`` was assumed, in words."""
    minutes: float | None
    """At the limits in force; ``None`` when no limit is known."""
    limits: str
    """The limits the minutes are computed at, in words."""
    search_cost: float | None = None
    """US dollars for the web search, when it is on."""

    def lines(self) -> list[tuple[str, str]]:
        """The figures as ``(label, value)`` pairs."""
        rows = f"{self.rows:,}" + (
            f" ({self.stored:,} already in the store)" if self.stored else ""
        )
        minutes = (
            "unknown: no rate limit is known"
            if self.minutes is None
            else f"{self.minutes:,.1f} at {self.limits}"
        )
        shown = [
            ("rows", rows),
            ("requests", f"{self.requests:,}"),
            ("prompt tokens", f"~{self.prompt_tokens:,}"),
            ("output tokens", f"~{self.output_tokens:,} ({self.output_assumption})"),
            ("minutes", minutes),
        ]
        if self.search_cost is not None:
            shown.append(("web search", f"${self.search_cost:,.2f}"))
        return shown

    def __str__(self) -> str:
        return "\n".join(f"{label:<15}{value}" for label, value in self.lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
            for label, value in self.lines()
        )
        return f'<table class="glm-estimate"><caption>map_rows dry run</caption>{rows}</table>'
