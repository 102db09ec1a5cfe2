"""A saved notebook's answers without the live displays they streamed through.

A streamed answer is shown live as a column of displays (finished blocks close into
displays of their own, see :mod:`~glm_magics.display.markdown_column`), how many
depending on how fast the text arrived. When the answer is done they are emptied and
one output holds the whole answer (HTML, markdown and text), but the emptied displays
stay behind in the saved notebook. :func:`settle_answers` drops them, which changes
nothing a reader sees and makes the saved outputs the same on every run: ``python -m
glm_magics record`` saves notebooks so, and pytest-notebook applies it to a fresh run
as the ``glm_answers`` post-processor (``NBRegressionFixture(post_processors=(...,
"glm_answers"))``), as its own ``coalesce_streams`` does for printed text.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["settle_answers", "settled_outputs"]


def settle_answers(notebook: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A copy of ``notebook`` with every code cell's emptied displays dropped."""
    settled = copy.deepcopy(notebook)
    for cell in settled.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = settled_outputs(cell.get("outputs", []))
    return settled, resources


def settled_outputs(outputs: list[Any]) -> list[Any]:
    """``outputs`` without the displays that show nothing (every representation empty)."""
    return [
        output
        for output in outputs
        if output.get("output_type") != "display_data"
        or any(_text(value) for value in output.get("data", {}).values())
    ]


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
