"""A notebook open in a real browser tab, driven the way a person drives it.

JupyterLab and Notebook 7 share the notebook widgets, so one driver serves both;
only the URL differs. Cells are run by clicking them and pressing Shift+Enter,
and every wait is on something the page shows (the execution prompt, the kernel
indicator), never on a fixed sleep::

    nb = NotebookPage.open(page, server, "demo.ipynb", ["1 + 1", "%%glm\\nHi"])
    nb.run(0)
    nb.start(1)
    state = nb.output_state(1)   # what the %%glm output shows right now
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.jupyter_server import JupyterServer

__all__ = [
    "ARTIFACTS",
    "END_MARKER",
    "NotebookPage",
    "OpenNotebook",
    "OutputState",
    "ask_in_panel",
    "notebook_session",
    "save_screenshot",
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"

#: Text of the markdown cell that closes every test notebook, so that Shift+Enter on
#: the last code cell moves into it instead of appending a cell, and any cell the
#: kernel inserts is easy to tell apart.
END_MARKER = "*End of the test notebook.*"

_KERNEL_TIMEOUT_MS = 60_000
_START_TIMEOUT_MS = 5_000
_RUN_TIMEOUT_S = 60.0
_PROMPT = ".jp-InputArea-prompt"

_KERNEL_READY_JS = """() => {
    const panel = '.jp-NotebookPanel:not(.lm-mod-hidden) ';
    const indicator = document.querySelector(panel + '.jp-Notebook-ExecutionIndicator');
    const name = document.querySelector(panel + '.jp-KernelName');
    const kernel = name ? name.textContent.trim() : '';
    return !!indicator && indicator.dataset.status === 'idle'
        && kernel !== '' && !/no kernel/i.test(kernel);
}"""

# What a %%glm output shows, read in one go so that a snapshot is consistent.
_OUTPUT_STATE_JS = """(cell) => {
    const texts = (selector) => Array.from(cell.querySelectorAll(selector))
        .map((element) => element.innerText.trim()).filter((text) => text !== '');
    const details = cell.querySelector('details.glm-reasoning');
    return {
        waiting: texts('.glm-waiting').join('\\n'),
        reasoning: texts('div.glm-reasoning').join('\\n'),
        details: details ? (details.open ? 'open' : 'closed') : '',
        answer: texts('.glm-answer').join('\\n'),
        status: texts('.glm-status').join('\\n'),
        error: texts('.glm-error').join('\\n'),
    };
}"""

_SOURCE_JS = """(cell) => Array.from(cell.querySelectorAll('.cm-content .cm-line'))
    .map((line) => line.textContent).join('\\n')"""


@dataclass(frozen=True)
class OutputState:
    """One snapshot of a ``%%glm`` output; empty strings for what is not shown.

    ``reasoning`` is the live, open reasoning area; ``details`` says whether the
    collapsed ``<details>`` exists and is ``"open"`` or ``"closed"``.
    """

    waiting: str = ""
    reasoning: str = ""
    details: str = ""
    answer: str = ""
    status: str = ""
    error: str = ""

    @property
    def finished(self) -> bool:
        """Whether the final line (status or error) is shown."""
        return bool(self.status or self.error)


class NotebookPage:
    """One notebook in one tab of JupyterLab or Notebook 7; build it with :meth:`open`."""

    def __init__(self, page: Page, server: JupyterServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name

    @classmethod
    def open(
        cls, page: Page, server: JupyterServer, name: str, code_cells: list[str]
    ) -> NotebookPage:
        """Write ``code_cells`` (then the end marker) to ``name``, open it and wait for
        its kernel to be idle."""
        cells = [new_code_cell(source) for source in code_cells]
        cells.append(new_markdown_cell(END_MARKER))
        kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook = new_notebook(cells=cells, metadata={"kernelspec": kernelspec})
        nbformat.write(notebook, server.root / name)
        driver = cls(page, server, name)
        path = f"lab/tree/{name}" if server.app == "lab" else f"notebooks/{name}"
        page.goto(server.url(path))
        driver.cells.nth(len(cells) - 1).wait_for(timeout=_KERNEL_TIMEOUT_MS)
        driver.wait_for_kernel()
        return driver

    @property
    def cells(self) -> Locator:
        """Every cell of the notebook, in order.

        Only the visible notebook's: JupyterLab may restore other notebooks from its
        workspace into hidden tabs.
        """
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    def cell(self, index: int) -> Locator:
        """The cell at ``index`` (0-based)."""
        return self.cells.nth(index)

    def wait_for_kernel(self) -> None:
        """Wait until the kernel is connected and idle, in the page and on the server.

        The execution indicator reads "idle" for a moment before any kernel is
        attached, so the kernel's name must be shown too, the server must agree,
        and the state must hold for half a second.
        """
        deadline = time.monotonic() + _KERNEL_TIMEOUT_MS / 1000
        steady_since: float | None = None
        while time.monotonic() < deadline:
            ready = bool(self.page.evaluate(_KERNEL_READY_JS))
            ready = ready and self.server.kernel_idle(self.name)
            now = time.monotonic()
            if not ready:
                steady_since = None
            elif steady_since is None:
                steady_since = now
            elif now - steady_since >= 0.5:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"the kernel of {self.name} never became idle")

    def prompt(self, index: int) -> str:
        """The execution prompt of a cell: ``"[ ]:"``, ``"[*]:"``, ``"[3]:"``."""
        return self.cell(index).locator(_PROMPT).first.inner_text().strip()

    def start(self, index: int) -> None:
        """Click the cell and press Shift+Enter; press again once if nothing happened.

        "Started" means the prompt shows ``[*]`` or a new number. A key press that
        lands while the page is still settling (focus elsewhere) is lost, which is
        why one retry is allowed; a second loss fails the test.
        """
        before = self.prompt(index)
        prompt = self.cell(index).locator(_PROMPT).first
        for attempt in range(2):
            if attempt:
                print(f"cell {index} did not start within 5 s; pressing Shift+Enter again")
            prompt.click(timeout=10_000)
            self.page.keyboard.press("Shift+Enter")
            try:
                self.page.wait_for_function(
                    """([element, before]) => {
                        const text = element.textContent.trim();
                        return text !== before && /^\\[(\\*|\\d+)\\]:?$/.test(text);
                    }""",
                    arg=[prompt.element_handle(), before],
                    timeout=_START_TIMEOUT_MS,
                    polling=50,
                )
            except PlaywrightTimeout:
                continue
            return
        raise AssertionError(
            f"cell {index} did not start after two Shift+Enter presses (prompt {before!r})"
        )

    def wait_finished(self, index: int, timeout: float = _RUN_TIMEOUT_S) -> int:
        """Wait until the cell's prompt shows its execution count, and return it."""
        prompt = self.cell(index).locator(_PROMPT).first
        self.page.wait_for_function(
            "(element) => /^\\[\\d+\\]:?$/.test(element.textContent.trim())",
            arg=prompt.element_handle(),
            timeout=timeout * 1000,
            polling=100,
        )
        match = re.search(r"\d+", self.prompt(index))
        assert match is not None
        return int(match.group())

    def run(self, index: int, timeout: float = _RUN_TIMEOUT_S) -> int:
        """Run one cell and wait for it to finish; returns its execution count."""
        self.start(index)
        return self.wait_finished(index, timeout)

    def menu(self, *labels: str) -> None:
        """Click through the menu bar, e.g. ``menu("Run", "Run All Cells")``."""
        self.page.keyboard.press("Escape")
        bar = self.page.locator(".lm-MenuBar-item").filter(
            has_text=re.compile(rf"^{re.escape(labels[0])}$")
        )
        bar.first.click()
        for label in labels[1:]:
            item = self.page.locator(".lm-Menu:visible .lm-Menu-item").filter(
                has=self.page.locator(
                    ".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(label)}$")
                )
            )
            item.first.click()

    def run_all(self, timeout: float = _RUN_TIMEOUT_S) -> None:
        """Run > Run All Cells, then wait until every code cell shows its count."""
        self.menu("Run", "Run All Cells")
        self.wait_all_finished(timeout)

    def restart_and_run_all(self, timeout: float = _RUN_TIMEOUT_S) -> None:
        """Kernel > Restart Kernel and Run All Cells…, confirmed; wait for every cell.

        The last code cell must not have run before (its count is what is waited for).
        """
        self.menu("Kernel", "Restart Kernel and Run All Cells…")
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.wait_all_finished(timeout)

    def reload(self, *, save: bool = True) -> None:
        """Reload the page (Ctrl+S first, unless just saved: nothing is lost) and wait
        for the kernel."""
        if save:
            self.save()
        count = self.cells.count()
        self.page.reload()
        self.cells.nth(count - 1).wait_for(timeout=_KERNEL_TIMEOUT_MS)
        self.wait_for_kernel()

    def code_cells(self) -> list[int]:
        """The indices of the code cells, in order."""
        classes = self.cells.evaluate_all("(cells) => cells.map((cell) => cell.className)")
        return [index for index, name in enumerate(classes) if "jp-CodeCell" in name]

    def wait_all_finished(self, timeout: float = _RUN_TIMEOUT_S) -> None:
        """Wait until every code cell shows its count, but the cells glm-magics inserted
        (marked by the extension), which are never run."""
        self.page.wait_for_function(
            """(selector) => {
                const cells = Array.from(document.querySelectorAll(selector))
                    .filter((cell) => !cell.classList.contains('glm-magics-generated'));
                return cells.length > 0 && cells.every((cell) => {
                    const prompt = cell.querySelector('.jp-InputArea-prompt');
                    return prompt && /^\\[\\d+\\]:?$/.test(prompt.textContent.trim());
                });
            }""",
            arg=".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell",
            timeout=timeout * 1000,
            polling=100,
        )

    def output_state(self, index: int) -> OutputState:
        """What the ``%%glm`` output of a cell shows right now."""
        values: dict[str, Any] = self.cell(index).evaluate(_OUTPUT_STATE_JS)
        return OutputState(**{key: str(value) for key, value in values.items()})

    def watch_output(
        self, index: int, *, interval: float = 0.15, timeout: float = _RUN_TIMEOUT_S
    ) -> list[OutputState]:
        """Sample a cell's ``%%glm`` output every ``interval`` seconds until its status
        or error line shows; returns the snapshots, consecutive repeats dropped."""
        states: list[OutputState] = []
        deadline = time.monotonic() + timeout
        while True:
            taken = time.monotonic()
            state = self.output_state(index)
            if not states or state != states[-1]:
                states.append(state)
            if state.finished:
                return states
            if taken > deadline:
                raise AssertionError(f"cell {index} showed no status line in {timeout} s: {state}")
            pause = interval - (time.monotonic() - taken)
            self.page.wait_for_timeout(max(pause, 0.01) * 1000)

    def final_output(self, index: int, timeout: float = _RUN_TIMEOUT_S) -> OutputState:
        """The ``%%glm`` output once its status or error line shows.

        A finished prompt is not enough: the prompt number comes with the kernel's
        reply (shell channel) and the displays on iopub, so either may land first.
        """
        return self.watch_output(index, interval=0.1, timeout=timeout)[-1]

    def source(self, index: int) -> str:
        """A cell's source, as its editor shows it."""
        self.cell(index).locator(".cm-content .cm-line").first.wait_for(state="attached")
        return str(self.cell(index).evaluate(_SOURCE_JS))

    def save(self) -> None:
        """Save with Ctrl+S (from command mode) and wait until the file on disk changed."""
        path = self.server.root / self.name
        before = path.stat().st_mtime_ns
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        deadline = time.monotonic() + 10
        while path.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise AssertionError(f"Ctrl+S did not save {self.name} within 10 s")
            self.page.wait_for_timeout(100)

    def saved(self) -> Any:
        """The notebook as it is on disk (an ``nbformat`` node)."""
        return nbformat.read(self.server.root / self.name, as_version=4)


def ask_in_panel(panel: Locator, question: str, timeout_ms: int = 30_000) -> None:
    """Type ``question`` in a shown control panel, press Shift+Enter (the extension's
    shortcut) and wait for the answer's status line."""
    box = panel.locator(".glm-panel-prompt textarea")
    box.fill(question)
    box.press("Shift+Enter")
    expect(panel.locator(".glm-status")).to_contain_text("finish: stop", timeout=timeout_ms)


OpenNotebook = Callable[[str, list[str]], NotebookPage]
"""``open_notebook(name, code_cells)``: write a notebook, open it, wait for its kernel."""


def save_screenshot(tab: Page, name: str) -> Path:
    """Save a screenshot of ``tab`` as ``artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=path, full_page=True)
    return path


@contextmanager
def notebook_session(
    tab: Page, server: JupyterServer, screenshot: str | None
) -> Iterator[OpenNotebook]:
    """Open notebooks in ``tab``; at the end, screenshot it (as ``screenshot``, if
    given), close it and shut down the notebooks' kernels."""
    opened: list[str] = []

    def open_notebook(name: str, code_cells: list[str]) -> NotebookPage:
        opened.append(name)
        return NotebookPage.open(tab, server, name, code_cells)

    try:
        yield open_notebook
    finally:
        try:
            if screenshot is not None:
                save_screenshot(tab, screenshot)
        finally:
            tab.close()
            for name in opened:
                server.shut_down_kernels(name)
