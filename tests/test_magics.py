"""``%%glm`` and ``%glm`` in a real InteractiveShell against the local server."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from IPython.core.error import UsageError

from glm_magics import ChatResult, GLMMagics
from glm_magics.testing import Reply
from tests.conftest import Session, interrupt_after


def test_load_ext_registers_traitlets_configurable_magics(session: Session) -> None:
    assert "glm" in session.shell.magics_manager.magics["cell"]
    assert "glm" in session.shell.magics_manager.magics["line"]
    assert "temperature" in GLMMagics.class_trait_names(config=True)
    doc = session.shell.find_cell_magic("glm").__doc__
    for option in ("--model", "--temperature", "--max-tokens", "--no-think", "--out", "--new"):
        assert option in doc


def test_cell_streams_reasoning_and_answer(session: Session) -> None:
    session.server.queue(Reply(reasoning="Thinking about greetings.", text="**Olá!** Tudo bem?"))
    session.cell("-o reply", "Say hi in Portuguese")
    result = session.shell.user_ns["reply"]
    assert isinstance(result, ChatResult)
    assert (result.text, result.reasoning, result.finish_reason) == (
        "**Olá!** Tudo bem?",
        "Thinking about greetings.",
        "stop",
    )
    html = session.publisher.final_html()
    assert "<strong>Olá!</strong>" in html
    assert "glm-reasoning" in html and "<details" in html
    assert "glm-status" in html and "finish: stop" in html
    sent = session.server.requests[-1].body
    assert sent["messages"] == [{"role": "user", "content": "Say hi in Portuguese"}]
    assert sent["stream"] is True and sent["model"] == "glm-4-7-flash"


def test_options_reach_the_request(session: Session) -> None:
    session.cell(
        "-m glm-4.7 -t 0.2 --top-p 0.5 --max-tokens 64 --stop END --no-sample --no-think -s Brief",
        "Hello",
    )
    sent = session.server.requests[-1].body
    assert sent["model"] == "glm-4.7"
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.2, 0.5, 64)
    assert sent["stop"] == ["END"] and sent["do_sample"] is False
    assert sent["thinking"] == {"type": "disabled"}
    assert sent["messages"][0] == {"role": "system", "content": "Brief"}


def test_consecutive_cells_are_one_conversation_until_new(session: Session) -> None:
    session.server.queue(Reply(text="First answer"), Reply(text="Second"), Reply(text="Third"))
    session.cell("", "first question")
    session.cell("", "second question")
    messages = session.server.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1] == {"role": "assistant", "content": "First answer"}
    session.cell("--new", "third question")
    assert session.server.requests[-1].body["messages"] == [
        {"role": "user", "content": "third question"}
    ]


def test_line_commands(session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    session.server.queue(Reply(text="One"))
    session.cell("", "a question")
    session.line("history")
    assert "1. ~" in capsys.readouterr().out
    session.line("reset")
    assert "cleared (1 turns)" in capsys.readouterr().out
    assert len(session.magics.session.conversation) == 0
    session.line("models")
    assert "* glm-4-7-flash" in capsys.readouterr().out
    session.line("help")
    assert "%glm config NAME=VALUE" in capsys.readouterr().out


def test_one_line_question(session: Session) -> None:
    session.server.queue(Reply(text="Lisbon."))
    session.line("What is the capital of Portugal?")
    assert session.server.requests[-1].body["messages"][-1]["content"] == (
        "What is the capital of Portugal?"
    )
    assert "Lisbon." in session.publisher.final_html()


def test_config_show_set_and_share_with_percent_config(
    session: Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMPIRIOLABS_API_KEY", raising=False)
    session.line("config")
    out = capsys.readouterr().out
    assert "api_key          not set" in out and session.server.base_url in out
    session.line("config temperature=0.3 max_tokens=128 thinking=False")
    assert (
        session.magics.session.settings.temperature,
        session.magics.session.settings.max_tokens,
    ) == (0.3, 128)
    assert session.magics.session.settings.thinking is False
    session.shell.run_line_magic("config", "GLMMagics.top_p = 0.5")
    session.cell("", "hi")
    sent = session.server.requests[-1].body
    assert (sent["temperature"], sent["max_tokens"], sent["top_p"]) == (0.3, 128, 0.5)
    monkeypatch.setenv("EMPIRIOLABS_API_KEY", "sk-config-test-key")
    session.line("config")
    out = capsys.readouterr().out
    assert "set, from $EMPIRIOLABS_API_KEY" in out and "sk-config-test-key" not in out


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("", "   ", "the cell is empty"),
        ("-t 2", "hi", "temperature must be between 0 and 1"),
        ("--max-tokens 0", "hi", "max_tokens must be between 1 and 131072"),
        ("--bogus", "hi", r"unknown option --bogus \(`%%glm\?` lists every option\)"),
        ("-o 1x", "hi", "--out needs a Python variable name"),
    ],
)
def test_misuse_is_a_one_line_usage_error(
    session: Session, line: str, body: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        session.cell(line, body)
    assert session.server.requests == []


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("config temperature=7", "temperature must be between 0 and 1"),
        ("config colour=blue", "unknown setting 'colour'"),
        ("config temprature=0.3", "did you mean 'temperature'\\?"),
        ("config api_key=abc", "%glm key"),
        ("", "needs a command"),
        ("histroy", r"unknown command `histroy`: did you mean `%glm history`\? Nothing was sent"),
        ("hist", "did you mean `%glm history`"),
        ("usgae", "did you mean `%glm usage`"),
        ("contxt", "did you mean `%glm context`"),
        ("config top_p=0.5 temperature", "takes NAME=VALUE pairs to change settings, or names"),
        ("config top_q", "unknown setting 'top_q': did you mean 'top_p'"),
        ("config max_tokens=x", "max_tokens must be a whole number, got 'x'"),
        ("config temperature=warm", "temperature must be a number, got 'warm'"),
        ("config stream=maybe", "stream must be True or False, got 'maybe'"),
        ("context", "name at least one DataFrame"),
        ("--bogus", r"options go with the cell magic: `%%glm --bogus`"),
    ],
)
def test_line_misuse(session: Session, command: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        session.line(command)
    assert session.server.requests == []  # a typo is never a paid question
    assert len(session.magics.session.conversation) == 0


@pytest.mark.parametrize(
    ("line", "sent"),
    [
        ('"history"', "history"),
        ("'usage'", "usage"),
        ("history?", "history?"),
        ("pandas", "pandas"),  # one word, but no command is like it
        ("history of the pandas library", "history of the pandas library"),
    ],
)
def test_one_word_questions_are_asked_with_a_question_mark_or_quotes(
    session: Session, line: str, sent: str
) -> None:
    session.line(line)
    assert session.server.requests[-1].body["messages"][-1]["content"] == sent


def test_config_with_names_shows_those_settings(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = session.magics.session.settings
    settings.top_p, settings.temperature = None, 0.3
    session.line("config top_p temperature")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "top_p            None (not sent: the service's default applies)",
        "temperature      0.3",
    ]
    settings.temperature = None
    assert session.server.requests == []


def test_percent_percent_glm_help_reads_as_the_cell_magic() -> None:
    from glm_magics.notebook.magics import GLMMagics

    doc = GLMMagics.glm.__doc__ or ""
    assert "%%glm [-m MODEL]" in doc and "%glm [-m" not in doc.replace("%%glm", "")
    assert "--think               turn the model's reasoning on for this cell" in doc
    for command in ("context", "fix", "panel", "usage", "cassette", "history"):
        assert command in doc.split("As a line magic")[1], command
    from glm_magics.notebook.commands import HELP

    assert "(with the current settings)" in HELP and "default settings" not in HELP


def test_models_say_which_id_is_which(session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    session.line("models")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Models at http://127.0.0.1:") and "(* the current one)" in out[0]
    (hosted,) = [line for line in out if " glm-4-7-flash " in f"{line} "]
    (zai,) = [line for line in out if " glm-4.7-flash " in f"{line} "]
    assert hosted.startswith("* ") and "the default service's id, use this one there" in hosted
    assert "Z.ai's id (preset=zai), and the name answers report" in zai


def test_service_error_is_one_clear_message_not_a_traceback(session: Session) -> None:
    session.server.queue(Reply.error(400, "1214", "max_tokens is invalid"))
    session.cell("", "hi")  # no exception reaches the user
    html = session.publisher.final_html()
    assert "glm-error" in html and "max_tokens is invalid" in html and "1214" in html
    assert "Traceback" not in session.publisher.all_text()
    assert len(session.magics.session.conversation) == 0


def test_retry_wait_is_visible_in_the_cell(session: Session) -> None:
    session.server.queue(Reply.error(429, "1302", "High concurrency", retry_after=0.2))
    session.server.queue(Reply(text="Finally."))
    session.cell("", "hi")
    assert "rate limited (1302), retrying in 0.2 s, attempt 2 of 4" in session.publisher.all_text()
    assert "Finally." in session.publisher.final_html()


def test_length_finish_warns(session: Session) -> None:
    session.server.queue(Reply(text="cut off", finish_reason="length"))
    session.cell("--max-tokens 3", "hi")
    assert "reached max_tokens (3)" in session.publisher.final_html()


def test_untrusted_html_is_shown_as_text(session: Session) -> None:
    evil = '<img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))'
    session.server.queue(Reply(reasoning="<script>bad()</script>", text=evil))
    session.cell("", "hi")
    html = session.publisher.final_html()
    assert "<script" not in html and "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_plain_display_for_terminals(session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    session.magics.session.settings.display = "plain"
    session.server.queue(Reply(reasoning="hmm", text="Plain answer"))
    session.cell("", "hi")
    out = capsys.readouterr().out
    assert "Plain answer" in out and "hmm" in out and "finish: stop" in out
    assert session.publisher.messages == []


def test_no_stream_and_no_reasoning(session: Session) -> None:
    session.server.queue(Reply(reasoning="secret thoughts", text="Whole answer"))
    session.cell("--no-stream --no-reasoning", "hi")
    assert "stream" not in session.server.requests[-1].body
    html = session.publisher.final_html()
    assert "Whole answer" in html and "secret thoughts" not in html


def test_interrupt_stops_quickly_keeps_partial_and_history(session: Session) -> None:
    session.server.queue(
        Reply(text="Partial answer then a long pause", stall_after=4, stall_seconds=30)
    )
    started = time.monotonic()
    with interrupt_after(0.6):
        session.cell("-o partial", "tell me a long story")
    elapsed = time.monotonic() - started
    assert elapsed < 10, "the stall was waited out instead of interrupted"
    result = session.shell.user_ns["partial"]
    assert result.interrupted and result.text.startswith("Partial")
    assert session.server.wait_for_disconnect().client_disconnected
    html = session.publisher.final_html()
    assert "Stopped: the answer above is partial." in html and "Partial" in html
    (turn,) = session.magics.session.conversation.turns
    assert turn.interrupted and turn.assistant["content"] == result.text


def test_one_line_question_ending_in_a_question_mark_is_asked_not_help(session: Session) -> None:
    session.server.queue(Reply(text="Lisbon."))
    outcome = session.shell.run_cell("%glm What is the capital of Portugal?")
    assert outcome.success
    assert session.server.requests[-1].body["messages"][-1]["content"] == (
        "What is the capital of Portugal?"
    )
    session.shell.run_cell("x = 1\n  \n%glm  and   Spain?  ")
    assert session.server.requests[-1].body["messages"][-1]["content"] == "and   Spain?"


def test_auto_display_is_plain_text_without_a_frontend(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    session.magics.session.settings.display = (
        "auto"  # a bare InteractiveShell has no kernel, like a terminal
    )
    session.server.queue(Reply(text="terminal answer"))
    session.cell("", "hi")
    assert "terminal answer" in capsys.readouterr().out
    assert session.publisher.messages == []


def test_interrupt_while_waiting_for_response_headers(session: Session) -> None:
    """A server that accepts the connection and never answers: Ctrl-C still ends it at once."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    session.magics.session.settings.base_url = f"http://127.0.0.1:{port}/v1"
    started = time.monotonic()
    with interrupt_after(0.5):
        session.cell("", "anyone there?")
    assert time.monotonic() - started < 5
    accepted[0].settimeout(5)
    while accepted[0].recv(65536):  # the request, then end of stream: the client closed
        pass
    accepted[0].close()
    listener.close()
    assert "Stopped before the model answered: no answer." in session.publisher.final_html()
    assert len(session.magics.session.conversation) == 0  # nothing arrived, nothing to remember


def test_config_values_with_spaces_and_settings_ranges(session: Session) -> None:
    session.line('config system="You are terse" max_retries=2')
    assert session.magics.session.settings.system == "You are terse"
    assert session.server.requests == []
    with pytest.raises(UsageError, match=r"update_interval must be between 0\.05 and 5"):
        session.line("config update_interval=0")
    session.magics.session.settings.max_retries = 3


def test_question_marks_inside_a_cell_magic_body_are_left_alone(session: Session) -> None:
    session.shell.run_cell("%%glm\nWhat does this do?\n%glm also this?")
    assert session.server.requests[-1].body["messages"][-1]["content"] == (
        "What does this do?\n%glm also this?"
    )


def test_code_blocks_go_into_a_new_cell_through_set_next_input(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = (
        "Load it:\n\n```python\nran_generated = True\ndf = pd.read_csv('x.csv')\n```\n\n"
        "Shell:\n\n```bash\nls -l\n```\n\n~~~\ndf.head()\n~~~\n"
    )
    session.server.queue(Reply(text=answer))
    session.shell.rl_next_input = None
    session.cell("--code", "Load x.csv")
    assert session.shell.rl_next_input == (
        "# generated by glm-4-7-flash: review before running\n"
        "ran_generated = True\ndf = pd.read_csv('x.csv')\n\ndf.head()"
    )
    assert "Put 2 code blocks in the next prompt" in capsys.readouterr().out  # a terminal
    system = session.server.requests[-1].body["messages"][0]
    assert system["role"] == "system" and "python code only" in system["content"]
    assert "ran_generated" not in session.shell.user_ns  # inserted, never executed


def test_code_without_a_block_inserts_nothing_and_says_so(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    session.server.queue(Reply(text="I cannot write that."))
    session.shell.rl_next_input = None
    session.cell("-c --lang r", "hi")
    assert session.shell.rl_next_input is None
    assert "no r code block" in capsys.readouterr().out
    with pytest.raises(UsageError, match="--lang goes with --code"):
        session.cell("--lang r", "hi")


def test_a_misused_option_loses_nothing(session: Session) -> None:
    session.server.queue(Reply(text="kept"))
    session.cell("", "first")
    with pytest.raises(UsageError):
        session.cell("--new --lang r", "second")
    assert len(session.magics.session.conversation) == 1  # --new did not wipe the history


def test_code_blocks_travel_in_the_cell_output_when_the_page_listens(
    session: Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request tagged by the notebook extension gets one cell per block, in an output."""
    from IPython.utils.capture import capture_output

    from glm_magics.notebook.bridge import Requester
    from glm_magics.notebook.insertion import INSERT_MIME

    class UnusedBridge:
        def insert_cells(self, anchor: Any, cells: list[str], metadata: dict[str, Any]) -> bool:
            raise AssertionError("a cell's insertion does not go over the comm")

    monkeypatch.setattr("glm_magics.notebook.bridge.shared_bridge", lambda: UnusedBridge())
    monkeypatch.setattr(
        "glm_magics.notebook.bridge.current_requester",
        lambda: Requester("page-7", "jupyterlab"),
    )
    session.server.queue(Reply(text="```python\na = 1\n```\n\n```python\nb = 2\n```\n"))
    session.shell.rl_next_input = None
    with capture_output() as captured:
        session.cell("-c", "two blocks")
    (carrier,) = [out.data for out in captured.outputs if INSERT_MIME in out.data]
    carried = carrier[INSERT_MIME]
    header = "# generated by glm-4-7-flash: review before running\n"
    assert [cell["source"] for cell in carried["cells"]] == [header + "a = 1", header + "b = 2"]
    assert carried["cells"][0]["metadata"]["glm_magics"]["generated_by"] == "glm-4-7-flash"
    assert carried["client"] == "page-7" and carried["version"] == 2 and carried["id"]
    assert carrier["text/plain"] == "Inserted 2 new cells below: review before running."
    assert "Inserted 2 new cells below" in carrier["text/html"]
    assert session.shell.rl_next_input is None  # no fallback cell as well
    assert "Inserted" not in captured.stdout + capsys.readouterr().out  # said once, in the output
    assert "a" not in session.shell.user_ns  # inserted, never executed


def test_in_a_kernel_without_the_extension_the_joined_code_goes_into_a_new_cell() -> None:
    from glm_magics.display.code_blocks import CodeBlock
    from glm_magics.notebook.insertion import insert_code

    class KernelShell:  # what ipykernel's shell has and a terminal's lacks
        kernel = object()
        next_input: str | None = None

        def set_next_input(self, text: str, replace: bool = False) -> None:
            self.next_input = text

    shell = KernelShell()
    inserted = insert_code(
        shell,
        [CodeBlock("python", "a = 1\n"), CodeBlock("", "b = 2\n")],
        model="glm-4-7-flash",
        language="python",
        header="",
    )
    assert shell.next_input == "a = 1\n\nb = 2"
    assert inserted.message == (
        "Inserted 2 code blocks into a new cell below: review it before running."
    )


class FakeBridge:
    """The comm as a widget callback finds it: ``ready`` or not; keeps what was sent."""

    def __init__(self, ready: bool) -> None:
        self.ready = ready
        self.calls: list[tuple[Any, list[str], dict[str, Any]]] = []

    def insert_cells(self, anchor: Any, cells: list[str], metadata: dict[str, Any]) -> bool:
        if self.ready:
            self.calls.append((anchor, cells, metadata))
        return self.ready


def insert_from_widget(session: Session, bridge: FakeBridge) -> Any:
    from glm_magics.display.code_blocks import CodeBlock
    from glm_magics.notebook.insertion import insert_code

    return insert_code(
        session.shell,
        [CodeBlock("python", "a = 1\n"), CodeBlock("", "b = 2\n")],
        model="glm-4-7-flash",
        language="python",
        header="generated by {model}: review before running",
        bridge=bridge,  # type: ignore[arg-type]
        anchor="cell-1",
        from_widget=True,
    )


def test_a_widget_inserts_through_the_comm_when_a_page_is_ready(session: Session) -> None:
    bridge = FakeBridge(ready=True)
    inserted = insert_from_widget(session, bridge)
    ((anchor, cells, metadata),) = bridge.calls
    header = "# generated by glm-4-7-flash: review before running\n"
    assert anchor == "cell-1" and cells == [header + "a = 1", header + "b = 2"]
    assert metadata["glm_magics"]["generated_by"] == "glm-4-7-flash"
    assert inserted.cells == 2 and inserted.message.startswith("Inserted 2 new cells below")


def test_from_a_widget_without_the_extension_the_code_is_shown_to_copy(session: Session) -> None:
    session.shell.rl_next_input = None
    inserted = insert_from_widget(session, FakeBridge(ready=False))
    assert inserted.cells == 0 and "copy the code" in inserted.message
    assert "not active" in inserted.message
    assert session.shell.rl_next_input is None  # nothing pretends to insert
    assert inserted.copy == "# generated by glm-4-7-flash: review before running\na = 1\n\nb = 2"


def test_the_settings_are_traits_too_both_ways(session: Session) -> None:
    """``%config GLMMagics`` sets and lists the session's settings; profiles use the traits."""
    settings = session.magics.session.settings
    session.shell.run_line_magic("config", "GLMMagics.temperature = 0.2")
    assert settings.temperature == 0.2
    session.line("config top_p=0.5 api=messages")
    assert session.magics.trait_values()["top_p"] == 0.5
    assert session.magics.trait_values()["api"] == "messages"
    session.shell.run_line_magic("config", "GLMMagics.temperature = 3")  # IPython logs it
    assert settings.temperature == 0.2  # a refused value changes nothing
    settings.api = "chat"


def test_a_terminal_is_not_called_a_notebook(session: Session) -> None:
    with pytest.raises(UsageError, match=r"no variable named 'nope' in this session$"):
        session.cell("-d nope", "Describe it")
    with pytest.raises(UsageError, match=r"--tools: no function named 'nope' in this session$"):
        session.cell("--tools nope", "Use it")


def test_without_a_key_the_error_names_both_ways_forward(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMPIRIOLABS_API_KEY", raising=False)
    settings = session.magics.session.settings
    local = settings.base_url
    session.line("config base_url=https://api.empiriolabs.ai/v1")
    try:
        with pytest.raises(UsageError) as caught:
            session.line("What is a p-value?")
    finally:
        session.line(f"config base_url={local}")
    message = str(caught.value)
    assert "`%glm key`" in message and "EMPIRIOLABS_API_KEY" in message
    assert "`python -m glm_magics.testing`" in message and "`%glm config base_url=`" in message
    assert "\n" not in message
