"""The public API is declared once, in ``glm_magics.__all__``, and importing stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import glm_magics


def test_every_exported_name_resolves_and_nothing_else_is_public() -> None:
    for name in glm_magics.__all__:
        assert getattr(glm_magics, name) is not None, name
    assert sorted(glm_magics.__all__) == glm_magics.__all__
    assert set(dir(glm_magics)) == set(glm_magics.__all__)
    for name in ("GLMClient", "ChatResult", "ToolCall", "Usage", "GLMMagics", "GLMError"):
        assert name in glm_magics.__all__


def test_a_removed_name_says_what_to_use_instead() -> None:
    with pytest.raises(AttributeError, match=r"Session\(settings=Settings\(\.\.\.\)\)"):
        glm_magics.settings  # noqa: B018 - the attribute access is the test
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        glm_magics.nonsense  # noqa: B018


def test_import_does_not_load_the_http_stack_or_the_renderer() -> None:
    code = (
        "import sys, glm_magics\n"
        "heavy = [m for m in ('httpx', 'markdown_it', 'glm_magics.core.client',"
        " 'glm_magics.display.notebook_view') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_local_server_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "glm_magics.testing", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" in done.stdout
