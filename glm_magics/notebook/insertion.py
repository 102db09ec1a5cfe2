"""Putting generated code into the notebook as new, unexecuted cells.

Three mechanisms, chosen automatically:

1. in a cell run from a notebook page where the package's JupyterLab / Notebook 7
   extension listens (its tag is on the execute request, see
   :func:`~glm_magics.notebook.bridge.current_requester`), the cells travel as an
   output of the asking cell: a display whose ``application/vnd.glm-magics.insert+json``
   entry lists them, beside a one-line ``text/plain`` and ``text/html``. The page that
   ran the cell inserts them directly below it, one cell per block, once: the output
   names that page's connection, so another tab, a re-opened notebook or a later
   reload never inserts them again;
2. from a widget callback (the control panel), the ``glm_magics`` comm
   (:mod:`glm_magics.notebook.bridge`), when a frontend said it is ready;
3. otherwise IPython's ``set_next_input`` payload, which every frontend
   understands: one cell, so the blocks are joined into it. That payload travels
   only with the reply to a cell run, so from a widget callback nothing is
   inserted: the joined code comes back in :attr:`Insertion.copy` for the caller to
   show, ready to copy, with a line saying why.

Code is never executed here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glm_magics.display.code_blocks import CodeBlock, generated_header
from glm_magics.display.lines import info_html
from glm_magics.notebook.bridge import PROTOCOL_VERSION, Bridge, Requester, generated_metadata

__all__ = ["INSERT_MIME", "Insertion", "insert_code"]

INSERT_MIME = "application/vnd.glm-magics.insert+json"
"""The MIME type of the output that carries cells for the notebook extension to insert."""

_NO_EXTENSION = (
    "The glm-magics notebook extension is not active in this frontend, so a button "
    "cannot add cells: copy the code from the box below into a new cell."
)

Publish = Callable[[dict[str, Any]], None]
"""Shows a MIME bundle as an output of the running cell."""


@dataclass(frozen=True)
class Insertion:
    """What was inserted: how many blocks, into how many cells, and the message to show.

    ``copy``: the code the user has to paste themselves (a widget without the extension).
    ``shown``: the message is already in the cell's output (it carried the cells).
    """

    blocks: int
    cells: int
    message: str
    copy: str | None = None
    shown: bool = False


def _publish(bundle: dict[str, Any]) -> None:
    from IPython.display import display

    display(bundle, raw=True)  # type: ignore[no-untyped-call]


def _cells_text(count: int) -> str:
    return f"{count} new cells" if count > 1 else "1 new cell"


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
    requester: Requester | None = None,
    publish: Publish = _publish,
) -> Insertion:
    """Insert ``blocks`` below the asking cell (or the cell ``anchor``); say so in one line.

    ``requester``: the tagged notebook page running the cell, if any: the cells then
    travel in an output shown through ``publish``; without one, ``set_next_input``.
    ``from_widget``: called from a widget callback, which goes through ``bridge`` to
    the cell ``anchor``; without a ready frontend the code comes back to copy.
    """
    if not blocks:
        return Insertion(0, 0, f"The answer has no {language} code block, so no cell was inserted.")
    first_line = generated_header(header, model, language) if header else ""
    sources = [(f"{first_line}\n" if first_line else "") + b.code.rstrip("\n") for b in blocks]
    count = len(blocks)
    message = f"Inserted {_cells_text(count)} below: review before running."
    if from_widget:
        if bridge is not None and bridge.insert_cells(anchor, sources, generated_metadata(model)):
            return Insertion(count, count, message)
        return Insertion(count, 0, _NO_EXTENSION, copy=_joined(blocks, first_line))
    if requester is not None:
        metadata = generated_metadata(model)
        carried = {
            "version": PROTOCOL_VERSION,
            "id": uuid.uuid4().hex,
            "client": requester.client,
            "cells": [{"source": source, "metadata": metadata} for source in sources],
        }
        publish({INSERT_MIME: carried, "text/plain": message, "text/html": info_html(message)})
        return Insertion(count, count, message, shown=True)
    shell.set_next_input(_joined(blocks, first_line), replace=False)
    count_text = f"{count} code blocks" if count > 1 else "1 code block"
    if getattr(shell, "kernel", None) is None:  # a terminal: the next prompt is pre-filled
        return Insertion(count, 1, f"Put {count_text} in the next prompt: review before running.")
    return Insertion(
        count,
        1,
        f"Inserted {count_text} into a new cell below: review it before running.",
    )


def _joined(blocks: list[CodeBlock], first_line: str) -> str:
    body = "\n\n".join(block.code.rstrip("\n") for block in blocks)
    return f"{first_line}\n{body}" if first_line else body
