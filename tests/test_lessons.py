"""``python -m glm_magics record``: a teacher's one command, run on a small lesson."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from glm_magics import Cassette
from glm_magics.notebook.lessons import names_a_cassette, problems

SETUP = """\
from glm_magics.testing import LocalGLMServer

server = LocalGLMServer.for_notebook()
if server is not None:
    %glm config base_url={server.base_url}"""


def lesson(folder: Path, *cells: str) -> Path:
    path = folder / "lesson.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(notebook, path)
    return path


def record(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glm_magics", "record", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith(("GLM_", "EMPIRIO"))},
    )


@pytest.mark.notebook
def test_record_writes_the_cassette_and_saves_what_a_student_sees(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "%load_ext glm_magics\n%glm cassette lesson.cassette.jsonl",
        SETUP,
        "%%glm\nWhat is a p-value?",
    )
    done = record(path)
    assert done.returncode == 0, done.stderr
    assert "1 answer replayed; outputs saved" in done.stdout
    assert (
        len([e for e in Cassette(tmp_path / "lesson.cassette.jsonl").entries() if e.request]) == 1
    )
    saved = nbformat.read(path, as_version=4)
    shown = json.dumps(saved.cells[2].outputs)
    assert "replayed \\u00b7 recorded" in shown or "replayed · recorded" in shown
    assert '"source": "replayed"' in shown


def test_a_lesson_without_a_cassette_is_refused_with_the_line_to_add(tmp_path: Path) -> None:
    path = lesson(tmp_path, "%load_ext glm_magics", "%%glm\nHi")
    done = record(path)
    assert done.returncode == 1
    assert "names no cassette: add `%glm cassette lesson.cassette.jsonl`" in done.stderr


def test_problems_are_raised_cells_misses_and_error_lines() -> None:
    fine = nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]})
    fine.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="x")]
    broken = nbformat.v4.new_code_cell("1 / 0")
    broken.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="x")]
    missed = nbformat.v4.new_code_cell("%%glm\nHi")
    missed.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/plain": "Error: Could not reach http://127.0.0.1:9/v1"}
        )
    ]
    notebook = nbformat.v4.new_notebook(cells=[fine, broken, missed])
    assert problems(notebook) == [
        "cell 2 raised ZeroDivisionError: x",
        "cell 3: Error: Could not reach http://127.0.0.1:9/v1",
    ]
    assert not names_a_cassette(notebook)
    notebook.cells.append(nbformat.v4.new_code_cell("%glm cassette off"))
    assert not names_a_cassette(notebook)
    notebook.cells.append(nbformat.v4.new_code_cell("%load_ext glm_magics\n%glm cassette a.jsonl"))
    assert names_a_cassette(notebook)
