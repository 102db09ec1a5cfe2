"""``Session`` in plain Python: the core the magics, the panel and batch work drive.

The real client against the local server over loopback; no IPython involved.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from glm_magics import GLMClient, Session
from glm_magics.core.reporting import Answered, Event, Failed, Notice, RoundEnded, Tick, ToolRan
from glm_magics.errors import InternalServerError, ParameterError
from glm_magics.events import TextDelta
from glm_magics.testing import LocalGLMServer, Reply, ToolCallSpec
from glm_magics.tools import ToolRegistry
from tests.conftest import interrupt_after


class Recorder:
    """A reporter that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def report(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[type]:
        return [type(event) for event in self.events if not isinstance(event, Tick)]


@pytest.fixture
def session(server: LocalGLMServer) -> Iterator[Session]:
    with (
        GLMClient(base_url=server.base_url, max_retries=0) as client,
        Session(client=client) as made,
    ):
        yield made


def posts(server: LocalGLMServer) -> list[Any]:
    return [request.body for request in server.requests if request.method == "POST"]


def test_a_session_keeps_its_turns_and_counts_its_usage(
    session: Session, server: LocalGLMServer
) -> None:
    server.queue(Reply(reasoning="Define it.", text="A p-value is..."), Reply(text="Shorter."))
    first = session.ask("What is a p-value?", temperature=0.2)
    assert (first.text, first.reasoning) == ("A p-value is...", "Define it.")
    session.ask("Shorter, please.")
    sent = posts(server)
    assert sent[0]["temperature"] == 0.2 and "temperature" not in sent[1]
    assert [m["content"] for m in sent[1]["messages"]] == [
        "What is a p-value?",
        "A p-value is...",
        "Shorter, please.",
    ]
    assert len(session.conversation) == 2 and session.usage.requests == 2
    assert session.last_result is not None and session.last_result.text == "Shorter."
    session.reset()
    assert len(session.conversation) == 0 and session.usage.requests == 2


def test_the_settings_are_what_an_ask_starts_from(session: Session, server: LocalGLMServer) -> None:
    session.settings.temperature = 0.3
    session.settings.system = "Be brief."
    session.settings.thinking = False
    server.queue(Reply(text="ok"), Reply(text="ok"))
    session.ask("One")
    session.ask("Two", temperature=0.9, system="")
    first, second = posts(server)
    assert first["temperature"] == 0.3 and first["thinking"] == {"type": "disabled"}
    assert first["messages"][0] == {"role": "system", "content": "Be brief."}
    assert second["temperature"] == 0.9 and second["messages"][0]["role"] == "user"


def test_dataframe_context_without_cell_values(session: Session, server: LocalGLMServer) -> None:
    pd = pytest.importorskip("pandas")
    sales = pd.DataFrame({"region": ["north-secret", "south"], "units": [3, 5]})
    server.queue(Reply(text="Two regions."))
    session.ask("Describe it.", frames={"sales": sales}, rows=0)
    content = posts(server)[0]["messages"][-1]["content"]
    assert "sales" in content and "units" in content and content.endswith("Describe it.")
    assert "north-secret" not in content  # rows=0: no cell value of a text column
    turn = next(iter(session.conversation))
    assert turn.question == "Describe it." and turn.has_context
    with pytest.raises(ParameterError, match="not a pandas or polars"):
        session.ask("Describe it.", frames={"sales": [1, 2]})


def test_python_functions_run_through_the_one_tool_loop(
    session: Session, server: LocalGLMServer
) -> None:
    def add(a: int, b: int) -> int:
        """Add two whole numbers."""
        return a + b

    server.queue(
        Reply(tool_calls=[ToolCallSpec("add", '{"a": 2, "b": 3}', id="call_1")]),
        Reply(text="5"),
    )
    recorder = Recorder()
    result = session.ask("Add 2 and 3.", tools=[add], reporter=recorder)
    assert result.text == "5"
    tool_result = posts(server)[1]["messages"][-1]
    assert tool_result == {"role": "tool", "tool_call_id": "call_1", "content": "5"}
    assert RoundEnded in recorder.kinds() and ToolRan in recorder.kinds()
    assert session.usage.requests == 2
    only = ToolRegistry()
    server.queue(Reply(text="none offered"))
    session.ask("Anything?", tools=only)
    assert "tools" not in posts(server)[2]


def test_stop_from_another_thread_ends_the_answer_at_once(
    session: Session, server: LocalGLMServer
) -> None:
    server.queue(Reply(text="word " * 400, tokens_per_second=40))
    recorder = Recorder()
    outcome: dict[str, Any] = {}

    def ask() -> None:
        outcome["result"] = session.ask("Talk for a while.", reporter=recorder)
        outcome["ended"] = time.monotonic()

    worker = threading.Thread(target=ask)
    worker.start()
    deadline = time.monotonic() + 5
    while not any(isinstance(e, TextDelta) for e in recorder.events):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pressed = time.monotonic()
    session.stop()
    worker.join(5)
    assert outcome["ended"] - pressed < 0.5
    result = outcome["result"]
    assert result.interrupted and 0 < len(result.text) < len("word " * 400)
    assert server.wait_for_disconnect().client_disconnected
    assert next(iter(session.conversation)).interrupted  # the partial turn is kept
    assert isinstance(recorder.events[-1], Answered)


def test_a_cancel_event_stops_only_its_own_ask(session: Session, server: LocalGLMServer) -> None:
    cancel = threading.Event()
    cancel.set()  # stopped before it starts: nothing is kept
    server.queue(Reply(text="never shown", ttft=0.3))
    result = session.ask("Hello?", cancel=cancel)
    assert result.interrupted and result.text == ""
    assert len(session.conversation) == 0


def test_a_mistake_is_raised_before_anything_is_sent_or_reported(
    session: Session, server: LocalGLMServer
) -> None:
    recorder = Recorder()
    with pytest.raises(ParameterError, match="temperature must be between 0 and 1"):
        session.ask("Hot?", temperature=3, reporter=recorder)
    with pytest.raises(ParameterError, match="Did you mean 'max_tokens'"):
        session.ask("Typo?", max_tokenz=5, reporter=recorder)
    assert recorder.events == []
    assert posts(server) == []


def test_a_service_failure_is_reported_then_raised(
    session: Session, server: LocalGLMServer
) -> None:
    server.queue(Reply.error(500, "500", "the GPU caught fire"))
    recorder = Recorder()
    with pytest.raises(InternalServerError, match="GPU caught fire"):
        session.ask("Hello", reporter=recorder)
    failed = [event for event in recorder.events if isinstance(event, Failed)]
    assert len(failed) == 1 and "GPU caught fire" in failed[0].message
    assert len(session.conversation) == 0 and session.usage.requests == 1


def test_an_interrupt_keeps_the_partial_turn_and_is_raised_again(
    session: Session, server: LocalGLMServer
) -> None:
    server.queue(Reply(text="word " * 400, tokens_per_second=40))
    with interrupt_after(0.4), pytest.raises(KeyboardInterrupt):
        session.ask("Talk for a while.")
    assert session.last_result is not None and session.last_result.interrupted
    assert len(session.conversation) == 1


def test_notes_come_before_the_answer(session: Session, server: LocalGLMServer) -> None:
    server.queue(Reply(text="x " * 150), Reply(text="x " * 150), Reply(text="ok"))
    session.ask("one", max_tokens=100)
    session.ask("two", max_tokens=100)
    session.conversation.window, session.conversation.scale = 250, 1.0  # room for one turn
    recorder = Recorder()
    session.ask("three", max_tokens=100, reporter=recorder)
    notice = next(event for event in recorder.events if isinstance(event, Notice))
    assert "oldest turn(s) left out" in notice.message
    assert recorder.kinds().index(Notice) < recorder.kinds().index(Answered)


def test_without_a_client_the_session_makes_one_from_its_settings(server: LocalGLMServer) -> None:
    with Session() as session:
        session.settings.base_url = server.base_url
        first = session.client
        assert first.base_url == server.base_url and session.client is first
        session.settings.timeout = 30.0
        assert session.client is not first  # a connection setting changed: a new client
        server.queue(Reply(text="hi"))
        assert session.ask("hello").text == "hi"
        assert "1 requests" in repr(session)


def test_the_clients_tool_loop_is_the_sessions_and_stops_on_an_interrupt(
    server: LocalGLMServer,
) -> None:
    """``GLMClient.chat(tools=[...])`` runs through the same loop: an interrupt closes the
    connection at once and is raised again."""

    def slow_story(topic: str) -> str:
        """Tell a story."""
        return f"A story about {topic}."

    server.queue(
        Reply(tool_calls=[ToolCallSpec("slow_story", '{"topic": "GLM"}')]),
        Reply(text="word " * 400, tokens_per_second=40),
    )
    with GLMClient(base_url=server.base_url) as client:
        started = time.monotonic()
        with interrupt_after(0.5), pytest.raises(KeyboardInterrupt):
            client.chat([{"role": "user", "content": "A story?"}], tools=[slow_story])
        assert time.monotonic() - started < 2
    assert server.wait_for_disconnect().client_disconnected
    assert len(posts(server)) == 2  # the tool round, then the interrupted answer


def test_a_profiles_settings_reach_the_session() -> None:
    """``c.GLMMagics.temperature = 0.3`` in an IPython profile sets the session's setting."""
    code = (
        "from traitlets.config import Config\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "c = Config()\n"
        "c.GLMMagics.temperature = 0.3\n"
        "c.GLMMagics.system = 'Be brief.'\n"
        "ip = InteractiveShell.instance(config=c)\n"
        "ip.run_line_magic('load_ext', 'glm_magics')\n"
        "print(ip.magics_manager.registry['GLMMagics'].session.settings)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "Settings(temperature=0.3, system='Be brief.')"
