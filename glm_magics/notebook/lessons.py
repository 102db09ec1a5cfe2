"""Record a lesson once, then save what a student will see: ``python -m glm_magics record``.

::

    EMPIRIOLABS_API_KEY=... python -m glm_magics record lesson.ipynb [other.ipynb ...]

For each notebook, two headless runs (Run All, in the notebook's folder):

1. **record**: ``GLM_CASSETTE_MODE=record``, so every ``%%glm`` asks the service and
   the notebook's cassette (its ``%glm cassette PATH`` line) keeps the answers. With
   a key it is the real service; without one, whatever the notebook points at (the
   repository's notebooks start the bundled local test server, see
   :meth:`LocalGLMServer.for_notebook <glm_magics.testing.LocalGLMServer.for_notebook>`).
2. **replay**: ``GLM_CASSETTE_MODE=replay``, no key, the base URL on a closed port:
   exactly a student's situation. Its outputs are saved into the notebook (each
   answer as one output, see :mod:`~glm_magics.notebook.saved`), so the committed
   notebook shows what Run All will show. A cell that fails, or an answer missing
   from the cassette, stops with a message.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from glm_magics.notebook.saved import settle_answers

__all__ = ["REPLAY_ENVIRONMENT", "RecordingFailed", "execute", "main", "problems", "record"]

REPLAY_ENVIRONMENT: Mapping[str, str | None] = {
    "GLM_CASSETTE_MODE": "replay",
    "GLM_BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens there: nothing can be sent
    "GLM_CASSETTE": None,
    "EMPIRIOLABS_API_KEY": None,
    "ZAI_API_KEY": None,
}
"""A student's situation: answers replayed, no key, no reachable service."""

RECORD_ENVIRONMENT: Mapping[str, str | None] = {"GLM_CASSETTE_MODE": "record", "GLM_CASSETTE": None}


class RecordingFailed(Exception):
    """A notebook did not run cleanly while recording or replaying; the message says where."""


@contextlib.contextmanager
def environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """``os.environ`` with ``changes`` (``None`` removes), restored afterwards."""
    saved = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path: Path, changes: Mapping[str, str | None], *, timeout: int = 600) -> Any:
    """Run All on the notebook at ``path`` in a fresh kernel, in its folder, with the
    environment ``changes``; the executed notebook (errors stay in the outputs)."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:  # pragma: no cover - the demo extra brings it
        raise RecordingFailed(
            "running notebooks needs nbclient: pip install 'glm-magics[demo]'"
        ) from None
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        coalesce_streams=True,  # printed text as one output per stream, as tests compare it
        record_timing=False,  # no per-cell timestamps: re-recording changes only what changed
        resources={"metadata": {"path": str(path.parent)}},
    )
    with environment(changes):
        client.execute()
    return notebook


def problems(notebook: Any) -> list[str]:
    """Cells that raised (unless tagged ``raises-exception``) or answered with a miss."""
    found = []
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code":
            continue
        expected = "raises-exception" in cell.metadata.get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and not expected:
                found.append(f"cell {number} raised {output.get('ename')}: {output.get('evalue')}")
            text = _plain(output.get("data", {}).get("text/plain", "")) + _plain(
                output.get("text", "")
            )
            if "not in the cassette" in text or text.startswith("Error: "):
                found.append(f"cell {number}: {text.strip().splitlines()[-1]}")
    return found


def _plain(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def names_a_cassette(notebook: Any) -> bool:
    """Whether a code cell of ``notebook`` turns a cassette on (``%glm cassette PATH``)."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for line in _plain(cell.source).splitlines():
            words = line.split()
            if words[:2] == ["%glm", "cassette"] and len(words) > 2 and words[2] != "off":
                return True
    return False


def record(path: Path) -> str:
    """Record the notebook's answers, then save its replayed outputs; a summary line."""
    import nbformat

    if not names_a_cassette(nbformat.read(path, as_version=4)):  # type: ignore[no-untyped-call]
        raise RecordingFailed(
            f"{path} names no cassette: add `%glm cassette {path.stem}.cassette.jsonl` "
            "after `%load_ext glm_magics`, so its answers have somewhere to go"
        )

    recorded = execute(path, RECORD_ENVIRONMENT)
    trouble = problems(recorded)
    if trouble:
        raise RecordingFailed(f"{path} while recording: " + "; ".join(trouble))
    replayed = execute(path, REPLAY_ENVIRONMENT)
    trouble = problems(replayed)
    if trouble:
        raise RecordingFailed(f"{path} while replaying: " + "; ".join(trouble))
    replayed, _ = settle_answers(replayed, {})
    nbformat.write(replayed, path)  # type: ignore[no-untyped-call]
    answers = sum(
        "replayed · recorded" in str(output.get("data", {}).get("text/plain", ""))
        for cell in replayed.cells
        for output in cell.get("outputs", [])
    )
    return f"{path}: {answers} answer{'' if answers == 1 else 's'} replayed; outputs saved"


def main(argv: list[str] | None = None) -> int:
    """``python -m glm_magics record NOTEBOOK...``."""
    parser = argparse.ArgumentParser(
        prog="python -m glm_magics",
        description="Record notebooks' answers into their cassettes, then save what a "
        "student with no key will see.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="record, then replay and save, notebooks")
    recording.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files")
    args = parser.parse_args(argv)
    source = "the service" if os.environ.get("EMPIRIOLABS_API_KEY") else "no key: local servers"
    print(f"Recording with {source}.", flush=True)
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"no notebook at {path}")
        try:
            print(record(path.resolve()), flush=True)
        except RecordingFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0
