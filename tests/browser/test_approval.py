"""Tool calls that wait for approval, in a browser: the kernel's input request in
JupyterLab and Notebook 7, and the control panel's Approve / Deny buttons."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.notebook_page import NotebookPage, OpenNotebook, save_screenshot
from tests.test_approval_frontends import SETUP

pytestmark = pytest.mark.browser

ASK, CHECK = 1, 2


def _answer_at_the_input_request(nb: NotebookPage, answer: str) -> Locator:
    nb.start(ASK)
    output = nb.cell(ASK)
    field = output.locator(".jp-Stdin-input")
    expect(field).to_be_visible(timeout=30_000)
    prompt = output.locator(".jp-Stdin-prompt")
    expect(prompt).to_contain_text("Run drop_table? Type run or skip")
    block = output.locator(".glm-approval")
    expect(block).to_contain_text("A tool call waits for your approval")
    expect(block.locator("pre")).to_have_text("drop_table(\n    name='example',\n)")
    save_screenshot(nb.page, f"approval-input-{nb.server.app}-{answer}")
    field.fill(answer)
    field.press("Enter")
    nb.wait_finished(ASK)
    return output


@pytest.mark.parametrize("answer", ["run", "skip"])
def test_the_input_request_in_jupyterlab(open_in_lab: OpenNotebook, answer: str) -> None:
    nb = open_in_lab(f"approve-{answer}.ipynb", [SETUP, "%%glm\nTidy up.", "print(dropped)"])
    nb.run(0)
    output = _answer_at_the_input_request(nb, answer)
    line = output.locator(".glm-tool")
    if answer == "run":
        expect(line).to_contain_text("drop_table(name='example') → dropped example")
    else:
        expect(line).to_contain_text("not run: you declined it")
    expect(output.locator(".glm-approval")).to_have_count(0)  # the line took its place
    expect(output.locator(".glm-status").last).to_contain_text("finish: stop")
    nb.run(CHECK)
    expected = "['example']" if answer == "run" else "[]"
    expect(nb.cell(CHECK).locator(".jp-OutputArea-output")).to_have_text(expected)


def test_the_input_request_in_notebook7(open_in_notebook7: OpenNotebook) -> None:
    nb = open_in_notebook7("approve7.ipynb", [SETUP, "%%glm\nTidy up.", "print(dropped)"])
    nb.run(0)
    output = _answer_at_the_input_request(nb, "run")
    expect(output.locator(".glm-tool")).to_contain_text("→ dropped example")
    nb.run(CHECK)
    expect(nb.cell(CHECK).locator(".jp-OutputArea-output")).to_have_text("['example']")


def _ask_in_panel(panel: Locator, question: str) -> Locator:
    box = panel.locator(".glm-panel-prompt textarea")
    box.fill(question)
    box.press("Shift+Enter")
    approve = panel.locator(".glm-panel-approve")
    expect(approve).to_be_visible(timeout=30_000)
    expect(panel.locator(".glm-panel-approval")).to_contain_text("Run drop_table as shown above?")
    expect(panel.locator(".glm-approval pre")).to_have_text("drop_table(\n    name='example',\n)")
    return approve


def test_the_panel_approve_and_deny_buttons(open_in_lab: OpenNotebook) -> None:
    nb = open_in_lab("approve-panel.ipynb", [SETUP, "%glm panel", "print(dropped)"])
    nb.run(0)
    nb.run(1)
    panel = nb.cell(1).locator(".glm-panel")
    approve = _ask_in_panel(panel, "Tidy up.")
    nb.run(CHECK)  # the kernel is free while the panel waits for a click
    expect(nb.cell(CHECK).locator(".jp-OutputArea-output")).to_have_text("[]")
    save_screenshot(nb.page, "approval-panel-waiting")
    approve.click()
    expect(panel.locator(".glm-status").last).to_contain_text("finish: stop", timeout=30_000)
    expect(panel.locator(".glm-tool")).to_contain_text("→ dropped example")
    expect(panel.locator(".glm-panel-approve")).to_be_hidden()

    _ask_in_panel(panel, "Tidy up again.")
    panel.locator(".glm-panel-deny").click()
    expect(panel.locator(".glm-status").last).to_contain_text("finish: stop", timeout=30_000)
    expect(panel.locator(".glm-tool")).to_contain_text("not run: you declined it")
    nb.run(CHECK)
    expect(nb.cell(CHECK).locator(".jp-OutputArea-output")).to_have_text("['example']")
