"""%%glm in Notebook 7, in Chromium: the streamed answer ends up as it does in JupyterLab."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.notebook_page import OpenNotebook, ask_in_panel
from tests.browser.scenarios import (
    CODE_BLOCKS,
    CODE_REPLY,
    STREAMING_REASONING,
    STREAMING_TEXT,
    setup_cell,
)
from tests.browser.test_lab import ASK, check_inserted

pytestmark = pytest.mark.browser


def test_streamed_answer_and_status_show(open_in_notebook7: OpenNotebook) -> None:
    setup = setup_cell(
        reasoning=STREAMING_REASONING, text=STREAMING_TEXT, ttft=1.0, tokens_per_second=40
    )
    nb = open_in_notebook7("streaming.ipynb", [setup, "%%glm\nHow should I clean my sales table?"])
    nb.run(0)
    nb.run(1)

    final = nb.final_output(1)
    cell = nb.cell(1)
    expect(cell.locator(".glm-answer").first).to_contain_text("Cleaning the sales table")
    expect(cell.locator(".glm-answer").last).to_contain_text("you trust the table for analysis.")
    expect(cell.locator(".glm-status")).to_be_visible()
    expect(cell.locator(".glm-status")).to_contain_text("finish: stop")
    assert final.details == "closed" and not final.reasoning and not final.error, final
    assert not final.waiting, final


def test_code_blocks_go_into_new_cells_in_notebook7(open_in_notebook7: OpenNotebook) -> None:
    nb = open_in_notebook7(
        "code.ipynb", [setup_cell(text=CODE_REPLY), "%%glm --code\nSum the sales"]
    )
    nb.run(0)
    nb.run(ASK)
    final = nb.final_output(ASK)
    assert final.status and not final.error, final
    check_inserted(nb, [block.rstrip("\n") for block in CODE_BLOCKS])  # one cell per block


def test_the_panel_streams_in_notebook7(open_in_notebook7: OpenNotebook) -> None:
    setup = setup_cell(reasoning=STREAMING_REASONING, text=STREAMING_TEXT, tokens_per_second=80)
    nb = open_in_notebook7("panel.ipynb", [setup, "%glm panel"])
    nb.run(0)
    nb.run(1)
    panel = nb.cell(1).locator(".glm-panel")
    expect(panel).to_be_visible(timeout=30_000)
    ask_in_panel(panel, "How should I clean my sales table?")  # Shift+Enter works here too
    expect(panel.locator(".glm-answer").last).to_contain_text("you trust the table for analysis.")
    expect(panel.locator(".glm-panel-prompt textarea")).to_have_value("")
