"""Saved answers as one output each (`glm_answers`): however the stream was split."""

from __future__ import annotations

from typing import Any

import nbformat

from glm_magics.display.notebook_view import ANSWER_OPEN, REASONING_OPEN
from glm_magics.notebook.saved import coalesce_answers, coalesce_outputs


def display(html: str, plain: str = "", **metadata: Any) -> Any:
    data = {"text/html": html, **({"text/plain": plain} if plain else {})}
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata)


def answer(body: str) -> Any:
    return display(f"{ANSWER_OPEN}{body}</div>")


def test_answer_pieces_join_and_empty_displays_go() -> None:
    status = display("<div>status</div>", "status", glm={"source": "replayed"})
    fast = [display(""), answer("<p>One</p><p>Two</p><p>Three</p>"), status]
    slow = [
        display(""),
        answer("<p>One</p>"),
        answer("<p>Two</p>"),
        answer("<p>Three</p>"),
        display(""),
        status,
    ]
    assert coalesce_outputs(fast) == coalesce_outputs(slow) == fast[1:]


def test_only_bare_pieces_of_the_same_kind_join() -> None:
    reasoning = display(f"{REASONING_OPEN}<p>think</p></div>")
    printed = nbformat.v4.new_output("stream", name="stdout", text="hi\n")
    with_plain = display(f"{ANSWER_OPEN}<p>b</p></div>", "b")
    outputs = [reasoning, answer("<p>a</p>"), printed, answer("<p>c</p>"), with_plain]
    assert coalesce_outputs(outputs) == outputs


def test_a_notebook_is_copied_not_changed() -> None:
    cell = nbformat.v4.new_code_cell("%%glm\nHi", outputs=[answer("<p>a</p>"), answer("<p>b</p>")])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    joined, resources = coalesce_answers(notebook, {"kept": True})
    assert joined.cells[0].outputs == [answer("<p>a</p><p>b</p>")]
    assert len(notebook.cells[0].outputs) == 2 and resources == {"kept": True}
