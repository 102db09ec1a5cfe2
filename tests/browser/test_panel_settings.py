"""The control panel's settings in JupyterLab: showing them sets nothing.

The browser's widgets send their values back when they render (a slider echoes the
value it shows); a setting left to the service's default must stay unset, and say so,
until the user moves its widget.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.notebook_page import OpenNotebook, ask_in_panel, save_screenshot
from tests.browser.test_looks import luminance, set_theme

pytestmark = pytest.mark.browser

SETUP = """\
%load_ext glm_magics
from glm_magics.testing import LocalGLMServer
server = LocalGLMServer().start()
%glm config base_url={server.base_url}"""
SHOW = "%glm config temperature top_p max_tokens"
UNSET = "None (not sent: the service's default applies)"


def test_showing_the_panel_changes_no_setting(open_in_lab: OpenNotebook) -> None:
    nb = open_in_lab("panel_settings.ipynb", [SETUP, "%glm panel", SHOW])
    nb.run(0)
    nb.run(1)
    panel = nb.cell(1).locator(".glm-panel")
    expect(panel).to_be_visible(timeout=30_000)
    panel.get_by_text("Settings", exact=True).click()  # every widget renders and echoes
    top_p = panel.locator(".widget-slider", has_text="top_p")
    expect(top_p).to_be_visible()
    nb.page.wait_for_timeout(1500)
    nb.run(2)
    shown = nb.cell(2).locator(".jp-OutputArea-output").inner_text()
    for name in ("temperature", "top_p", "max_tokens"):
        assert f"{name:<16} {UNSET}" in shown, shown
    notes = panel.locator(".glm-panel-default")
    expect(notes.first).to_be_visible()
    assert notes.count() >= 3  # temperature, top-p, max tokens at least
    save_screenshot(nb.page, "panel-settings-unset")

    top_p.locator(".ui-slider-handle, .noUi-handle").first.click()
    nb.page.keyboard.press("ArrowLeft")  # the user moves it: now it is set
    nb.page.wait_for_timeout(1000)
    nb.run(2)
    shown = nb.cell(2).locator(".jp-OutputArea-output").inner_text()
    assert "top_p            0.94" in shown, shown
    assert f"temperature      {UNSET}" in shown, shown
    expect(top_p.locator("xpath=..").locator(".glm-panel-default")).to_have_count(0)


# Every element of the panel whose content is wider than its box (a scrollbar or a
# clipped label), by class and text.
_OVERFLOW_JS = """(panel) => Array.from(panel.querySelectorAll('*'))
    .filter((el) => {
        const style = getComputedStyle(el);
        if (style.display === 'none' || el.clientWidth === 0) return false;
        const clips = ['auto', 'scroll', 'hidden'].includes(style.overflowX)
            || style.textOverflow === 'ellipsis';
        return clips && el.scrollWidth > el.clientWidth + 1;
    })
    .map((el) => `${el.className}: ${el.scrollWidth} > ${el.clientWidth}`)"""


@pytest.mark.parametrize("width", [1280, 760])
def test_the_panel_fits_the_notebook(open_in_lab: OpenNotebook, width: int) -> None:
    nb = open_in_lab(
        f"panel_fits_{width}.ipynb",
        [SETUP + "\nimport pandas as pd\nsales = pd.DataFrame({'a': [1]})", "%glm panel"],
    )
    nb.page.set_viewport_size({"width": width, "height": 1400})
    nb.run(0)
    nb.run(1)
    panel = nb.cell(1).locator(".glm-panel")
    expect(panel).to_be_visible(timeout=30_000)
    for title in ("Settings", "DataFrame context", "Conversation"):
        panel.get_by_text(title, exact=True).click()
        nb.page.wait_for_timeout(300)
        overflowing = panel.evaluate(_OVERFLOW_JS)
        area = nb.cell(1).locator(".jp-OutputArea-output").last
        wide = area.evaluate("(el) => el.scrollWidth > el.clientWidth + 1")
        assert overflowing == [] and not wide, f"{title} open at {width}px: {overflowing}"
    save_screenshot(nb.page, f"panel-fits-{width}")


LOOK_ANSWER = "A quote:\n\n> Measure twice.\n\nThen run `df.dropna()` once.\n"
_STYLE_JS = """(answer) => {
    const quote = getComputedStyle(answer.querySelector('blockquote'));
    const code = getComputedStyle(answer.querySelector('p code'));
    const para = getComputedStyle(answer.querySelector('p'));
    return [quote.borderLeftWidth, quote.borderLeftStyle, quote.paddingLeft,
            code.backgroundColor, code.fontFamily, para.marginTop, para.marginBottom];
}"""


def test_the_panel_shows_an_answer_as_a_cell_does(open_in_lab: OpenNotebook) -> None:
    setup = SETUP + (
        "\nfrom glm_magics.testing import Reply\n"
        f"server.queue(Reply(text={LOOK_ANSWER!r}), Reply(text={LOOK_ANSWER!r}))"
    )
    nb = open_in_lab("panel_look.ipynb", [setup, "%%glm\nQuote me", "%glm panel"])
    nb.run(0)
    nb.run(1)
    nb.final_output(1)
    nb.run(2)
    panel = nb.cell(2).locator(".glm-panel")
    expect(panel).to_be_visible(timeout=30_000)
    ask_in_panel(panel, "Quote me, *again*")  # Shift+Enter sends
    expect(panel.locator(".glm-panel-question")).to_contain_text("You asked: Quote me, again")
    expect(panel.locator(".glm-panel-question em")).to_have_text("again")
    in_cell = nb.cell(1).locator(".glm-answer").last.evaluate(_STYLE_JS)
    in_panel = panel.locator(".glm-answer").last.evaluate(_STYLE_JS)
    assert in_panel == in_cell, (in_panel, in_cell)
    assert in_cell[0] != "0px"  # the quote has its border
    panel.get_by_text("Conversation", exact=True).click()
    history = panel.locator(".glm-panel-history")
    expect(history.locator("em").first).to_have_text("again")
    expect(history).not_to_contain_text("*")
    save_screenshot(nb.page, "panel-looks-like-a-cell")
    try:
        set_theme(nb.page, "JupyterLab Dark")
        text = panel.locator(".glm-answer p").first.evaluate("(p) => getComputedStyle(p).color")
        asked = panel.locator(".glm-panel-question").evaluate("(d) => getComputedStyle(d).color")
        for colour in (text, asked):
            assert luminance(colour) > 0.6, colour  # light text on the dark background
        save_screenshot(nb.page, "panel-looks-like-a-cell-dark")
    finally:
        set_theme(nb.page, "JupyterLab Light")
