"""What a session says besides the answer: notes before it, and the JSON check after.

Before the answer: what was cut or left out (a long value, the oldest turns), what
the web search costs (once a session), and which fields this server would not
understand. After a JSON-mode answer: whether it parses, and what it holds.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from glm_magics.core.reporting import Event, JSONAnswer, Note, Notice, Reporter
from glm_magics.errors import JSONAnswerError
from glm_magics.wire.web_search import SEARCH_COST_USD

if TYPE_CHECKING:
    from glm_magics.core.client import GLMClient
    from glm_magics.core.exchange import Request
    from glm_magics.results import ChatResult

__all__ = ["json_check", "report_before", "turns_left_out"]


def report_before(
    reporter: Reporter,
    client: GLMClient,
    request: Request,
    notes: list[str],
    *,
    first_search: bool,
) -> None:
    """The notes before an answer; ``first_search``: say what the web search costs."""
    if notes:
        reporter.report(Notice("; ".join(notes)))
    preset = client.preset
    searches = preset is None or preset.supports_web_search
    if first_search and searches:
        reporter.report(
            Note(
                f"Web search is on: each request with it costs ${SEARCH_COST_USD} on the "
                "default service (`%glm usage` counts them)."
            )
        )
    dropped = client.ignored_fields(**request.body_params())
    if dropped and preset is not None:
        reporter.report(
            Note(
                f"Not sent to this {preset.name} server, which does not support them: "
                + ", ".join(dropped)
            )
        )


def turns_left_out(dropped: int) -> list[str]:
    """The note for ``dropped`` old turns left out of a request, if any."""
    return [f"{dropped} oldest turn(s) left out to fit the context window"] if dropped else []


def json_check(result: ChatResult) -> list[Event]:
    """Whether a JSON-mode answer parses: the value to show as JSON and what it holds,
    or where it broke."""
    try:
        value = result.json
    except JSONAnswerError as exc:
        return [Note(str(exc), "error")]
    kind = type(value).__name__
    size = f" with {len(value)} entries" if isinstance(value, dict | list) else ""
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    return [
        JSONAnswer(pretty),
        Note(f"Valid JSON ({kind}{size}): the parsed value is result.json."),
    ]
