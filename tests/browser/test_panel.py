"""The control panel (``%glm panel``) in JupyterLab, in Chromium.

One notebook, kept open for the module: a setup cell (the local GLM server inside
the kernel, with three replies queued), a side cell that takes a while, and the
panel. The tests run in file order: stream, stop, insert code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Locator, expect

from tests.browser.jupyter_server import JupyterServer
from tests.browser.notebook_page import (
    NotebookPage,
    OutputState,
    notebook_session,
    save_screenshot,
)
from tests.browser.scenarios import (
    CODE_BLOCKS,
    CODE_REPLY,
    STREAMING_REASONING,
    STREAMING_TEXT,
)
from tests.browser.test_lab import check_inserted, distinct

pytestmark = pytest.mark.browser

SIDE, PANEL = 1, 2
LONG_TEXT = "Counting slowly: " + " ".join(f"word{n}" for n in range(1500))

SETUP = f"""\
%load_ext glm_magics
from glm_magics.testing import LocalGLMServer, Reply
server = LocalGLMServer().start()
server.queue(
    Reply(reasoning={STREAMING_REASONING!r}, text={STREAMING_TEXT!r}, ttft=0.5,
          tokens_per_second=40),
    Reply(text={LONG_TEXT!r}, tokens_per_second=20),
    Reply(text={CODE_REPLY!r}),
)
%glm config base_url={{server.base_url}}"""

SIDE_CELL = "import time\ntime.sleep(2)\nside = 'side cell done'\nprint(side)"


@pytest.fixture(scope="module")
def panel_nb(browser_context: BrowserContext, lab_server: JupyterServer) -> Iterator[NotebookPage]:
    tab = browser_context.new_page()
    with notebook_session(tab, lab_server, screenshot="test_panel-end") as open_notebook:
        nb = open_notebook("panel.ipynb", [SETUP, SIDE_CELL, "%glm panel"])
        nb.run(0)
        nb.run(PANEL)
        yield nb


def panel(nb: NotebookPage) -> Locator:
    return nb.cell(PANEL).locator(".glm-panel")


def button(nb: NotebookPage, label: str) -> Locator:
    return panel(nb).locator("button", has_text=label)


def ask_by_keyboard(nb: NotebookPage, question: str) -> None:
    box = panel(nb).locator(".glm-panel-prompt textarea")
    box.fill(question)
    box.press("Shift+Enter")


def wait_until(nb: NotebookPage, test: str, timeout: float = 30.0) -> OutputState:
    """Sample the panel's output every 100 ms until ``test`` (status/answer) holds."""
    deadline = time.monotonic() + timeout
    while True:
        state = nb.output_state(PANEL)
        if (test == "answer" and state.answer) or (test == "finished" and state.finished):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the panel never showed its {test}: {state}")
        nb.page.wait_for_timeout(100)


def test_the_panel_renders_with_its_controls(panel_nb: NotebookPage) -> None:
    expect(panel(panel_nb)).to_be_visible(timeout=30_000)
    for label in ("Send", "Stop", "Insert code"):
        expect(button(panel_nb, label)).to_be_visible()
    expect(button(panel_nb, "Stop")).to_be_disabled()
    for title in ("Settings", "DataFrame context", "Conversation"):
        expect(panel(panel_nb).get_by_text(title, exact=True)).to_be_visible()
    save_screenshot(panel_nb.page, "test_panel-rendered")


def test_send_streams_while_another_cell_runs(panel_nb: NotebookPage) -> None:
    nb = panel_nb
    ask_by_keyboard(nb, "How should I clean my sales table?")  # Shift+Enter sends
    expect(button(nb, "Send")).to_be_disabled()
    states = [wait_until(nb, "answer")]

    nb.start(SIDE)  # the kernel runs a 2-second cell while the panel streams
    while not nb.prompt(SIDE)[1:-2].isdigit():
        states.append(nb.output_state(PANEL))
        nb.page.wait_for_timeout(150)
    during_side = [s for s in states[1:] if s.answer]
    expect(nb.cell(SIDE).locator(".jp-OutputArea")).to_contain_text("side cell done")
    assert not nb.output_state(PANEL).finished, "the answer ended before the side cell"
    save_screenshot(nb.page, "test_panel-streaming")

    while not states[-1].finished:
        nb.page.wait_for_timeout(150)
        states.append(nb.output_state(PANEL))
    final = states[-1]
    answers = distinct([s.answer for s in states])
    assert len(answers) >= 4, f"the answer grew through only {len(answers)} states"
    assert [len(a) for a in answers] == sorted(len(a) for a in answers)
    assert len(distinct([s.answer for s in during_side])) >= 2, "no redraw during the cell"
    assert "you trust the table for analysis." in final.answer
    assert final.details == "closed" and "finish: stop" in final.status, final
    assert "first token" in final.status and "tok/s" in final.status
    expect(button(nb, "Send")).to_be_enabled()
    assert "side cell done" not in nb.cell(PANEL).inner_text()


def test_stop_ends_a_slow_stream(panel_nb: NotebookPage) -> None:
    nb = panel_nb
    box = panel(nb).locator(".glm-panel-prompt textarea")
    box.fill("Count slowly")
    button(nb, "Send").click()
    deadline = time.monotonic() + 30
    while "word20" not in nb.output_state(PANEL).answer:
        assert time.monotonic() < deadline, "the slow answer never got going"
        nb.page.wait_for_timeout(100)
    button(nb, "Stop").click()
    clicked = time.monotonic()
    final = wait_until(nb, "finished")
    print(f"Stop click to status line in the page: {time.monotonic() - clicked:.2f} s")
    assert "finish: interrupted" in final.status, final
    stopped = panel(nb).locator(".glm-warning")  # said once, under the partial answer
    expect(stopped).to_have_text("⚠ Stopped: the answer above is partial.")
    expect(panel(nb).get_by_text("Stopped", exact=False)).to_have_count(1)
    nb.page.wait_for_timeout(1000)
    assert nb.output_state(PANEL).answer == final.answer, "the answer grew after Stop"
    assert "word1499" not in final.answer
    expect(button(nb, "Send")).to_be_enabled()
    expect(button(nb, "Stop")).to_be_disabled()
    expect(box).to_have_value("Count slowly")  # not answered: the question stays
    save_screenshot(nb.page, "test_panel-stopped")


def test_insert_code_adds_cells_below_the_panel(panel_nb: NotebookPage) -> None:
    nb = panel_nb
    ask_by_keyboard(nb, "Sum the sales, in code")
    deadline = time.monotonic() + 30
    while "finish: stop" not in nb.output_state(PANEL).status:
        assert time.monotonic() < deadline, "the code answer never finished"
        nb.page.wait_for_timeout(100)
    expect(button(nb, "Insert code")).to_be_enabled()
    button(nb, "Insert code").click()
    expect(panel(nb).locator(".glm-panel-message")).to_contain_text("Inserted 3 new cells")
    check_inserted(nb, [block.rstrip("\n") for block in CODE_BLOCKS], ask=PANEL)
    save_screenshot(nb.page, "test_panel-inserted")
