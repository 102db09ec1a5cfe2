"""Every notebook in the repository, executed headless (pytest-notebook) as a student runs it.

Each replays its cassette with no key and the base URL on a closed port (nothing can
be sent), and its outputs must match the committed ones: `python -m glm_magics record`
saved them from the same replay. Only what no recording can fix is masked: seconds,
the random ids of widget views and IPython's tracebacks of a cell that fails on
purpose (they name the installation's files); and the live displays an answer streamed
through, emptied when it was done, are dropped (`glm_answers`), however many its
streaming used: each answer is compared as its one whole output. The checks below then
read those outputs for what a user must see. The quickstart also runs live on the
local test server, as the README's demo command runs it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pytest_notebook.nb_regression import NBRegressionFixture

from glm_magics.notebook.lessons import REPLAY_ENVIRONMENT, environment

ROOT = Path(__file__).parent.parent
NOTEBOOKS = ROOT / "notebooks"
EVERY_NOTEBOOK = sorted(
    path
    for path in NOTEBOOKS.rglob("*.ipynb")
    if not path.name.endswith(".executed.ipynb") and ".ipynb_checkpoints" not in path.parts
)

MASKED = (
    "/metadata/language_info",
    "/metadata/widgets",
    "/cells/*/outputs/*/data/application/vnd.jupyter.widget-view+json",
    # What IPython prints for a cell that fails on purpose names the installation's
    # files (pytest-notebook masks it by default); the error's name and value still count.
    "/cells/*/outputs/*/traceback",
)
SECONDS = (("/cells/*/outputs", r"\b\d+(\.\d+)? s\b", "<seconds> s"),)


@cache
def replayed(relative: str) -> Any:
    """The notebook run in replay mode, compared with the committed one (once per run)."""
    path = NOTEBOOKS / relative
    fixture = NBRegressionFixture(
        exec_timeout=300,
        exec_cwd=str(path.parent),
        exec_allow_errors=True,
        post_processors=("coalesce_streams", "glm_answers"),
        diff_ignore=MASKED,
        diff_replace=SECONDS,
        diff_color_words=False,
        diff_use_color=False,
    )
    with environment(REPLAY_ENVIRONMENT):
        return fixture.check(str(path), raise_errors=True).nb_final


@pytest.mark.notebook
@pytest.mark.parametrize(
    "path", EVERY_NOTEBOOK, ids=[str(p.relative_to(NOTEBOOKS)) for p in EVERY_NOTEBOOK]
)
def test_every_notebook_replays_offline_exactly_as_committed(path: Path) -> None:
    nb = replayed(str(path.relative_to(NOTEBOOKS)))
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error" or "raises-exception" in cell.metadata.get(
                "tags", []
            ), cell.source
            assert "not in the cassette" not in outputs_text(cell), cell.source


def execute_live(name: str) -> Any:
    """Run a notebook live: its cassette off, the local test server answering."""
    fixture = NBRegressionFixture(
        exec_timeout=180,
        exec_cwd=str(NOTEBOOKS),
        diff_ignore=("/cells/*/outputs", "/cells/*/execution_count", *MASKED),
    )
    with environment({"GLM_CASSETTE": "off", "GLM_CASSETTE_MODE": None, **_NO_KEYS}):
        return fixture.check(str(NOTEBOOKS / name)).nb_final


_NO_KEYS: dict[str, str | None] = {"EMPIRIOLABS_API_KEY": None, "ZAI_API_KEY": None}


def outputs_text(cell: Any) -> str:
    parts: list[str] = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        for value in output.get("data", {}).values():
            parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(parts)


def error_free_code_cells(nb: Any) -> list[Any]:
    """The code cells of an executed notebook, after checking that none raised."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
    return code


@pytest.mark.notebook
def test_the_quickstart_runs_live_on_the_local_server_as_the_demo_does() -> None:
    nb = execute_live("quickstart.ipynb")
    code = error_free_code_cells(nb)
    everything = "\n".join(outputs_text(cell) for cell in code)
    assert "local test server" in everything and "replayed" not in everything
    assert "not used, $GLM_CASSETTE=off" in everything
    first = next(c for c in code if c.source.startswith("%%glm\n"))
    assert "first token" in outputs_text(first)  # live: the timings are the model's


@pytest.mark.notebook
def test_quickstart_answers_stream_reasoning_and_provenance() -> None:
    code = error_free_code_cells(replayed("quickstart.ipynb"))
    everything = "\n".join(outputs_text(cell) for cell in code)
    assert "local test server" in everything and "replayed · recorded" in everything
    first = next(c for c in code if c.source.startswith("%%glm\n"))
    html = outputs_text(first)
    assert "glm-answer" in html and "glm-reasoning" in html and "glm-status" in html
    fib = next(c for c in code if "Fibonacci" in c.source)
    assert "language-python" in outputs_text(fib)
    assert "total_tokens" in outputs_text(next(c for c in code if c.source == "answer.usage"))


@pytest.mark.notebook
def test_dataframes_notebook_shows_what_it_promises() -> None:
    nb = replayed("dataframes.ipynb")
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        expected = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == expected, cell.source
    preview = outputs_text(next(c for c in code if c.source == "%glm context sales"))
    assert "1,000 rows" in preview and "tokens]" in preview
    private = outputs_text(next(c for c in code if c.source == "%glm context sales rows=0"))
    assert "north" not in private and "region" in private
    fix = outputs_text(next(c for c in code if c.source == "%glm fix"))
    assert "glm-answer" in fix


@pytest.mark.notebook
def test_panel_notebook_shows_what_it_promises() -> None:
    nb = replayed("panel.ipynb")
    code = error_free_code_cells(nb)
    shown = next(c for c in code if c.source.endswith("panel = glm_magics.panel()\npanel"))
    assert "application/vnd.jupyter.widget-view+json" in shown.outputs[0].data

    def text(prefix: str) -> str:
        return outputs_text(next(c for c in code if c.source.startswith(prefix)))

    # The free kernel is shown in the cell that sends, so it holds at any reading pace.
    sent = text('panel.prompt.value = "Explain what a confidence')
    assert "computed 499,999,500,000 meanwhile; still streaming: True" in sent
    assert not any(c.source.startswith("total = sum") for c in code)
    assert "temperature 0.3 and max tokens 512" in text("%glm config temperature=0.3")
    assert "Explain what a confidence interval is" in text("%glm history")
    assert "stopped: True" in text("import time")
    assert "picker lists: ('sales',)" in text("import pandas as pd")
    assert "copy the code" in text('panel.prompt.value = "Plot units by region."')
    assert "closed" in text("panel.close()")


@pytest.mark.notebook
def test_tools_and_search_notebook_shows_what_it_promises() -> None:
    code = error_free_code_cells(replayed("tools-and-search.ipynb"))

    def text(prefix: str) -> str:
        return outputs_text(next(c for c in code if c.source.startswith(prefix)))

    assert "Valid JSON" in text("%%glm --json")
    assert "'you_asked'" in text("city.json")
    assert "'required': ['city']" in text("from glm_magics.tools import function_schema")
    trip = text("%%glm --tools km_to_miles -o trip")
    assert "km_to_miles(km=1.5) → 0.93" in trip and "finish: tool_calls" in trip
    assert "KeyError" in trip and "finish: stop" in trip
    search = text("%%glm --search")
    assert "$0.033" in search and "glm-sources" in search
    assert "example.org/glm-magics-local-test/1" in text("[(source.title")
    assert "finish: stop" in text("%%glm --api responses")
    marathon = text("%%glm --api messages")
    assert "km_to_miles" in marathon and "finish: stop" in marathon
    # an acting tool, run headless: not run, one line, the answer completes
    archive = text("%%glm\nArchive the sales table")
    assert archive.count("tool call: archive_table(name='example') ✗ not run") == 1
    assert "nobody could answer (no input here)" in archive and "finish: stop" in archive
    assert outputs_text(next(c for c in code if c.source == "archived")).strip() == "[]"
    usage = text("%glm usage")
    assert "web searches     1 x $0.033 = $0.033" in usage
    assert "(3 run, 1 declined)" in usage


@pytest.mark.notebook
def test_rows_notebook_shows_what_it_promises() -> None:
    """map_rows in a real kernel: a dry run, typed labels, a failure, a resume, --each."""
    code = error_free_code_cells(replayed("rows.ipynb"))

    def text(prefix: str) -> str:
        return outputs_text(next(c for c in code if c.source.startswith(prefix)))

    estimate = text("from glm_magics import map_rows")
    assert "map_rows dry run" in estimate and "requests" in estimate
    labelled = text("import tempfile")
    assert "IntProgress" in labelled  # the progress bar, a widget in a notebook
    assert "glm_error" in labelled
    failure = text('print(labelled.attrs["glm_magics"]["summary"])')
    assert "7 answered" in failure and "1 failed" in failure and "the demo refuses" in failure
    resumed = text("if server is not None:\n    server.responder = None")
    assert "(7 from the store)" in resumed and "every row answered: True" in resumed
    assert "float64" in resumed
    assert "glm_tokens" in text('short[["review"')
