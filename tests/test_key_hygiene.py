"""The API key never shows up in any output, notebook, traceback, log or repr.

The suite's scenarios run here with a distinctive key (the local server requires
it, so it really is sent), and everything a user or a log could see is searched.
"""

from __future__ import annotations

import logging
import os
import pickle
import traceback
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.error import UsageError
from nbformat.v4 import new_code_cell, new_notebook
from pytest_notebook.nb_regression import NBRegressionFixture

from glm_magics import GLMClient, GLMError
from glm_magics.testing import LocalGLMServer, Reply
from glm_magics.wire.keys import Secret
from tests.conftest import Session, interrupt_after

KEY = "sk-GLMKEY-7f3a9c51-do-not-leak"
WRONG = "sk-WRONGKEY-0b1e22-do-not-leak"


@pytest.fixture
def keyed(session: Session, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("EMPIRIOLABS_API_KEY", KEY)
    with LocalGLMServer(require_key=KEY) as server:
        session.magics.session.settings.base_url = server.base_url
        session.server = server
        yield session


def test_key_appears_nowhere(
    keyed: Session,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    server = keyed.server
    server.queue(
        Reply(reasoning="r", text="fine"),
        Reply.error(429, "1302", "busy", retry_after=0.05),
        Reply(text="after retry"),
        Reply(text="cut", disconnect_after=2),
        Reply(text="filtered", finish_reason="sensitive"),
        Reply(text="slow " * 50, stall_after=3, stall_seconds=30),
    )
    keyed.cell("-o ok", "hello")
    keyed.cell("", "retry please")
    keyed.cell("", "truncated")
    keyed.cell("", "filtered")
    with interrupt_after(0.5):
        keyed.cell("-o partial", "interrupted")
    keyed.line("config")
    keyed.line("models")
    keyed.line("history")
    with pytest.raises(UsageError) as usage:
        keyed.cell("-t 9", "bad")
    seen.append(str(usage.value))

    # A wrong key typed with %glm key: the 401 message must not echo either key.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": WRONG)
    keyed.line("key")
    keyed.line("config")
    keyed.cell("", "with the wrong key")
    assert "HTTP 401, code 1002" in keyed.publisher.all_text()
    keyed.magics.session.api_key = None

    # The client on its own: repr, exceptions and their tracebacks.
    client = GLMClient(base_url=server.base_url)
    seen += [repr(client), str(client), repr(Secret(KEY)), str(Secret(KEY))]
    server.queue(Reply.error(401, "1002", "bad token"))
    with pytest.raises(GLMError) as failure:
        client.chat([{"role": "user", "content": "x"}])
    seen.append("".join(traceback.format_exception(failure.value)))
    seen.append(repr(failure.value.__dict__))
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))
    client.close()

    seen += [repr(keyed.shell.user_ns["ok"]), repr(keyed.shell.user_ns["partial"])]
    seen += [repr(request) for request in server.requests]
    seen.append(keyed.publisher.all_text())
    captured = capsys.readouterr()
    seen += [captured.out, captured.err, caplog.text]
    everything = "\n".join(seen)
    assert len(server.requests) >= 8 and "fine" in everything  # the scenarios really ran
    assert KEY not in everything
    assert WRONG not in everything


@pytest.mark.notebook
def test_key_absent_from_an_executed_notebook(tmp_path: Path) -> None:

    cells = [
        "%load_ext glm_magics",
        "import os\nfrom glm_magics.testing import LocalGLMServer, Reply\n"
        "server = LocalGLMServer(require_key=os.environ['EMPIRIOLABS_API_KEY']).start()\n"
        "%glm config base_url={server.base_url}",
        "%%glm -o r\nhello",
        "server.queue(Reply.error(500, '500', 'boom'), Reply.error(500, '500', 'boom'),"
        " Reply.error(500, '500', 'boom'), Reply.error(500, '500', 'boom'))\n"
        "%glm config max_retries=3",
        "%%glm\nthis one fails after retries",
        "%glm config",
        "r",
        "import glm_magics\nglm_magics.GLMClient()",
        "p = glm_magics.panel()\np.prompt.value = 'hello from the panel'\n"
        "p.send(); p.wait(10)\nprint(p.output.children[-1].value)\np",
        "server.queue(Reply.error(401, '1002', 'bad token'))\n"
        "p.prompt.value = 'and again'\np.send(); p.wait(10)\nprint(p.output.children[-1].value, p)",
        "from glm_magics import GLMClient\nGLMClient(base_url='http://127.0.0.1:9/v1').models()",
    ]
    path = tmp_path / "keyed.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), path)
    fixture = NBRegressionFixture(
        exec_timeout=120, diff_ignore=("/cells/*/outputs", "/cells/*/execution_count", "/metadata")
    )
    saved = dict(os.environ)
    os.environ["EMPIRIOLABS_API_KEY"] = KEY
    try:
        nb = fixture.check(str(path), raise_errors=False).nb_final
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = nbformat.writes(nb)
    assert "glm-answer" in text and "HTTP 500" in text  # the cells really ran
    assert "finish: stop" in text and "HTTP 401" in text  # the panel's cells too
    assert "ConnectError" in text  # the last cell's traceback is in the notebook too
    assert KEY not in text
