"""Python functions as tools: the magics run the call loop against the local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from glm_magics.testing import Reply, ToolCallSpec
from glm_magics.tools import registered_tools, tool, unregister
from tests.conftest import Session

RECORDED = Path(__file__).parent / "fixtures" / "recorded" / "zai-glm-4.7-flash"


def weather(location: str) -> str:
    """Get weather information for a location

    Args:
        location: the city
    """
    return "40 C"


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def fragile(x: int) -> int:
    """Fail on purpose."""
    raise ValueError(f"cannot handle {x}")


@pytest.fixture
def tools_session(session: Session) -> Iterator[Session]:
    session.shell.user_ns.update(weather=weather, add=add, fragile=fragile)
    registered_tools.clear()
    try:
        yield session
    finally:
        registered_tools.clear()
        for name in ("weather", "add", "fragile"):
            session.shell.user_ns.pop(name, None)


def posts(session: Session) -> list[Any]:
    return [r.body for r in session.server.requests if r.method == "POST"]


def test_recorded_tool_exchange_replays_through_the_loop(tools_session: Session) -> None:
    session = tools_session
    session.server.queue(
        Reply.from_recorded(RECORDED / "thinking-stream-turn0.response.sse"),
        Reply.from_recorded(RECORDED / "thinking-stream-turn1.response.sse"),
    )
    session.cell(
        "--tools weather -s 'You are a helpful assistant' -o r",
        "What's the weather in Florence, Italy?",
    )
    first, second = posts(session)
    recorded = json.loads((RECORDED / "thinking-stream-turn1.request.json").read_text())
    assert second["messages"] == recorded["messages"]  # reasoning_content kept, ids echoed
    (sent_tool,) = first["tools"]
    (recorded_tool,) = recorded["tools"]
    for key in ("name", "description", "parameters"):
        assert sent_tool["function"][key] == recorded_tool["function"][key]
    result = session.shell.user_ns["r"]
    assert result.finish_reason == "stop" and "hot" in result.text
    assert "tool call: weather(location='Florence') → 40 C" in session.publisher.all_text()
    html = session.publisher.final_html()
    assert html.count("glm-status") == 2  # one per request
    assert "finish: tool_calls" in html and "finish: stop" in html


def test_parallel_calls_and_the_follow_up_remembers_them(tools_session: Session) -> None:
    session = tools_session
    session.server.queue(
        Reply(
            reasoning="Two sums at once.",
            tool_calls=[
                ToolCallSpec("add", '{"a": 1, "b": 2}'),
                ToolCallSpec("add", '{"a": 5, "b": 5}'),
            ],
        ),
        Reply(text="3 and 10."),
        Reply(text="Yes."),
    )
    session.cell("--tools add", "What are 1+2 and 5+5?")
    _, second = posts(session)
    assistant, first_result, second_result = second["messages"][-3:]
    assert assistant["reasoning_content"] == "Two sums at once."
    assert len(assistant["tool_calls"]) == 2
    assert [first_result["content"], second_result["content"]] == ["3", "10"]
    assert first_result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    session.cell("", "Are you sure?")  # the next cell sends the whole tool exchange again
    follow_up = posts(session)[-1]["messages"]
    assert [m["role"] for m in follow_up] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]


def test_streamed_fragments_are_joined(tools_session: Session) -> None:
    session = tools_session
    session.server.queue(
        Reply(
            tool_calls=[ToolCallSpec("add", '{"a": 20, "b": 22}')], tool_stream=True, chunk_size=1
        ),
        Reply(text="42"),
    )
    session.cell("--tools add -o r", "20 + 22?")
    first, second = posts(session)
    assert first["tool_stream"] is True
    assert second["messages"][-1]["content"] == "42"


def test_a_raising_tool_sends_the_error_back(tools_session: Session) -> None:
    session = tools_session
    session.server.queue(
        Reply(tool_calls=[ToolCallSpec("fragile", '{"x": 3}')]),
        Reply(text="The function failed."),
    )
    session.cell("--tools fragile", "Try it")
    message = posts(session)[-1]["messages"][-1]
    assert message["role"] == "tool" and "ValueError" in message["content"]
    html = session.publisher.final_html()
    assert "cannot handle 3" in html and "The function failed." in html


def test_only_registered_functions_run(tools_session: Session) -> None:
    session = tools_session
    ran: list[str] = []
    session.shell.user_ns["secret"] = lambda: ran.append("secret")
    session.server.queue(
        Reply(tool_calls=[ToolCallSpec("secret", "{}")]),
        Reply(text="I could not."),
    )
    session.cell("--tools add", "Call secret")
    assert ran == []
    message = posts(session)[-1]["messages"][-1]
    assert message["role"] == "tool" and "secret" in message["content"]
    session.shell.user_ns.pop("secret")


def test_the_round_limit_stops_a_runaway_loop(tools_session: Session) -> None:
    session = tools_session
    session.magics.session.settings.tool_rounds = 2
    try:
        session.server.queue(
            *[Reply(tool_calls=[ToolCallSpec("add", '{"a": 1, "b": 1}')]) for _ in range(5)]
        )
        session.cell("--tools add", "Keep adding")
    finally:
        session.magics.session.settings.tool_rounds = 5
    assert len(posts(session)) == 3  # the first request and two rounds of results
    html = session.publisher.final_html()
    assert "after 2 rounds" in html and "tool_rounds" in html


def test_decorated_tools_are_offered_on_every_call(tools_session: Session) -> None:
    session = tools_session

    @tool
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    session.server.queue(
        Reply(tool_calls=[ToolCallSpec("shout", '{"text": "hi"}')]), Reply(text="HI")
    )
    session.cell("", "Shout hi")
    first, second = posts(session)
    assert [t["function"]["name"] for t in first["tools"]] == ["shout"]
    assert second["messages"][-1]["content"] == "HI"
    unregister("shout")
    session.cell("", "No tools now")
    assert "tools" not in posts(session)[-1]


def test_bad_tool_names_are_usage_errors(tools_session: Session) -> None:
    with pytest.raises(UsageError, match="no function named 'nope'"):
        tools_session.cell("--tools nope", "x")
    tools_session.shell.user_ns["number"] = 3
    with pytest.raises(UsageError, match="is an int, not a function"):
        tools_session.cell("--tools number", "x")
    tools_session.shell.user_ns.pop("number")


def test_usage_counts_every_round(
    tools_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    session = tools_session
    session.magics.session.usage.reset()
    session.server.queue(
        Reply(tool_calls=[ToolCallSpec("add", '{"a": 1, "b": 2}')]), Reply(text="3")
    )
    session.cell("--tools add", "1+2")
    capsys.readouterr()
    session.line("usage")
    report = capsys.readouterr().out
    assert "requests         2" in report and "tool calls       1" in report


def test_the_client_runs_python_functions_too(tools_session: Session) -> None:
    from glm_magics import GLMClient
    from glm_magics.errors import ToolLoopError

    session = tools_session
    session.server.queue(
        Reply(tool_calls=[ToolCallSpec("add", '{"a": 2, "b": 40}')]), Reply(text="42")
    )
    with GLMClient(base_url=session.server.base_url) as client:
        result = client.chat([{"role": "user", "content": "2 + 40?"}], tools=[add])
        assert result.text == "42"
        assert posts(session)[-1]["messages"][-1]["content"] == "42"
        session.server.queue(
            *[Reply(tool_calls=[ToolCallSpec("add", '{"a": 1, "b": 1}')]) for _ in range(3)]
        )
        with pytest.raises(ToolLoopError) as stopped:
            client.chat([{"role": "user", "content": "loop"}], tools=[add], max_rounds=1)
        assert stopped.value.partial is not None


@pytest.mark.parametrize("case", ["thinking", "tool"])
@pytest.mark.parametrize("streamed", [True, False])
def test_every_recorded_tool_exchange_replays(
    tools_session: Session, case: str, streamed: bool
) -> None:
    session = tools_session
    kind = "-stream" if streamed else ""
    suffix = "sse" if streamed else "json"
    session.server.queue(
        Reply.from_recorded(RECORDED / f"{case}{kind}-turn0.response.{suffix}"),
        Reply.from_recorded(RECORDED / f"{case}{kind}-turn1.response.{suffix}"),
    )
    flags = "" if streamed else "--no-stream"
    recorded = json.loads((RECORDED / f"{case}{kind}-turn1.request.json").read_text())
    system, question = (m["content"] for m in recorded["messages"][:2])
    session.cell(f"--tools weather {flags} -s '{system}' -o r", question)
    assert posts(session)[-1]["messages"] == recorded["messages"]
    assert session.shell.user_ns["r"].finish_reason == "stop"
