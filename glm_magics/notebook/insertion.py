"""Putting generated code into the notebook as new, unexecuted cells.

Two mechanisms, chosen automatically:

1. the package's JupyterLab / Notebook 7 extension, over the ``glm_magics`` comm
   (:mod:`glm_magics.notebook.bridge`): one new cell per block, directly below the cell that
   asked, marked in its metadata; works from widget callbacks too;
2. otherwise IPython's ``set_next_input`` payload, which every frontend
   understands: one cell, so the blocks are joined into it. That payload travels
   only with the reply to a cell run, so from a widget callback (a panel button)
   nothing is inserted: the joined code comes back in :attr:`Insertion.copy` for
   the caller to show, ready to copy, with a line saying why.

Code is never executed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glm_magics.display.code_blocks import CodeBlock, generated_header
from glm_magics.notebook.bridge import Bridge, generated_metadata

__all__ = ["Insertion", "insert_code"]

_NO_EXTENSION = (
    "The glm-magics notebook extension is not active in this frontend, so a button "
    "cannot add cells: copy the code from the box below into a new cell."
)


@dataclass(frozen=True)
class Insertion:
    """What was inserted: how many blocks, into how many cells, and the message to show.

    ``copy``: the code the user has to paste themselves (a widget without the extension).
    """

    blocks: int
    cells: int
    message: str
    copy: str | None = None


def insert_code(
    shell: Any,
    blocks: list[CodeBlock],
    *,
    model: str,
    language: str,
    header: str,
    bridge: Bridge | None = None,
    anchor: str | None = None,
    from_widget: bool = False,
) -> Insertion:
    """Insert ``blocks`` below the cell ``anchor``; say what happened in one line.

    ``from_widget``: called from a widget callback, where ``set_next_input`` cannot
    reach the notebook; the fallback then displays the code to copy.
    """
    if not blocks:
        return Insertion(0, 0, f"The answer has no {language} code block, so no cell was inserted.")
    first_line = generated_header(header, model, language) if header else ""
    sources = [(f"{first_line}\n" if first_line else "") + b.code.rstrip("\n") for b in blocks]
    if bridge is not None and bridge.insert_cells(anchor, sources, generated_metadata(model)):
        count = len(blocks)
        cells = f"{count} new cells" if count > 1 else "1 new cell"
        return Insertion(count, count, f"Inserted {cells} below: review before running.")
    body = "\n\n".join(block.code.rstrip("\n") for block in blocks)
    code = f"{first_line}\n{body}" if first_line else body
    if from_widget:
        return Insertion(len(blocks), 0, _NO_EXTENSION, copy=code)
    shell.set_next_input(code, replace=False)
    count_text = f"{len(blocks)} code blocks" if len(blocks) > 1 else "1 code block"
    return Insertion(
        len(blocks),
        1,
        f"Inserted {count_text} into a new cell below: review it before running.",
    )
