"""``%glm cassette`` in a real IPython shell: record a lesson's cells, replay them offline."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from glm_magics.testing import Reply
from tests.conftest import Session


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EMPIRIOLABS_API_KEY", "GLM_CASSETTE", "GLM_CASSETTE_MODE"):
        monkeypatch.delenv(name, raising=False)


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def record_lesson(session: Session, path: Path) -> str:
    """Record two cells: a question, and --code; return the first answer's html."""
    session.magics.session.close()  # a new client: the model's ranges are asked (and recorded)
    session.server.queue(
        Reply(text="A p-value measures **surprise**.", reasoning="Recall the definition."),
        Reply(text="```python\ntotal = sum(range(10))\n```"),
    )
    session.line(f"cassette {path} mode=record")
    session.cell("-t 0.2", "What is a p-value?")
    first = session.publisher.final_html()
    session.cell("--code", "Sum the numbers below ten.")
    return first


def test_a_recorded_lesson_replays_offline_through_the_same_display(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lesson.jsonl"
    live_html = record_lesson(session, path)
    assert "Cassette" in capsys.readouterr().out

    session.magics.session.reset()
    session.magics.session.settings.base_url = closed_url()
    session.publisher.messages.clear()
    session.shell.rl_next_input = None
    session.line(f"cassette {path} mode=replay")
    assert "mode replay, replays only; nothing is sent" in capsys.readouterr().out
    session.cell("-t 0.2", "What is a p-value?")
    html = session.publisher.final_html()
    assert "<strong>surprise</strong>" in html and "glm-reasoning" in html
    assert "replayed · recorded 20" in html and " with glm-4-7-flash" in html
    assert live_html.split("glm-status")[0] == html.split("glm-status")[0]
    (status,) = [m for m in session.publisher.messages if "glm-status" in str(m.data)]
    glm = status.metadata["glm"]
    assert glm["source"] == "replayed" and glm["cassette"] == "lesson.jsonl"
    assert glm["endpoint"] == "/chat/completions" and glm["parameters"]["temperature"] == 0.2
    assert glm["model"] == "glm-4-7-flash" and glm["date"].startswith("20")
    assert "replayed" in status.data["text/plain"]

    session.cell("--code", "Sum the numbers below ten.")
    assert session.shell.rl_next_input.endswith("total = sum(range(10))")
    assert "total" not in session.shell.user_ns  # inserted, never run

    capsys.readouterr()
    session.line("cassette")
    listing = capsys.readouterr().out
    assert "lesson.jsonl" in listing and "mode      replay" in listing
    assert "3 replayed, 0 recorded, 0 missed" in listing  # and the model's ranges
    assert "GET /models/glm-4-7-flash" in listing
    assert "What is a p-value?" in listing and "Sum the numbers below ten." in listing


def test_a_live_answer_carries_its_provenance_too(session: Session) -> None:
    session.server.queue(Reply(text="Live."))
    session.cell("--max-tokens 64", "Hello?")
    (status,) = [m for m in session.publisher.messages if "glm-status" in str(m.data)]
    glm = status.metadata["glm"]
    assert glm["source"] == "live" and glm["cassette"] is None
    assert glm["parameters"] == {"max_tokens": 64}


def test_a_miss_is_one_error_line_and_nothing_is_sent(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "lesson.jsonl"
    record_lesson(session, path)
    sent = len(session.server.requests)
    session.publisher.messages.clear()
    session.magics.session.reset()
    session.line(f"cassette {path} mode=replay")
    session.cell("-t 0.2", "What is a p value?")
    text = session.publisher.all_text()
    assert "Error: not in the cassette lesson.jsonl (mode replay; nothing was sent)" in text
    assert "the question ('What is a p-value?' recorded, 'What is a p value?' now)" in text
    assert "Traceback" not in text
    assert len(session.server.requests) == sent


def test_off_and_misuse(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session.line(f"cassette {tmp_path / 'x.jsonl'}")
    assert "(no answers yet): mode auto, replays what is recorded" in capsys.readouterr().out
    session.line("cassette off")
    session.line("cassette")
    assert "No cassette: answers come from the service" in capsys.readouterr().out
    session.server.queue(Reply(text="Live again."))
    session.cell("", "Hi?")
    assert not (tmp_path / "x.jsonl").exists()
    with pytest.raises(UsageError, match="mode must be one of auto, record, replay"):
        session.line("cassette x.jsonl mode=rewind")
    with pytest.raises(UsageError, match=r"unknown option 'colour=red'"):
        session.line("cassette x.jsonl colour=red")
    with pytest.raises(UsageError, match="pace must be one of fast, recorded, instant"):
        session.line("cassette x.jsonl pace=slow")


def test_the_environment_forces_replay_whatever_the_notebook_asks(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = tmp_path / "lesson.jsonl"
    record_lesson(session, path)
    sent = len(session.server.requests)
    monkeypatch.setenv("GLM_CASSETTE_MODE", "replay")
    session.magics.session.reset()
    capsys.readouterr()
    session.line(f"cassette {path} mode=record")
    assert "mode replay (set by $GLM_CASSETTE_MODE)" in capsys.readouterr().out
    session.cell("-t 0.2", "What is a p-value?")
    assert len(session.server.requests) == sent
