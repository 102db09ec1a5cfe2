"""The package as a user installs it: a wheel, in a fresh environment with no Node.js.

The wheel is built the way a release is (an sdist, then a wheel from the sdist, the
second step with no Node.js on PATH), installed with its ``demo`` extra into a new
virtual environment, again with no Node.js, and that environment's JupyterLab runs
the browser test: the notebook extension has to come from the wheel.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.jupyter_server import JupyterServer
from tests.browser.notebook_page import notebook_session
from tests.browser.scenarios import CODE_BLOCKS, CODE_REPLY, setup_cell, strip_generated_header

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(command: list[str], **kwargs: object) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, **kwargs
    )  # type: ignore[call-overload]
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return _ANSI.sub("", str(done.stdout) + str(done.stderr))


def without_node(folder: Path, python: str) -> dict[str, str]:
    """An environment whose PATH holds only ``python`` (no node, no npm)."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "python"
    if not link.exists():
        link.symlink_to(python)
    env = {key: value for key, value in os.environ.items() if key != "PATH"}
    env["PATH"] = str(folder)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment's python, with the wheel (and its demo extra) installed."""
    base = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(base), str(ROOT)])
    (sdist,) = base.glob("glm_magics-*.tar.gz")
    no_node = without_node(base / "bin-no-node", sys.executable)
    wheels = base / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(sdist)],
        env=no_node,
    )
    (wheel,) = wheels.glob("glm_magics-*.whl")
    target = base / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    run(
        [str(python), "-m", "pip", "install", "--quiet", f"{wheel}[demo]"],
        env=without_node(target / "bin-no-node", str(python)),
    )
    return python


def test_jupyterlab_lists_the_extension_from_the_wheel(installed: Path) -> None:
    listing = run(
        [str(installed), "-m", "jupyter", "labextension", "list"],
        env=without_node(installed.parent.parent / "bin-no-node", str(installed)),
    )
    line = next((row for row in listing.splitlines() if "glm-magics" in row), "")
    assert "enabled" in line and "OK" in line, listing


def test_code_goes_into_new_cells_with_the_installed_extension(
    installed: Path, browser_context: BrowserContext, tmp_path: Path
) -> None:
    with JupyterServer.start("lab", tmp_path, python=str(installed)) as server:
        tab = browser_context.new_page()
        with notebook_session(tab, server, "test_installed_wheel-code") as open_notebook:
            nb = open_notebook(
                "code.ipynb", [setup_cell(text=CODE_REPLY), "%%glm --code\nSum the sales"]
            )
            nb.run(0)
            nb.run(1)
            nb.final_output(1)
            inserted = [strip_generated_header(nb.source(index)) for index in range(2, 5)]
            assert inserted == [block.rstrip("\n") for block in CODE_BLOCKS]
            assert all(nb.prompt(index) == "[ ]:" for index in range(2, 5))  # never run
