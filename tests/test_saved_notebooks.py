"""Saved answers without their emptied live displays (`glm_answers`), however they streamed."""

from __future__ import annotations

from typing import Any

import nbformat

from glm_magics.display.notebook_view import ANSWER_OPEN
from glm_magics.notebook.saved import settle_answers, settled_outputs


def display(html: str, plain: str = "", **metadata: Any) -> Any:
    data = {"text/html": html, **({"text/plain": plain} if plain else {})}
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata)


def answer(body: str, text: str) -> Any:
    return display(f"{ANSWER_OPEN}{body}</div>", text)


def test_emptied_displays_go_however_many_the_stream_used() -> None:
    status = display("<div>status</div>", "status", glm={"source": "replayed"})
    whole = answer("<p>One</p><p>Two</p>", "One\n\nTwo")
    fast = [display(""), display(""), whole, status]
    slow = [display(""), display(""), display(""), display(""), whole, status]
    assert settled_outputs(fast) == settled_outputs(slow) == [whole, status]


def test_everything_else_stays_as_it_is() -> None:
    printed = nbformat.v4.new_output("stream", name="stdout", text="")
    plain_only = display("", "shown as text")
    outputs = [answer("<p>a</p>", "a"), printed, plain_only, answer("<p>b</p>", "b")]
    assert settled_outputs(outputs) == outputs


def test_a_notebook_is_copied_not_changed() -> None:
    cell = nbformat.v4.new_code_cell("%%glm\nHi", outputs=[display(""), answer("<p>a</p>", "a")])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    settled, resources = settle_answers(notebook, {"kept": True})
    assert settled.cells[0].outputs == [answer("<p>a</p>", "a")]
    assert len(notebook.cells[0].outputs) == 2 and resources == {"kept": True}
