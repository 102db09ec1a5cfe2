"""Cassettes from plain Python: record with the real client against the local server over
loopback, then replay with the network out of reach (a closed port, no key)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glm_magics import (
    BadRequestError,
    Cassette,
    CassetteMissError,
    CassetteSecretError,
    GLMClient,
    Session,
    map_rows,
)
from glm_magics.cassette.entries import normalise_request, request_key
from glm_magics.cassette.replay import FAST_TOTAL, _schedule
from glm_magics.display.status import format_status
from glm_magics.events import TextDelta
from glm_magics.testing import LocalGLMServer, Reply, ToolCallSpec

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
SOURCES = [{"title": "GLM release notes", "link": "https://example.org/glm", "content": "4.7"}]


@pytest.fixture
def closed_url() -> str:
    """A base URL nothing listens on: any request sent there fails at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture(autouse=True)
def _close_every_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each client a test makes is closed after it (no socket left to the collector)."""
    made: list[GLMClient] = []
    original = GLMClient.__init__

    def remember(self: GLMClient, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(GLMClient, "__init__", remember)
    yield
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EMPIRIOLABS_API_KEY", "GLM_CASSETTE", "GLM_CASSETTE_MODE", "GLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def ask(client: GLMClient, text: str, **options: Any) -> Any:
    return client.chat([{"role": "user", "content": text}], **options)


def same(a: Any, b: Any) -> bool:
    """The same answer: tool-call ids aside (the service invents them, so the cassette
    keeps ids of its own)."""

    def seen(result: Any) -> tuple[Any, ...]:
        calls = [(call.name, call.arguments) for call in result.tool_calls]
        return (result.text, result.reasoning, calls, result.usage, result.sources,
                result.finish_reason)  # fmt: skip

    return seen(a) == seen(b)


@pytest.mark.parametrize("api", ["chat", "responses", "messages"])
@pytest.mark.parametrize("stream", [True, False])
def test_record_then_replay_is_identical_on_every_endpoint(
    server: LocalGLMServer, closed_url: str, tmp_path: Path, api: str, stream: bool
) -> None:
    path = tmp_path / "lesson.jsonl"
    server.queue(
        Reply(text="A p-value is **small**.", reasoning="Define it.", web_search=SOURCES),
        Reply(tool_calls=[ToolCallSpec("lookup", '{"city": "Lisbon"}')]),
    )
    recording = GLMClient(base_url=server.base_url, cassette=Cassette(path, "record"))
    first = ask(recording, "What is a p-value?", api=api, stream=stream, temperature=0.2)
    call = ask(recording, "Look Lisbon up.", api=api, stream=stream, tools=[_LOOKUP])
    assert first.provenance.source == "recorded" and first.sources

    sent = len(server.requests)
    replaying = GLMClient(base_url=closed_url, cassette=Cassette(path, "replay"))
    again = ask(replaying, "What is a p-value?", api=api, stream=stream, temperature=0.2)
    again_call = ask(replaying, "Look Lisbon up.", api=api, stream=stream, tools=[_LOOKUP])
    assert same(first, again) and same(call, again_call)
    assert again_call.tool_calls[0].name == "lookup"
    assert again.provenance.source == "replayed" and again.provenance.cassette == path.name
    assert len(server.requests) == sent


_LOOKUP = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


def test_tools_run_locally_on_replay(
    server: LocalGLMServer, closed_url: str, tmp_path: Path
) -> None:
    calls: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        calls.append((a, b))
        return a + b

    server.queue(Reply(tool_calls=[ToolCallSpec("add", '{"a": 2, "b": 40}')]), Reply(text="42."))
    path = tmp_path / "tools.jsonl"
    live = ask(GLMClient(base_url=server.base_url, cassette=path), "2 + 40?", tools=[add])
    replayed = ask(GLMClient(base_url=closed_url, cassette=Cassette(path, "replay")), "2 + 40?",
                   tools=[add])  # fmt: skip
    assert live.text == replayed.text == "42."
    assert calls == [(2, 40), (2, 40)]  # the function ran again, here, on replay
    lines = path.read_text().splitlines()
    assert len(lines) == 3  # the header, the tool-call round, the answer


def test_a_repeated_question_gets_a_sequence_number(
    server: LocalGLMServer, closed_url: str, tmp_path: Path
) -> None:
    server.queue(Reply(text="First."), Reply(text="Second."))
    path = tmp_path / "seq.jsonl"
    recording = GLMClient(base_url=server.base_url, cassette=Cassette(path, "record"))
    assert [ask(recording, "Again?").text for _ in range(2)] == ["First.", "Second."]
    auto = GLMClient(base_url=server.base_url, cassette=Cassette(path))
    assert [ask(auto, "Again?").text for _ in range(3)] == ["First.", "Second.", "Second."]
    entries = Cassette(path).entries()
    assert [entry.seq for entry in entries] == [1, 2] and entries[0].key == entries[1].key

    replaying = GLMClient(base_url=closed_url, cassette=Cassette(path, "replay"))
    replies = [ask(replaying, "Again?").text for _ in range(3)]
    assert replies == ["First.", "Second.", "Second."]  # past the last: the last again


def test_a_miss_is_one_line_naming_the_nearest_entry_and_nothing_is_sent(
    server: LocalGLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "miss.jsonl"
    server.queue(Reply(text="Yes."), Reply(text="No."))
    recording = GLMClient(base_url=server.base_url, cassette=path)
    ask(recording, "Is a p-value a probability?", temperature=0.2)
    ask(recording, "What is a confidence interval?")
    sent = len(server.requests)
    replaying = GLMClient(base_url=server.base_url, cassette=Cassette(path, "replay"))
    with pytest.raises(CassetteMissError) as caught:
        ask(replaying, "Is a p-value a percentage?", temperature=0.3)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("not in the cassette miss.jsonl")
    assert "nearest recorded request (#1" in message
    assert "the question (" in message and "probability" in message and "percentage" in message
    assert "temperature (0.2 recorded, 0.3 now)" in message
    assert len(server.requests) == sent


def test_auto_mode_replays_without_a_key_and_says_how_to_record_a_miss(
    server: LocalGLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "auto.jsonl"
    server.queue(Reply(text="Recorded."), Reply(text="Asked and recorded."))
    recording = GLMClient(base_url=server.base_url, cassette=Cassette(path))  # auto
    assert ask(recording, "One?").provenance.source == "recorded"
    assert ask(recording, "Two?").text == "Asked and recorded."
    again = GLMClient(base_url=server.base_url, cassette=Cassette(path))  # a new run
    assert ask(again, "One?").provenance.source == "replayed"

    remote = GLMClient(base_url="https://api.empiriolabs.ai/v1", cassette=Cassette(path))
    assert ask(remote, "Two?").text == "Asked and recorded."  # no key needed to replay
    with pytest.raises(CassetteMissError, match=r"set EMPIRIOLABS_API_KEY .* to record"):
        ask(remote, "Three?")


def test_the_key_and_token_shapes_are_never_written(server: LocalGLMServer, tmp_path: Path) -> None:
    key = "sk-lesson-0123456789abcdefghij"
    path = tmp_path / "secret.jsonl"
    client = GLMClient(key, base_url=server.base_url, cassette=path)
    server.queue(Reply(text="Fine."))
    ask(client, "Is this safe?")
    before = path.read_bytes()

    server.queue(Reply(text="Noted."))
    with pytest.raises(CassetteSecretError, match="holds the API key") as caught:
        ask(client, f"My key is {key[3:]}{key[:3]} reversed, and {key}.")
    assert key not in str(caught.value)
    server.queue(Reply(text="Send `Authorization: Bearer abcdefghijklmnopqrstuvwx` along."))
    with pytest.raises(CassetteSecretError, match="a bearer token"):  # though streamed in pieces
        ask(client, "How do I call it?")
    server.queue(Reply(text=f"Your key: {key}", chunk_size=1))
    with pytest.raises(CassetteSecretError, match="holds the API key"):
        ask(client, "Remind me of my key.")
    assert path.read_bytes() == before
    assert key not in path.read_text() and "authorization" not in path.read_text().lower()


def test_the_environment_turns_cassettes_on_off_and_forces_the_mode(
    server: LocalGLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("GLM_CASSETTE", str(path))
    server.queue(Reply(text="From the environment."))
    assert ask(GLMClient(base_url=server.base_url), "Env?").provenance.source == "recorded"
    assert len(Cassette(path)) == 1

    monkeypatch.setenv("GLM_CASSETTE_MODE", "replay")
    sent = len(server.requests)
    forced = GLMClient(base_url=server.base_url, cassette=Cassette(path, "record"))
    assert ask(forced, "Env?").text == "From the environment."
    assert len(server.requests) == sent
    with pytest.raises(CassetteMissError, match=r"GLM_CASSETTE_MODE=replay"):
        ask(forced, "Other?")

    monkeypatch.setenv("GLM_CASSETTE", "off")
    server.queue(Reply(text="Live."))
    assert ask(forced, "Env?").text == "Live."  # every cassette off, even one given
    monkeypatch.setenv("GLM_CASSETTE_MODE", "sideways")
    monkeypatch.setenv("GLM_CASSETTE", str(path))
    with pytest.raises(Exception, match="GLM_CASSETTE_MODE must be one of"):
        ask(GLMClient(base_url=server.base_url), "Env?")


def test_recording_the_same_answers_again_leaves_the_file_byte_identical(
    server: LocalGLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "stable.jsonl"

    def record(answer: str) -> None:
        server.queue(
            Reply(text=answer, reasoning="Think."),
            Reply(tool_calls=[ToolCallSpec("add", '{"a": 1, "b": 2}')]),
            Reply(text="3."),
        )
        client = GLMClient(base_url=server.base_url, cassette=Cassette(path, "record"))
        ask(client, "Hello?")
        ask(client, "1 + 2?", tools=[_add])

    record("Hi.")
    first = path.read_bytes()
    time.sleep(1.1)  # a new `created` second and new ids from the server
    record("Hi.")
    assert path.read_bytes() == first
    record("Hello there.")
    assert path.read_bytes() != first and len(Cassette(path)) == 3  # replaced, not added
    replaying = GLMClient(base_url=server.base_url, cassette=Cassette(path, "replay"))
    assert ask(replaying, "Hello?").text == "Hello there."


def _add(a: int, b: int) -> int:
    """Add."""
    return a + b


def test_volatile_fields_of_real_traffic_are_normalised(
    server: LocalGLMServer, closed_url: str, tmp_path: Path
) -> None:
    folder = RECORDED / "zai-glm-4.7-flash"
    server.queue(Reply.from_recorded(folder / "thinking-stream-turn0.response.sse"))
    path = tmp_path / "real.jsonl"
    request = json.loads((folder / "thinking-stream-turn0.request.json").read_text())
    live = ask(GLMClient(base_url=server.base_url, cassette=path), "Weather in Florence?")
    text = path.read_text()
    assert "202603130505331e1698c2b13a4e98" not in text and "1773349533" not in text
    assert "call_330c741a86144cb7a385bc6d" not in text and '"model": "glm-4.7-flash"' in text
    replayed = ask(GLMClient(base_url=closed_url, cassette=Cassette(path, "replay")),
                   "Weather in Florence?")  # fmt: skip
    assert same(live, replayed) and replayed.model == "glm-4.7-flash"
    assert replayed.tool_calls[0].id.startswith("call_")
    # A follow-up sends back whichever id it got: live or replayed, the key is the same.
    follow_up = {**request, "messages": [{"role": "tool", "tool_call_id": "call_abc"}]}
    other_id = {**request, "messages": [{"role": "tool", "tool_call_id": "call_xyz"}]}
    assert request_key("/chat/completions", normalise_request(follow_up)) == request_key(
        "/chat/completions", normalise_request(other_id)
    )


def test_a_refusal_is_replayed_and_a_passing_429_is_not_recorded(
    server: LocalGLMServer, closed_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "errors.jsonl"
    client = GLMClient(base_url=server.base_url, cassette=path, max_retries=2)
    server.queue(Reply.error(400, "1214", "the prompt is refused"))
    with pytest.raises(BadRequestError, match="the prompt is refused"):
        ask(client, "Refuse me.")
    server.queue(Reply.error(429, retry_after=0.01), Reply(text="After a wait."))
    assert ask(client, "Busy?").text == "After a wait."
    assert [entry.status for entry in Cassette(path).entries()] == [400, 200]
    replaying = GLMClient(base_url=closed_url, cassette=Cassette(path, "replay"))
    with pytest.raises(BadRequestError, match="the prompt is refused"):
        ask(replaying, "Refuse me.")


def test_model_descriptions_are_recorded_and_replayed(
    server: LocalGLMServer, closed_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "models.jsonl"
    models = GLMClient(base_url=server.base_url, cassette=path).models()
    assert GLMClient(base_url=closed_url, cassette=Cassette(path, "replay")).models() == models


def test_a_stopped_recording_replays_up_to_the_stop_then_waits_to_be_stopped(
    server: LocalGLMServer, tmp_path: Path, closed_url: str
) -> None:
    path = tmp_path / "stop.jsonl"
    essay = " ".join(f"Sentence {n}." for n in range(400))
    server.queue(Reply(text=essay, tokens_per_second=200))
    recording = Session(GLMClient(base_url=server.base_url), cassette=Cassette(path, "record"))
    threading.Timer(0.4, recording.stop).start()
    partial = recording.ask("Write an essay.")
    assert partial.interrupted and 0 < len(partial.text) < len(essay)
    (entry,) = [e for e in Cassette(path).entries() if e.endpoint == "/chat/completions"]
    assert entry.complete is False

    seen: list[str] = []

    class Watch:
        def report(self, event: Any) -> None:
            if isinstance(event, TextDelta):
                seen.append(event.text)

    replaying = Session(GLMClient(base_url=closed_url), cassette=Cassette(path, "replay"))
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(replaying.ask("Write an essay.", reporter=Watch()))
    )
    worker.start()
    deadline = time.monotonic() + 10
    while "".join(seen) != partial.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert worker.is_alive()  # all of it arrived, and it waits as a running answer would
    replaying.stop()
    worker.join(5)
    assert done[0].interrupted and done[0].text == partial.text


def test_the_fast_pace_fits_any_answer_in_a_fraction_of_a_second(
    server: LocalGLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "pace.jsonl"
    server.queue(Reply(text="word " * 60, ttft=0.2, tokens_per_second=100))
    ask(GLMClient(base_url=server.base_url, cassette=path), "Slow?")
    entry = Cassette(path).entries()[0]
    assert entry.duration > 0.5  # as recorded
    fast, recorded, instant = (_schedule(entry, pace) for pace in ("fast", "recorded", "instant"))
    assert fast[-1][0] <= FAST_TOTAL and recorded[-1][0] == pytest.approx(entry.duration)
    assert {at for at, _ in instant} == {0.0}
    assert [at for at, _ in fast] == sorted(at for at, _ in fast)  # the rhythm is kept


def test_provenance_shows_in_the_status_line(
    server: LocalGLMServer, tmp_path: Path, closed_url: str
) -> None:
    path = tmp_path / "status.jsonl"
    server.queue(Reply(text="Hi.", model="glm-4.7-flash"))
    recorded = ask(GLMClient(base_url=server.base_url, cassette=path), "Hi?", temperature=0.5)
    assert format_status(recorded)[0].endswith("recorded to status.jsonl")
    replayed = ask(GLMClient(base_url=closed_url, cassette=Cassette(path, "replay")), "Hi?",
                   temperature=0.5)  # fmt: skip
    status = format_status(replayed)[0]
    day = replayed.provenance.date
    assert status.startswith(f"replayed · recorded {day} with glm-4.7-flash · tokens in")
    assert "first token" not in status  # the replay's own speed says nothing
    assert replayed.provenance.metadata(replayed.model) == {
        "model": "glm-4.7-flash",
        "endpoint": "/chat/completions",
        "parameters": {"temperature": 0.5},
        "date": day,
        "source": "replayed",
        "cassette": "status.jsonl",
    }


def test_map_rows_goes_through_the_sessions_cassette(
    server: LocalGLMServer, tmp_path: Path, closed_url: str
) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"review": ["Great kettle.", "Broke in a week.", "Fine."]})
    path = tmp_path / "rows.jsonl"
    recording = Session(GLMClient(base_url=server.base_url), cassette=path)
    live = map_rows(frame, "Label: {review}", client=recording, progress=False)
    sent = len(server.requests)
    replaying = Session(GLMClient(base_url=closed_url), cassette=Cassette(path, "replay"))
    again = map_rows(frame, "Label: {review}", client=replaying, progress=False)
    assert list(again["answer"]) == list(live["answer"]) and again["glm_error"].isna().all()
    assert len(server.requests) == sent


def test_a_missing_file_is_named_in_the_miss(tmp_path: Path, closed_url: str) -> None:
    client = GLMClient(base_url=closed_url, cassette=Cassette(tmp_path / "typo.jsonl", "replay"))
    with pytest.raises(CassetteMissError, match=r"there is no file at .*typo\.jsonl \(check the"):
        ask(client, "Hi?")


def test_a_malformed_file_says_which_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"glm_magics_cassette": 1}\n{"key": 1}\n')
    with pytest.raises(Exception, match=r"line 2 of the cassette .* is not an entry"):
        Cassette(path).entries()
    with pytest.raises(Exception, match="mode must be one of auto, record, replay"):
        Cassette(path, "rewind")


def test_a_changed_dataframe_is_named_apart_from_the_question(
    server: LocalGLMServer, tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    path = tmp_path / "frames.jsonl"
    session = Session(GLMClient(base_url=server.base_url), cassette=Cassette(path, "record"))
    session.ask("Which region sells most?", frames={"sales": pd.DataFrame({"units": [1, 2]})})
    (entry,) = [e for e in Cassette(path).entries() if e.request]
    assert entry.question == "Which region sells most?"  # as %glm cassette lists it
    again = Session(GLMClient(base_url=server.base_url), cassette=Cassette(path, "replay"))
    with pytest.raises(CassetteMissError) as caught:
        again.ask("Which region sells most?", frames={"sales": pd.DataFrame({"units": [1, 3]})})
    assert "differs in the context attached to the question" in str(caught.value)
    assert "differs in the question" not in str(caught.value)
