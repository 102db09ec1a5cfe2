"""Approval where people meet it: a real kernel's input request, the panel's buttons,
the terminal's prompt."""

from __future__ import annotations

import builtins
import io
import queue
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from glm_magics.display.plain_view import PlainView
from glm_magics.notebook.extension import open_panel
from glm_magics.notebook.panel import ControlPanel
from glm_magics.testing import Reply, ToolCallSpec
from glm_magics.tools import StdinApprover, registered_tools, tool
from tests.conftest import Session
from tests.test_bridge import _idle_after, _iopub_until, kernel
from tests.test_control_panel import wait_for

__all__ = ["SETUP", "kernel"]  # the fixture is shared with the bridge's tests

# The kernel's first cell here and in the browser: the local server's default reply
# calls each offered function once, so drop_table(name="example") waits for approval.
SETUP = """\
%load_ext glm_magics
from glm_magics.testing import LocalGLMServer
from glm_magics.tools import tool
server = LocalGLMServer().start()
%glm config base_url={server.base_url}
dropped = []

@tool(confirm=True)
def drop_table(name: str) -> str:
    "Delete a table for good."
    dropped.append(name)
    return "dropped " + name
"""


def _run(client: Any, code: str, *, allow_stdin: bool = False) -> list[dict[str, Any]]:
    msg_id = client.execute(code, allow_stdin=allow_stdin)
    return _iopub_until(client, _idle_after(msg_id))


def _printed(seen: list[dict[str, Any]]) -> str:
    return "".join(m["content"].get("text", "") for m in seen if m["msg_type"] == "stream")


def _shown(seen: list[dict[str, Any]]) -> str:
    kinds = ("display_data", "update_display_data")
    return "\n".join(
        str(m["content"]["data"].get("text/plain", "")) for m in seen if m["msg_type"] in kinds
    )


@pytest.mark.parametrize(("answer", "ran"), [("run", True), ("skip", False)])
def test_a_real_kernel_asks_through_its_input_request(kernel: Any, answer: str, ran: bool) -> None:
    assert "error" not in str(_run(kernel, SETUP))
    msg_id = kernel.execute("%%glm\nTidy up the tables.", allow_stdin=True)
    request = kernel.get_stdin_msg(timeout=30)
    assert request["msg_type"] == "input_request"
    assert request["content"]["prompt"] == "Run drop_table? Type run or skip (Enter skips): "
    kernel.input(answer)
    seen = _iopub_until(kernel, _idle_after(msg_id))
    shown = _shown(seen)
    assert "A tool call waits for your approval (Run or Skip):\ndrop_table(" in shown
    expected = "→ dropped example" if ran else "not run: you declined it"
    assert expected in shown
    printed = _printed(_run(kernel, "print(dropped)"))
    assert printed.strip() == ("['example']" if ran else "[]")


def test_a_real_kernel_without_input_does_not_run_the_call(kernel: Any) -> None:
    """As nbclient and papermill run a notebook: no input request is possible."""
    _run(kernel, SETUP)
    seen = _run(kernel, "%%glm\nTidy up the tables.", allow_stdin=False)
    with pytest.raises(queue.Empty):
        kernel.get_stdin_msg(timeout=0.5)
    shown = _shown(seen)
    assert "not run: it needs your approval and nobody could answer (no input here)" in shown
    assert "The functions returned" in shown  # the answer completed
    assert _printed(_run(kernel, "print(dropped)")).strip() == "[]"


# --- the control panel ---------------------------------------------------------------


@pytest.fixture
def panel(session: Session) -> Iterator[ControlPanel]:
    registered_tools.clear()
    dropped: list[str] = []

    def drop_table(name: str) -> str:
        """Delete a table for good."""
        dropped.append(name)
        return f"dropped {name}"

    tool(confirm=True)(drop_table)
    session.shell.user_ns["dropped"] = dropped
    opened = open_panel(session.magics.host)
    try:
        yield opened
    finally:
        opened.close()
        registered_tools.clear()


def _ask_and_wait_for_the_buttons(session: Session, panel: ControlPanel) -> None:
    session.server.queue(
        Reply(tool_calls=[ToolCallSpec("drop_table", '{"name": "sales"}')]),
        Reply(text="Done."),
    )
    panel.prompt.value = "Tidy up."
    assert panel.send()
    wait_for(lambda: panel.approvals.waiting)
    assert panel.approvals.box.layout.display == ""
    assert "Run <code>drop_table</code>" in panel.approvals.question.value
    shown = panel._sink.html()
    assert "waits for your approval" in shown and "name=&#x27;sales&#x27;" in shown
    time.sleep(0.2)
    assert panel.running and not session.shell.user_ns["dropped"]  # it waits for a click
    session.shell.run_cell("still_free = True")  # the kernel is not blocked meanwhile
    assert session.shell.user_ns["still_free"] is True


def test_panel_approve_runs_the_call(session: Session, panel: ControlPanel) -> None:
    _ask_and_wait_for_the_buttons(session, panel)
    panel.approvals.approve()
    assert panel.wait(10)
    assert session.shell.user_ns["dropped"] == ["sales"]
    assert panel.approvals.box.layout.display == "none"
    assert "→ dropped sales" in panel._sink.html()
    panel.approvals.approve()  # a late click changes nothing


def test_panel_deny_tells_the_model(session: Session, panel: ControlPanel) -> None:
    _ask_and_wait_for_the_buttons(session, panel)
    panel.approvals.deny()
    assert panel.wait(10)
    assert session.shell.user_ns["dropped"] == []
    assert "not run: you declined it" in panel._sink.html()
    body = [r.body for r in session.server.requests if r.method == "POST"][-1]
    assert body["messages"][-1]["content"].startswith("The user declined this call")


def test_panel_stop_while_waiting_denies(session: Session, panel: ControlPanel) -> None:
    _ask_and_wait_for_the_buttons(session, panel)
    panel.stop()
    assert panel.wait(10)
    assert session.shell.user_ns["dropped"] == []
    assert panel.approvals.box.layout.display == "none"


# --- a terminal -----------------------------------------------------------------------


def test_a_terminal_view_prints_the_call_then_asks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered_tools.clear()
    seen: list[str] = []

    @tool(confirm=True)
    def drop_table(name: str) -> str:
        """Delete a table for good."""
        seen.append(name)
        return "gone"

    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return "y"

    monkeypatch.setattr(builtins, "input", answer)
    out = io.StringIO()
    try:
        session.server.queue(
            Reply(tool_calls=[ToolCallSpec("drop_table", '{"name": "sales\\u001b[2J"}')]),
            Reply(text="Done."),
        )
        session.magics.session.ask(
            "Tidy up.",
            reporter=PlainView("glm-4-7-flash", stream=out, color=False),
            approve=StdinApprover(show_call=False),
        )
    finally:
        registered_tools.clear()
    printed = out.getvalue()
    assert "A tool call waits for your approval (Run or Skip):\ndrop_table(\n" in printed
    assert "name='sales\\x1b[2J'" in printed and "\x1b" not in printed
    assert "tool call: drop_table(name='sales\\x1b[2J') → gone" in printed
    assert prompts == ["Run drop_table? Type run or skip (Enter skips): "] and seen


def test_terminal_ipython_asks_on_its_own_prompt(tmp_path: Any) -> None:
    """A real ``ipython`` reading a terminal's lines: the call, the question, the answer."""
    typed = "\n".join(
        [
            *SETUP.replace("@tool(confirm=True)\n", "").splitlines(),
            "",
            "tool(confirm=True)(drop_table)",
            "%glm Tidy up the tables.",
            "run",
            "print('DROPPED', dropped)",
            "exit",
            "",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner", "--colors=NoColor"],
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    out = done.stdout
    assert "A tool call waits for your approval (Run or Skip):\ndrop_table(\n" in out
    assert "Run drop_table? Type run or skip (Enter skips): " in out
    assert "tool call: drop_table(name='example') → dropped example" in out
    assert "DROPPED ['example']" in out
