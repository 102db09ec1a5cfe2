"""The package's shape: few flat modules, none too long, and a plain-Python core.

The layers contract itself (imports point down, no cycles at any depth, the core
without IPython, the frontends independent) is import-linter's, declared in
pyproject.toml and checked by ``dev.py test`` with ``lint-imports`` before pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import glm_magics

PACKAGE = Path(glm_magics.__file__).parent
LAYERS = ("wire", "core", "context", "tools", "display", "notebook", "testing")


def test_few_modules_lie_flat_and_the_layers_are_packages() -> None:
    flat = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(flat) <= 12, flat
    for layer in LAYERS:
        assert (PACKAGE / layer / "__init__.py").is_file(), layer


def test_no_module_is_longer_than_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): count
        for path in PACKAGE.rglob("*.py")
        if "node_modules" not in path.parts
        and (count := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_plain_python_asks_without_loading_ipython_or_widgets() -> None:
    """``import glm_magics``, a client and ``Session.ask`` need no notebook machinery."""
    code = (
        "import sys\n"
        "from glm_magics import GLMClient, Session\n"
        "from glm_magics.testing import LocalGLMServer, Reply\n"
        "with LocalGLMServer() as server:\n"
        "    server.queue(Reply(text='Olá!'))\n"
        "    session = Session(client=GLMClient(base_url=server.base_url))\n"
        "    assert session.ask('Say hi in Portuguese').text == 'Olá!'\n"
        "    server.queue(Reply(text='Oi'))\n"
        "    assert GLMClient(base_url=server.base_url).chat(\n"
        "        [{'role': 'user', 'content': 'hi'}]).text == 'Oi'\n"
        "loaded = [m for m in ('IPython', 'ipywidgets', 'traitlets', 'ipykernel')"
        " if m in sys.modules]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
