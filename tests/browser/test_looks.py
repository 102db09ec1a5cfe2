"""How an answer's code looks in JupyterLab: light and dark themes, trusted or not.

One background per block (never one per line), tokens in the editor's colours, and
the same in a notebook opened untrusted, where the sanitizer drops inline styles and
only the extension's stylesheet can do it. Screenshots of each go to artifacts/browser.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from playwright.sync_api import Page

from tests.browser.jupyter_server import JupyterServer
from tests.browser.notebook_page import NotebookPage, OpenNotebook, save_screenshot
from tests.browser.scenarios import setup_cell

pytestmark = pytest.mark.browser

ASK = 1
CODE_ANSWER = """Sum it like this:

```python
import pandas as pd


def total(frame: pd.DataFrame) -> int:
    \"\"\"Add up the totals.\"\"\"
    return int(frame["total"].sum())  # one number


print(total(pd.DataFrame({"total": [3, 4]})))
```

That prints `7`.
"""

# What a code block shows, as the browser computes it.
_LOOK_JS = """(cell) => {
    const pre = cell.querySelector('.glm-answer pre');
    const code = pre.querySelector('code');
    const keyword = pre.querySelector('.glm-k');
    const plain = getComputedStyle(code);
    let area = cell.querySelector('.jp-OutputArea-output');
    let page = getComputedStyle(area).backgroundColor;
    for (let node = area; node && (page === 'rgba(0, 0, 0, 0)' || page === 'transparent');
         node = node.parentElement) {
        page = getComputedStyle(node).backgroundColor;
    }
    return {
        page: page,
        pre: getComputedStyle(pre).backgroundColor,
        code: plain.backgroundColor,
        text: plain.color,
        keyword: keyword ? getComputedStyle(keyword).color : '',
    };
}"""


def luminance(colour: str) -> float:
    """0 (black) to 1 (white), from a computed ``rgb(...)``/``rgba(...)`` colour."""
    values = [float(part) for part in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    red, green, blue = (value / 255 for value in values)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def transparent(colour: str) -> bool:
    return colour in ("transparent", "rgba(0, 0, 0, 0)")


def check_look(nb: NotebookPage, *, dark: bool) -> dict[str, str]:
    look: dict[str, str] = nb.cell(ASK).evaluate(_LOOK_JS)
    assert not transparent(look["pre"]), look  # one background, on the block...
    assert abs(luminance(look["pre"]) - luminance(look["page"])) > 0.02, look  # that shows
    assert transparent(look["code"]), look  # ...none on the code inside it (per line)
    assert look["keyword"] and look["keyword"] != look["text"], look  # coloured tokens
    background, text = luminance(look["pre"]), luminance(look["text"])
    assert abs(background - text) > 0.4, look  # readable
    assert (background < 0.3) if dark else (background > 0.7), look
    return look


def set_theme(page: Page, name: str) -> None:
    page.keyboard.press("Escape")
    page.locator(".lm-MenuBar-item").filter(has_text="Settings").first.click()
    page.locator(".lm-Menu:visible .lm-Menu-item").filter(has_text="Theme").first.hover()
    page.locator(".lm-Menu:visible .lm-Menu-item").filter(has_text=name).first.click()
    light = "true" if "Light" in name else "false"
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=15_000
    )
    page.wait_for_timeout(500)  # the theme's stylesheet applies


def test_code_in_an_answer_reads_in_light_and_dark(open_in_lab: OpenNotebook) -> None:
    nb = open_in_lab("looks.ipynb", [setup_cell(text=CODE_ANSWER), "%%glm\nSum the totals"])
    nb.run(0)
    nb.run(ASK)
    nb.final_output(ASK)
    light = check_look(nb, dark=False)
    save_screenshot(nb.page, "looks-code-light")
    try:
        set_theme(nb.page, "JupyterLab Dark")
        dark = check_look(nb, dark=True)
        save_screenshot(nb.page, "looks-code-dark")
        assert dark["pre"] != light["pre"] and dark["keyword"] != light["keyword"]
    finally:
        set_theme(nb.page, "JupyterLab Light")


def test_an_untrusted_notebook_keeps_the_look(
    page: Page, lab_server: JupyterServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run headless, saved unsigned, opened in JupyterLab: the sanitizer drops the
    inline styles, the extension's stylesheet still gives the block and its tokens."""
    monkeypatch.setenv("GLM_CASSETTE", "off")
    cells = [setup_cell(text=CODE_ANSWER), "%%glm\nSum the totals"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    nbformat.write(notebook, lab_server.root / "untrusted_looks.ipynb")
    nb = NotebookPage(page, lab_server, "untrusted_looks.ipynb")
    page.goto(lab_server.url("lab/tree/untrusted_looks.ipynb"))
    nb.cell(ASK).locator(".glm-answer pre").wait_for(timeout=60_000)
    try:
        check_look(nb, dark=False)
        save_screenshot(page, "looks-code-untrusted")
    finally:
        lab_server.shut_down_kernels("untrusted_looks.ipynb")
