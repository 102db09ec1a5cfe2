"""Tracebacks that read the same on every machine: what a recorded `%glm fix` sends."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from glm_magics.notebook.tracebacks import plain_traceback

LIBRARY = """
def lookup(frame, key):
    return frame[key]

def group(frame, key):
    return lookup(frame, key)
"""


def raised(library_path: str, cell_path: str, helper_path: str | None = None) -> BaseException:
    """An error raised in a 'cell' through a 'package' (and a local helper)."""
    namespace: dict[str, object] = {}
    exec(compile(LIBRARY, library_path, "exec"), namespace)
    if helper_path is not None:
        helper = "def via(frame, key):\n    return group(frame, key)\n"
        exec(compile(helper, helper_path, "exec"), namespace)
    call = "via" if helper_path is not None else "group"
    cell = f"{call}({{'coffees': 1}}, 'coffee')\n"
    try:
        exec(compile(cell, cell_path, "exec"), namespace)
    except KeyError as exc:
        return exc
    raise AssertionError("the cell did not raise")


def test_the_same_error_reads_the_same_in_any_kernel_and_installation() -> None:
    teacher = raised(
        "/home/teacher/.venv/lib/python3.11/site-packages/pandas/core/frame.py",
        "/tmp/ipykernel_20570/2884425318.py",
    )
    student = raised(
        "/srv/conda/envs/notebook/lib/python3.12/site-packages/pandas/core/frame.py",
        "/tmp/ipykernel_31337/2884425318.py",
    )
    text = plain_traceback(teacher)
    assert text == plain_traceback(student)
    assert 'File "<notebook cell>", line 1, in <module>' in text
    assert "  … 2 frames in pandas" in text and "site-packages" not in text
    assert "return frame[key]" not in text  # the package's own source lines go too
    assert text.endswith("KeyError: 'coffee'")


def test_the_notebooks_own_modules_keep_their_relative_path(tmp_path: Path) -> None:
    error = raised(
        str(Path(sysconfig.get_paths()["stdlib"]) / "json" / "decoder.py"),
        "/tmp/ipykernel_1/2.py",
        helper_path=str(tmp_path / "helpers.py"),
    )
    text = plain_traceback(error, folder=str(tmp_path))
    assert 'File "helpers.py", line 2, in via' in text
    assert "  … 2 frames in the standard library" in text
