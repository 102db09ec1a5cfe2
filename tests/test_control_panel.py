"""The control panel's behaviour through its plain methods, against the local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import ANY

import pytest

import glm_magics
from glm_magics.notebook.extension import open_panel
from glm_magics.notebook.panel import ControlPanel
from glm_magics.testing import Reply
from tests.conftest import Session

SLOW = Reply(text="word " * 400, tokens_per_second=40)


@pytest.fixture
def panel(session: Session) -> Iterator[ControlPanel]:
    opened = open_panel(session.magics.host)
    try:
        yield opened
    finally:
        opened.close()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)


def ask(panel: ControlPanel, question: str) -> None:
    panel.prompt.value = question
    assert panel.send()
    assert panel.wait(10)


def last_post(session: Session) -> Any:
    """The body of the last chat request (the panel also sends GET /models, in a thread)."""
    return [r for r in session.server.requests if r.method == "POST"][-1].body


def panel_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("glm-panel", "glm-stream"))]


def test_send_streams_the_answer_into_the_panel(session: Session, panel: ControlPanel) -> None:
    session.server.queue(Reply(reasoning="Greeting in Portuguese.", text="**Olá!** Tudo bem?"))
    ask(panel, "Say hi in Portuguese")
    shown = panel._sink.html()
    assert "<strong>Olá!</strong>" in shown
    assert "<details" in shown and "Greeting in Portuguese." in shown  # reasoning folds away
    assert "glm-status" in shown and "first token" in shown and "tok/s" in shown
    assert "tokens in" in shown and "finish: stop" in shown
    assert panel.last_result is not None and panel.last_result.text == "**Olá!** Tudo bem?"
    assert panel.prompt.value == ""  # answered: the box is ready for the next question
    assert not panel.send_button.disabled and panel.stop_button.disabled


def test_model_output_never_becomes_live_html(session: Session, panel: ControlPanel) -> None:
    session.server.queue(
        Reply(text='<img src=x onerror="window.__glm_pwned=1"><script>alert(1)</script>')
    )
    ask(panel, "Break the page")
    shown = panel._sink.html()
    assert "<script>" not in shown and "<img" not in shown
    assert "&lt;script&gt;" in shown


def test_send_returns_at_once_and_cells_run_while_it_streams(
    session: Session, panel: ControlPanel
) -> None:
    session.server.queue(SLOW)
    panel.prompt.value = "Write a lot"
    assert panel.send()
    assert panel.running and panel.send_button.disabled and not panel.stop_button.disabled
    outcome = session.shell.run_cell("side = sum(range(10))")
    assert outcome.success and session.shell.user_ns["side"] == 45
    assert panel.running  # the cell finished while the answer was still streaming
    assert not panel.send()  # a second Send while running is refused, and says why
    assert "still running" in panel.message.value
    panel.prompt.value = "typed while it streams"
    panel.clear()
    assert "wait for it" in panel.message.value and panel.clear_button.disabled
    panel.stop()
    assert panel.wait(5)


def test_stop_ends_the_stream_and_hangs_up(session: Session, panel: ControlPanel) -> None:
    session.server.queue(SLOW)
    panel.prompt.value = "Write a lot"
    panel.send()
    wait_for(lambda: "word" in panel._sink.html())
    panel.stop()
    assert panel.wait(5)
    posts = [n for n, request in enumerate(session.server.requests) if request.method == "POST"]
    session.server.wait_for_disconnect(posts[-1])  # not the panel's GET /models
    result = panel.last_result
    assert result is not None and result.interrupted
    assert 0 < len(result.text) < len(SLOW.text)
    assert "Stopped" not in panel.message.value  # said once, under the answer
    shown = panel._sink.html()
    assert "finish: interrupted" in shown
    assert shown.count("Stopped") == 1 and "Stopped: the answer above is partial." in shown
    assert shown.index("Stopped") > shown.rindex("word")
    assert panel.prompt.value == "Write a lot"  # not answered: the question is kept
    assert not panel.send_button.disabled and panel.stop_button.disabled


def test_stop_before_the_first_byte(session: Session, panel: ControlPanel) -> None:
    session.server.queue(Reply(text="late", ttft=30))
    panel.prompt.value = "Hello?"
    panel.send()
    panel.stop()
    assert panel.wait(5)
    assert panel.last_result is not None and panel.last_result.interrupted
    assert "Stopped before the model answered: no answer." in panel._sink.html()
    assert "partial" not in panel._sink.html()


def test_the_conversation_is_shared_with_the_magics(session: Session, panel: ControlPanel) -> None:
    session.server.queue(Reply(text="Paris."), Reply(text="About 2 million."))
    ask(panel, "Capital of France?")
    session.cell("", "How many people live there?")
    sent = last_post(session)["messages"]
    assert [m["content"] for m in sent] == [
        "Capital of France?",
        "Paris.",
        "How many people live there?",
    ]
    panel.refresh_history()
    assert "Capital of France?" in panel.history.value
    assert "How many people live there?" in panel.history.value
    panel.clear()
    assert len(session.magics.session.conversation) == 0
    assert "empty" in panel.history.value and "cleared (2 turns)" in panel.message.value


def test_settings_follow_the_magics_both_ways(session: Session, panel: ControlPanel) -> None:
    fields = panel.fields
    assert (
        fields["temperature"].value == 1.0 and session.magics.session.settings.temperature is None
    )
    session.line("config temperature=0.2 thinking=False max_tokens=64 model=glm-4.5")
    assert fields["temperature"].value == 0.2
    assert fields["thinking"].value == "off"
    assert fields["max_tokens"].value == 64
    assert fields["model"].value == "glm-4.5"
    fields["top_p"].value = 0.5
    fields["stop"].value = "END"
    fields["do_sample"].value = False
    fields["json"].value = True
    fields["system"].value = "Be brief."
    assert (
        session.magics.session.settings.top_p == 0.5
        and session.magics.session.settings.stop == "END"
    )
    assert (
        session.magics.session.settings.do_sample is False
        and session.magics.session.settings.json is True
    )
    session.server.queue(Reply(text='{"ok": true}'))
    session.cell("", "Reply in JSON")  # the next cell uses what the panel set
    sent = last_post(session)
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.2, 0.5, 64)
    assert sent["stop"] == ["END"] and sent["do_sample"] is False
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["thinking"] == {"type": "disabled"} and sent["model"] == "glm-4.5"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    session.line("config temperature=none thinking=none")
    assert fields["temperature"].value == 1.0 and fields["thinking"].value == "default"
    assert (
        session.magics.session.settings.temperature is None
    )  # showing the default does not set it


def test_the_panel_sends_its_settings(session: Session, panel: ControlPanel) -> None:
    panel.fields["temperature"].value = 0.3
    panel.fields["thinking"].value = "on"
    ask(panel, "Hello")
    sent = last_post(session)
    assert sent["temperature"] == 0.3 and sent["thinking"] == {"type": "enabled"}
    assert sent["stream"] is True


def test_the_model_list_comes_from_the_service(session: Session) -> None:
    session.server.models = ("glm-4-7-flash", "glm-local-test")
    try:
        opened = open_panel(session.magics.host)
        wait_for(lambda: "glm-local-test" in opened.fields["model"].options)
        assert opened.fields["model"].value == "glm-4-7-flash"
        assert opened.models_note.value == ""
        opened.close()
    finally:
        session.server.models = glm_magics.testing.KNOWN_MODELS


def test_an_unreachable_service_offers_the_known_models(session: Session) -> None:
    session.magics.session.settings.base_url = (
        "http://127.0.0.1:9"  # nothing listens on the discard port
    )
    opened = open_panel(session.magics.host)
    try:
        wait_for(lambda: "glm-4.5-air" in opened.fields["model"].options)
        assert "known GLM models" in opened.models_note.value
    finally:
        opened.close()


def test_errors_are_one_readable_line_in_the_panel(session: Session, panel: ControlPanel) -> None:
    assert not panel.send()
    assert "Write a question" in panel.message.value
    session.server.queue(Reply(status=500, error_code="500", error_message="boom"))
    session.magics.session.settings.max_retries = 0
    ask(panel, "Fail please")
    shown = panel._sink.html()
    assert "glm-error" in shown and "boom" in shown
    assert panel.prompt.value == "Fail please"  # nothing lost
    assert not panel.send_button.disabled


def test_an_exception_in_a_handler_is_shown(
    session: Session, panel: ControlPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("the refresh broke")

    monkeypatch.setattr(panel.host, "frame_names", broken)
    panel.refresh_button.click()
    assert "RuntimeError: the refresh broke" in panel.message.value


def test_an_exception_in_the_request_thread_is_shown(
    session: Session, panel: ControlPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("the worker broke")

    monkeypatch.setattr(session.magics.session, "ask", broken)
    panel.prompt.value = "Hello"
    panel.send_button.click()
    assert panel.wait(5)
    assert "ValueError: the worker broke" in panel.message.value
    assert not panel.send_button.disabled


def test_dataframes_are_picked_previewed_and_sent(session: Session, panel: ControlPanel) -> None:
    pd = pytest.importorskip("pandas")
    session.shell.user_ns["sales"] = pd.DataFrame({"region": ["north", "south"], "units": [3, 5]})
    session.shell.user_ns["_hidden"] = pd.DataFrame({"a": [1]})
    try:
        session.shell.run_cell("pass")  # any cell run refreshes the picker
        assert panel.frames.options == ("sales",)
        panel.sections.selected_index = 1  # open "DataFrame context": the preview shows
        panel.frames.value = ("sales",)
        assert "sales" in panel.preview.value and "tokens" in panel.preview.value
        assert "north" in panel.preview.value
        panel.fields["rows"].value = 0  # no cell values at all
        assert session.magics.session.settings.rows == 0
        assert "north" not in panel.preview.value
        ask(panel, "Which region sold more?")
        sent = last_post(session)["messages"][-1]["content"]
        assert "units" in sent and sent.endswith("Which region sold more?")
        assert "north" not in sent
    finally:
        del session.shell.user_ns["sales"], session.shell.user_ns["_hidden"]


def test_insert_code_without_the_extension_offers_the_code(
    session: Session, panel: ControlPanel
) -> None:
    session.server.queue(Reply(text="Here:\n\n```python\nx = 1\n```\n\n```python\ny = 2\n```"))
    ask(panel, "Two assignments")
    assert not panel.insert_button.disabled
    inserted = panel.insert_code()
    assert inserted is not None and inserted.cells == 0
    assert panel.copy_box.layout.display == "" and "x = 1\n\ny = 2" in panel.copy_box.value
    assert "copy the code" in panel.message.value


def test_insert_code_through_the_extension(
    session: Session, panel: ControlPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str | None, list[str]]] = []

    class ReadyBridge:
        def insert_cells(self, anchor: str | None, cells: list[str], metadata: Any) -> bool:
            sent.append((anchor, cells))
            return True

    monkeypatch.setattr("glm_magics.notebook.bridge.shared_bridge", ReadyBridge)
    panel.anchor = "cell-with-the-panel"
    session.server.queue(Reply(text="```python\nx = 1\n```\n\n```python\ny = 2\n```"))
    ask(panel, "Two assignments")
    panel.insert_button.click()
    ((anchor, cells),) = sent
    assert anchor == "cell-with-the-panel" and len(cells) == 2
    assert cells[0].endswith("x = 1") and "review before running" in cells[0]
    assert "Inserted 2 new cells" in panel.message.value


def test_insert_code_without_code_says_so(session: Session, panel: ControlPanel) -> None:
    assert panel.insert_code() is None and "no answer yet" in panel.message.value
    session.server.queue(Reply(text="Just words."))
    ask(panel, "Say something")
    assert panel.insert_button.disabled
    inserted = panel.insert_code()
    assert inserted is not None and inserted.blocks == 0 and "no python code" in inserted.message


def test_closing_a_streaming_panel_leaves_no_threads(session: Session) -> None:
    opened = open_panel(session.magics.host)
    assert opened.widget.comm is not None
    session.server.queue(SLOW)
    opened.prompt.value = "Write a lot"
    opened.send()
    wait_for(lambda: "word" in opened._sink.html())
    opened.close()
    assert panel_threads() == []
    assert session.magics.host.panel is None
    assert opened.widget.comm is None and opened.prompt.comm is None  # widgets closed
    session.line("config temperature=0.4")  # the observers are gone
    assert opened.fields["temperature"].value == 1.0
    with pytest.raises(RuntimeError, match="closed"):
        opened.send()


def test_a_new_panel_replaces_the_old_one(session: Session) -> None:
    first = open_panel(session.magics.host)
    session.line("panel")
    second = session.magics.host.panel
    assert second is not None and second is not first
    assert "closed" in repr(first)
    published = [m.data for m in session.publisher.messages]
    assert any("application/vnd.jupyter.widget-view+json" in data for data in published)
    second.close()
    assert panel_threads() == []


def test_the_package_function_returns_the_session_panel(session: Session) -> None:
    opened = glm_magics.panel()
    try:
        assert session.magics.host.panel is opened
        assert "application/vnd.jupyter.widget-view+json" in opened._repr_mimebundle_()
    finally:
        opened.close()


def test_a_closed_panel_shows_as_text(session: Session) -> None:
    opened = open_panel(session.magics.host)
    assert "idle" in opened._repr_mimebundle_()["text/plain"]
    opened.close()
    assert opened._repr_mimebundle_() == {
        "text/plain": "<glm-magics control panel: glm-4-7-flash, closed>"
    }


def test_the_panel_searches_and_calls_tools(session: Session, panel: ControlPanel) -> None:
    from glm_magics.tools import registered_tools, tool, unregister

    @tool
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    try:
        panel.fields["search"].value = True
        assert session.magics.session.settings.search is True
        ask(panel, "Double a number, and search for it")
    finally:
        unregister(double)
        session.magics.session.settings.search = False
    assert not len(registered_tools)
    first, second = [r.body for r in session.server.requests if r.method == "POST"][-2:]
    assert [t["type"] for t in first["tools"]] == ["function"] and first["tool_web_search"]
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": ANY, "content": "2"}
    shown = panel._sink.html()
    assert "double(x=1) → 2" in shown and "glm-sources" in shown
    assert "finish: tool_calls" in shown and "finish: stop" in shown


def test_the_panel_uses_the_chosen_endpoint(session: Session, panel: ControlPanel) -> None:
    panel.fields["api"].value = "messages"
    try:
        assert session.magics.session.settings.api == "messages"
        ask(panel, "Hello over the messages endpoint")
    finally:
        session.magics.session.settings.api = "chat"
    assert [r for r in session.server.requests if r.method == "POST"][-1].path == "/v1/messages"
    assert "finish: stop" in panel._sink.html()


def test_new_connection_settings_do_not_cut_a_running_answer(
    session: Session, panel: ControlPanel
) -> None:
    session.server.queue(Reply(text="word " * 60, tokens_per_second=120))
    panel.prompt.value = "Write a little"
    panel.send()
    wait_for(lambda: "word" in panel._sink.html())
    session.magics.session.settings.timeout = 30.0  # the next cell builds a new client...
    assert session.magics.session.client is not None
    try:
        assert panel.wait(10)
        result = panel.last_result
        assert result is not None and result.finish_reason == "stop"  # ...this one finished
    finally:
        session.magics.session.settings.timeout = 300.0


def test_a_widget_echoing_its_stand_in_sets_nothing(session: Session, panel: ControlPanel) -> None:
    """A browser's slider sends back the value it shows when it renders (rounded by its
    step): for an unset setting that is not a choice, and the row says so."""
    settings = session.magics.session.settings
    settings.top_p = None
    note = panel._binding.rows["top_p"].children[1]
    assert "service default" in note.value
    panel.fields["top_p"].value = 0.9500000000000001  # the echo of the shown 0.95
    assert settings.top_p is None and "service default" in note.value
    panel.fields["top_p"].value = 0.8  # a real move
    assert settings.top_p == 0.8 and note.value == ""
    session.line("config top_p=none")
    assert settings.top_p is None and "service default" in note.value
    assert panel.fields["top_p"].value == 0.95  # the stand-in shows again


def test_the_question_shows_with_its_answer_and_the_history_reads_as_markdown(
    session: Session, panel: ControlPanel
) -> None:
    session.server.queue(Reply(text="Use **`df.dropna()`** first."))
    ask(panel, "How do I drop *empty* rows?")
    shown = panel._sink.html()
    assert shown.index("glm-panel-question") < shown.index("glm-answer")
    assert "<b>You asked:</b> How do I drop <em>empty</em> rows?" in shown
    assert panel.prompt.value == ""  # answered: the box is free, the question stays above
    panel.refresh_history()
    history = panel.history.value
    assert "<em>empty</em>" in history and "<strong><code>df.dropna()</code></strong>" in history
    assert "**" not in history and "`" not in history
    assert "jp-RenderedHTMLCommon" in panel.output._dom_classes  # styled like a cell's output
