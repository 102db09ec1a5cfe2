"""A finished answer read where there is no live HTML: a terminal console, nbconvert.

Each test runs a real kernel against the package's local GLM server (in the kernel,
over loopback), the way a user meets these tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ANSWER = (
    "## Total\n\nThe total is **42**, from the `sales` table.\n\n"
    "| region | total |\n|---|---|\n| north | 42 |\n"
)
SETUP = (
    "%load_ext glm_magics\n"
    "from glm_magics.testing import LocalGLMServer, Reply\n"
    "server = LocalGLMServer().start()\n"
    f"server.queue(Reply(reasoning='Adding the regions.', text={ANSWER!r}))\n"
    "%glm config base_url={server.base_url}"
)


def kernel_env() -> dict[str, str]:
    """The environment without anything that would send the kernel to a real service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMPIRIOLABS_", "GLM_"))}
    return env | {"GLM_CASSETTE": "off"}


@pytest.fixture
def answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebook with one streamed answer, executed headless and saved as it ran."""
    for name in [k for k in os.environ if k.startswith(("EMPIRIOLABS_", "GLM_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GLM_CASSETTE", "off")
    cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell("%%glm\nThe total?")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    path = tmp_path / "answered.ipynb"
    nbformat.write(notebook, path)
    return path


def test_the_saved_answer_has_text_and_markdown_beside_html(answered: Path) -> None:
    outputs = nbformat.read(answered, as_version=4).cells[1].outputs
    (whole,) = [o for o in outputs if "glm-answer" in str(o.get("data", {}).get("text/html", ""))]
    assert whole.data["text/plain"].startswith("(Reasoning · 3 words)\n\n## Total")
    assert "The total is **42**, from the `sales` table." in whole.data["text/markdown"]
    status = outputs[-1].data
    assert "finish: stop" in status["text/plain"] and "finish: stop" in status["text/markdown"]


def test_nbconvert_to_markdown_keeps_the_answer(answered: Path) -> None:
    from nbconvert import MarkdownExporter

    body, _ = MarkdownExporter().from_filename(str(answered))
    assert "The total is" in body and "42" in body
    assert "finish: stop" in body


@pytest.mark.skipif(
    shutil.which("pandoc") is None and not os.environ.get("CI"),
    reason="pandoc is not installed (apt-get install pandoc); in CI this fails",
)
def test_nbconvert_to_latex_keeps_the_answer(answered: Path) -> None:
    """LaTeX (and PDF, which is made from it) reads the markdown: the answer is there."""
    from nbconvert.exporters import LatexExporter

    body, _ = LatexExporter().from_filename(str(answered))
    assert r"The total is \textbf{42}, from the \texttt{sales} table." in body
    assert "Reasoning · 3 words" in body and "finish: stop" in body
    assert "glm-answer" not in body and "<div" not in body


def test_jupyter_console_shows_the_answer_without_display_plain() -> None:
    """The terminal frontend prints each output's text/plain: the whole answer is there."""
    typed = "\n".join([*SETUP.splitlines(), "%glm The total?", "exit", ""])
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "console", "--simple-prompt", "--kernel", "python3"],
        input=typed,
        capture_output=True,
        text=True,
        timeout=180,
        env=kernel_env(),
        check=False,
    )
    shown = done.stdout
    assert "The total is **42**, from the `sales` table." in shown, shown + done.stderr
    assert "(Reasoning · 3 words)" in shown and "finish: stop" in shown
    assert "<div" not in shown
