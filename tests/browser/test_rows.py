"""``%%glm --each`` in JupyterLab, in Chromium: the progress bar moves, then says how it went."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.jupyter_server import JupyterServer
from tests.browser.notebook_page import notebook_session, save_screenshot

pytestmark = pytest.mark.browser

SETUP = """\
%load_ext glm_magics
import pandas as pd
from glm_magics.testing import LocalGLMServer, Reply
server = LocalGLMServer(latency=0.15).start()
server.responder = lambda body: (
    Reply.error(400, "1214", "this one is refused")
    if "number 7" in body["messages"][-1]["content"]
    else Reply(text="label for " + body["messages"][-1]["content"][-9:])
)
reviews = pd.DataFrame({"review": [f"review number {n}" for n in range(40)]})
%glm config base_url={server.base_url}"""

EACH = "%%glm --each reviews --into labelled --concurrency 4\nLabel this: {review}"


def test_the_progress_bar_moves_then_gives_the_summary(
    browser_context: BrowserContext, lab_server: JupyterServer
) -> None:
    tab = browser_context.new_page()
    with notebook_session(tab, lab_server, screenshot="test_rows-end") as open_notebook:
        nb = open_notebook("rows.ipynb", [SETUP, EACH, "labelled.glm_error.notna().sum()"])
        nb.run(0)
        nb.start(1)
        progress = nb.cell(1).locator(".glm-rows-progress")
        expect(progress).to_be_visible(timeout=30_000)
        bar = progress.locator(".progress-bar, .widget-progress .progress-bar").first
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the bar's width grows while rows finish
            style = bar.get_attribute("style") or ""
            seen.add(style)
            if "rows: 39 answered" in progress.inner_text():
                break
            time.sleep(0.1)
        save_screenshot(tab, "test_rows-progress")
        text = progress.inner_text()
        assert "40 rows: 39 answered" in text
        assert "1 failed (1 x BadRequestError: this one is refused" in text
        assert len(seen) > 2  # it moved, rather than jumping from empty to full
        nb.run(2)
        expect(nb.cell(2).locator(".jp-OutputArea-output")).to_contain_text("1")
