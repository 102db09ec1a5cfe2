"""Shared fixtures: the local GLM server and a real IPython shell with the magics loaded."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

from glm_magics.core.settings import SETTINGS
from glm_magics.notebook.magics import GLMMagics
from glm_magics.testing import LocalGLMServer


@dataclass
class Published:
    data: dict[str, Any]
    display_id: str | None
    update: bool
    metadata: dict[str, Any] = field(default_factory=dict)


class RecordingPublisher(DisplayPublisher):
    """Keeps every display message the shell sends, as a frontend would receive them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages: list[Published] = []

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        display_id = (transient or {}).get("display_id")
        self.messages.append(Published(dict(data), display_id, update, dict(metadata or {})))

    def clear_output(self, wait: bool = False) -> None:
        self.messages.append(Published({}, None, False))

    def final_html(self) -> str:
        """What a frontend shows at the end: the last payload of each display, in order."""
        order: list[str] = []
        last: dict[str, str] = {}
        for number, message in enumerate(self.messages):
            key = message.display_id or f"anon-{number}"
            if key not in last:
                order.append(key)
            last[key] = message.data.get("text/html", message.data.get("text/plain", ""))
        return "\n".join(last[key] for key in order)

    def all_text(self) -> str:
        return "\n".join(str(value) for m in self.messages for value in m.data.values())


@dataclass
class Session:
    shell: Any
    magics: GLMMagics
    server: LocalGLMServer
    publisher: RecordingPublisher
    history: list[str] = field(default_factory=list)

    def cell(self, line: str, body: str) -> Any:
        return self.shell.run_cell_magic("glm", line, body)

    def line(self, text: str) -> Any:
        return self.shell.run_line_magic("glm", text)


@contextmanager
def interrupt_after(seconds: float) -> Iterator[None]:
    """Send this process SIGINT after ``seconds``, as a kernel interrupt does."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalGLMServer]:
    with LocalGLMServer() as server:
        yield server


@pytest.fixture
def server(local_server: LocalGLMServer) -> LocalGLMServer:
    """The shared local server with nothing queued and its pacing knobs reset."""
    local_server.clear()
    local_server.ttft, local_server.tokens_per_second, local_server.chunk_size = 0.0, None, 1
    return local_server


@pytest.fixture(scope="session")
def shell() -> Any:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "glm_magics")
    return ip


@pytest.fixture
def session(shell: Any, local_server: LocalGLMServer) -> Iterator[Session]:
    magics: GLMMagics = shell.magics_manager.registry["GLMMagics"]
    publisher = RecordingPublisher(shell=shell)
    saved = shell.display_pub
    shell.display_pub = publisher
    local_server.clear()
    local_server.ttft, local_server.tokens_per_second, local_server.chunk_size = 0.0, None, 1
    core = magics.session
    core.conversation.reset()
    core.conversation.scale = 1.0
    settings = core.settings
    settings.base_url = local_server.base_url
    settings.display = "rich"
    settings.max_retries = 3
    try:
        yield Session(shell, magics, local_server, publisher)
    finally:
        shell.display_pub = saved
        for info in SETTINGS.values():
            if info.name != "preset":
                setattr(settings, info.name, info.default)
        settings.preset = None
        core.api_key = None
        core.cassette = None


@pytest.fixture(autouse=True)
def _fresh_rate_limiters() -> Iterator[None]:
    """Each test starts with the process's rate limiters and remembered rows forgotten
    (a 429 one test provoked must not pace the next; rows one answered, not skip)."""
    from glm_magics.batch.store import PROCESS_STORE
    from glm_magics.wire.limits import reset_limiters

    reset_limiters()
    PROCESS_STORE.clear()
    yield
    reset_limiters()
