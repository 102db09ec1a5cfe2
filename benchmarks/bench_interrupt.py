"""How fast a kernel interrupt ends a streaming ``%%glm`` cell, Stop ends the control
panel's request, and ``Session.stop()`` ends a plain-Python ask (target: within 0.5 s).

The local server stalls mid-answer (and, in a second case, before sending any
header); SIGINT is sent to this process as a kernel interrupt would, and the time
from the signal to the cell returning is measured. For the panel, ``stop()`` (what
the Stop button calls) is timed until the request thread has drawn the status
line and re-enabled Send; for a session, ``stop()`` from another thread is timed
until ``ask`` returns. Also checked each run: the server saw the connection close.

    python benchmarks/bench_interrupt.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import threading
import time
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from glm_magics import GLMClient, Session
from glm_magics.notebook.extension import open_panel
from glm_magics.testing import LocalGLMServer, Reply


def interrupt_after(delay: float, sent: list[float]) -> threading.Timer:
    def fire() -> None:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.start()
    return timer


def mid_stream(shell: Any, server: LocalGLMServer) -> float:
    server.queue(Reply(text="word " * 40, stall_after=10, stall_seconds=30))
    sent: list[float] = []
    interrupt_after(0.5, sent)
    shell.run_cell_magic("glm", "--new", "story")
    returned = time.perf_counter()
    assert server.wait_for_disconnect().client_disconnected
    return returned - sent[0]


def before_headers(shell: Any, magics: Any) -> float:
    listener = socket.create_server(("127.0.0.1", 0))
    magics.session.settings.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    sent: list[float] = []
    interrupt_after(0.5, sent)
    shell.run_cell_magic("glm", "--new", "anyone?")
    returned = time.perf_counter()
    connection, _ = listener.accept()
    connection.settimeout(5)
    while connection.recv(65536):
        pass  # end of stream: the client closed the connection
    connection.close()
    listener.close()
    return returned - sent[0]


def panel_stop(magics: Any, server: LocalGLMServer) -> float:
    server.queue(Reply(text="word " * 40, stall_after=10, stall_seconds=30))
    panel = open_panel(magics.host)
    panel.prompt.value = "story"
    panel.send()
    deadline = time.monotonic() + 10
    while "word" not in "".join(item.value for item in panel.output.children):
        if time.monotonic() > deadline:
            raise RuntimeError("the panel showed no answer within 10 s")
        time.sleep(0.005)
    pressed = time.perf_counter()
    panel.stop()
    panel.wait(10)
    ended = time.perf_counter()
    assert not panel.send_button.disabled
    assert panel.last_result is not None
    assert panel.last_result.interrupted
    posts = [n for n, request in enumerate(server.requests) if request.method == "POST"]
    assert server.wait_for_disconnect(posts[-1]).client_disconnected
    panel.close()
    return ended - pressed


def session_stop(server: LocalGLMServer) -> float:
    server.queue(Reply(text="word " * 40, stall_after=10, stall_seconds=30))
    arrived = threading.Event()

    class FirstWord:
        def report(self, event: object) -> None:
            if getattr(event, "text", ""):
                arrived.set()

    with GLMClient(base_url=server.base_url) as client, Session(client=client) as session:
        returned: list[float] = []

        def ask() -> None:
            session.ask("story", reporter=FirstWord())
            returned.append(time.perf_counter())

        asking = threading.Thread(target=ask)
        asking.start()
        if not arrived.wait(10):
            raise RuntimeError("the session got no answer within 10 s")
        pressed = time.perf_counter()
        session.stop()
        asking.join(10)
    assert server.wait_for_disconnect().client_disconnected
    return returned[0] - pressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "glm_magics")
    magics = shell.magics_manager.registry["GLMMagics"]
    magics.session.settings.display = "rich"
    with LocalGLMServer() as server:
        magics.session.settings.base_url = server.base_url
        stream = [mid_stream(shell, server) for _ in range(runs)]
        panel = [panel_stop(magics, server) for _ in range(runs)]
        session = [session_stop(server) for _ in range(runs)]
    headers = [before_headers(shell, magics) for _ in range(runs)]
    for name, values in (
        ("mid-stream", stream),
        ("before headers", headers),
        ("panel Stop", panel),
        ("Session.stop()", session),
    ):
        median, worst = statistics.median(values) * 1000, max(values) * 1000
        print(
            f"{name:<15} signal/Stop -> done: median {median:6.1f} ms,"
            f" max {worst:6.1f} ms over {runs} runs (target <= 500 ms)"
        )


if __name__ == "__main__":
    main()
