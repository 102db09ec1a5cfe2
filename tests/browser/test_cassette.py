"""A replayed answer in JupyterLab, in Chromium: it streams like a live one (here at the
recorded pace), says where it came from, and the saved notebook keeps its provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.notebook_page import OpenNotebook, save_screenshot
from tests.browser.scenarios import STREAMING_REASONING, STREAMING_TEXT

pytestmark = pytest.mark.browser

RECORD = f"""\
%load_ext glm_magics
from glm_magics.testing import LocalGLMServer, Reply
server = LocalGLMServer(ttft=0.3, tokens_per_second=80).start()
server.queue(Reply(reasoning={STREAMING_REASONING!r}, text={STREAMING_TEXT!r}))
%glm config base_url={{server.base_url}}
%glm cassette lesson.cassette.jsonl mode=record"""
ASK = "%%glm\nHow should I clean my sales table?"
REPLAY = """\
server.stop()  # nothing to answer any more: the cassette must
%glm reset
%glm cassette lesson.cassette.jsonl mode=replay pace=recorded"""


def test_a_replayed_answer_shows_its_provenance(open_in_lab: OpenNotebook, tmp_path: Path) -> None:
    nb = open_in_lab("lesson.ipynb", [RECORD, ASK, REPLAY, ASK])
    nb.run(0)
    nb.run(1)
    live = nb.final_output(1)
    assert live.status.endswith("recorded to lesson.cassette.jsonl"), live
    nb.run(2)
    nb.start(3)
    states = nb.watch_output(3, interval=0.15)
    replayed = states[-1]
    nb.cell(3).locator(".glm-status").scroll_into_view_if_needed()
    save_screenshot(nb.page, "test_cassette-replayed-answer")
    assert not replayed.error, replayed
    # The same words; the line breaks between displays depend on how the stream was cut.
    assert replayed.answer.split() == live.answer.split() and replayed.details == "closed"
    growing = list(dict.fromkeys(state.answer for state in states if state.answer))
    assert len(growing) >= 3, f"the replayed answer did not stream: {growing}"
    assert any(state.reasoning and not state.answer for state in states)  # reasoning first
    assert replayed.status.startswith("replayed · recorded 20"), replayed.status
    assert " with glm-4-7-flash · tokens in " in replayed.status
    nb.save()
    outputs = nb.saved().cells[3].outputs
    (glm,) = [o.metadata["glm"] for o in outputs if "glm" in o.get("metadata", {})]
    assert glm["source"] == "replayed" and glm["cassette"] == "lesson.cassette.jsonl"
    assert glm["endpoint"] == "/chat/completions" and glm["model"] == "glm-4-7-flash"
