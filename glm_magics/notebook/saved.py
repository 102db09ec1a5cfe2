"""A saved notebook's answers, one output each, whatever the pace they streamed at.

A streamed answer is shown as a column of displays (finished blocks close into
displays of their own, see :mod:`~glm_magics.display.markdown_column`), and how many
depends on how fast the text arrived; displays emptied at the end stay behind as
empty outputs. :func:`coalesce_answers` joins each run of answer (or reasoning)
pieces into one output and drops the empty ones, which changes nothing a reader
sees and makes the saved outputs the same on every run: ``python -m glm_magics
record`` saves notebooks so, and pytest-notebook applies it to a fresh run as the
``glm_answers`` post-processor (``NBRegressionFixture(post_processors=(...,
"glm_answers"))``), as its own ``coalesce_streams`` does for printed text.
"""

from __future__ import annotations

import copy
from typing import Any

from glm_magics.display.notebook_view import ANSWER_OPEN, REASONING_OPEN

__all__ = ["coalesce_answers", "coalesce_outputs"]

_CLOSE = "</div>"


def coalesce_answers(notebook: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A copy of ``notebook`` with every code cell's outputs coalesced (see the module)."""
    joined = copy.deepcopy(notebook)
    for cell in joined.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = coalesce_outputs(cell.get("outputs", []))
    return joined, resources


def coalesce_outputs(outputs: list[Any]) -> list[Any]:
    """``outputs`` with empty displays dropped and consecutive answer pieces joined."""
    kept: list[Any] = []
    for output in outputs:
        if output.get("output_type") != "display_data":
            kept.append(output)
            continue
        data = output.get("data", {})
        if not any(_text(value) for value in data.values()):
            continue  # a display emptied when the answer finished: nothing to see
        opening = _piece_of(output)
        previous = _piece_of(kept[-1]) if kept else None
        if opening is not None and opening == previous:
            html = _text(kept[-1]["data"]["text/html"])[: -len(_CLOSE)]
            kept[-1]["data"]["text/html"] = html + _text(data["text/html"])[len(opening) :]
            continue
        kept.append(output)
    return kept


def _piece_of(output: Any) -> str | None:
    """How ``output`` opens when it is a bare piece of an answer or of reasoning."""
    if output.get("output_type") != "display_data" or output.get("metadata"):
        return None
    data = output.get("data", {})
    if set(data) - {"text/html", "text/plain"} or _text(data.get("text/plain", "")):
        return None
    html = _text(data.get("text/html", ""))
    for opening in (ANSWER_OPEN, REASONING_OPEN):
        if html.startswith(opening) and html.endswith(_CLOSE):
            return opening
    return None


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
