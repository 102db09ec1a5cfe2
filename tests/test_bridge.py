"""The kernel side of the glm_magics comm: fake comms, a real kernel, the installed extension."""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from glm_magics.notebook.bridge import (
    PROTOCOL_VERSION,
    TARGET_NAME,
    Bridge,
    Requester,
    generated_metadata,
    requester_of,
    shared_bridge,
)


class FakeComm:
    """Records what the kernel sends; ``reply`` plays the frontend answering later."""

    def __init__(self, target_name: str, data: dict[str, Any], comm_id: str = "c1") -> None:
        self.comm_id = comm_id
        self.target_name = target_name
        self.opened_with = data
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self.fail_send = False
        self._on_msg: Callable[[dict[str, Any]], None] | None = None
        self._on_close: Callable[[dict[str, Any]], None] | None = None

    def send(self, data: Any = None) -> None:
        if self.fail_send:
            raise OSError("socket gone")
        self.sent.append(data)

    def on_msg(self, callback: Callable[[dict[str, Any]], None] | None) -> None:
        self._on_msg = callback

    def on_close(self, callback: Callable[[dict[str, Any]], None] | None) -> None:
        self._on_close = callback

    def close(self) -> None:
        self.closed = True

    def reply(self, data: dict[str, Any]) -> None:
        assert self._on_msg is not None
        self._on_msg({"content": {"comm_id": self.comm_id, "data": data}})

    def frontend_closes(self) -> None:
        assert self._on_close is not None
        self._on_close({"content": {"comm_id": self.comm_id, "data": {}}})


class Harness:
    def __init__(self) -> None:
        self.comms: list[FakeComm] = []
        self.session: str | None = None
        self.bridge = Bridge(comm_factory=self.factory, request_session=lambda: self.session)

    def factory(self, target_name: str, data: dict[str, Any]) -> FakeComm:
        comm = FakeComm(target_name, data, comm_id=f"c{len(self.comms) + 1}")
        self.comms.append(comm)
        return comm

    @property
    def comm(self) -> FakeComm:
        return self.comms[-1]

    def ready(self, client: str = "client-a", frontend: str = "jupyterlab") -> None:
        self.comm.reply(
            {"type": "ready", "version": PROTOCOL_VERSION, "frontend": frontend, "client": client}
        )


@pytest.fixture
def harness() -> Harness:
    return Harness()


META = {"glm_magics": {"generated_by": "glm-4.7-flash", "generated_at": "2025-01-01T00:00:00"}}


def test_open_says_hello_on_the_glm_magics_target(harness: Harness) -> None:
    harness.bridge.open()
    assert harness.comm.target_name == TARGET_NAME == "glm_magics"
    assert harness.comm.opened_with == {"type": "hello", "version": 2}
    assert not harness.bridge.available
    assert harness.bridge.frontend is None


def test_open_again_keeps_the_one_comm(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    harness.bridge.open()
    assert len(harness.comms) == 1
    assert harness.bridge.available


def test_ready_makes_it_available(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready(frontend="notebook")
    assert harness.bridge.available
    assert harness.bridge.frontend == "notebook"


def test_a_ready_of_another_protocol_version_is_refused(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.bridge.open()
    harness.comm.reply({"type": "ready", "version": 1, "frontend": "jupyterlab"})
    assert not harness.bridge.available
    assert "protocol 1" in caplog.text


def test_insert_sends_one_cell_per_block_below_the_anchor(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    assert harness.bridge.insert_cells("cell-7", ["import math", "print(math.pi)"], META)
    assert harness.comm.sent == [
        {
            "type": "insert",
            "after": "cell-7",
            "cells": [
                {"source": "import math", "metadata": META},
                {"source": "print(math.pi)", "metadata": META},
            ],
            "request": 1,
            "client": "client-a",
        }
    ]
    assert harness.bridge.insert_cells("cell-7", ["x = 1"], META)
    assert harness.comm.sent[-1]["request"] == 2
    json.dumps(harness.comm.sent)  # what goes on the wire is JSON


def test_each_cell_gets_its_own_copy_of_the_metadata(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    harness.bridge.insert_cells("a", ["1", "2"], META)
    first, second = harness.comm.sent[0]["cells"]
    assert first["metadata"] == second["metadata"] == META
    assert first["metadata"] is not second["metadata"]


def test_not_ready_no_anchor_or_no_cells_returns_false(harness: Harness) -> None:
    assert not harness.bridge.insert_cells("a", ["1"], META)  # never opened
    harness.bridge.open()
    assert not harness.bridge.insert_cells("a", ["1"], META)  # hello not answered
    harness.ready()
    assert not harness.bridge.insert_cells(None, ["1"], META)
    assert not harness.bridge.insert_cells("", ["1"], META)
    assert not harness.bridge.insert_cells("a", [], META)
    assert harness.comm.sent == []


def test_insert_returns_at_once_without_a_reply(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    for _ in range(100):  # no reply ever comes: each call returns without waiting
        assert harness.bridge.insert_cells("a", ["1"], META)
    assert harness.bridge.last_status is None


def test_replies_are_kept_as_the_last_status(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.bridge.open()
    harness.ready()
    harness.bridge.insert_cells("a", ["1"], META)
    inserted = {"type": "inserted", "request": 1, "count": 1, "anchor": "cell", "cell_ids": ["n"]}
    harness.comm.reply(inserted)
    assert harness.bridge.last_status == inserted
    with caplog.at_level(logging.WARNING, logger="glm_magics.notebook.bridge"):
        harness.comm.reply({"type": "error", "request": 2, "message": "No open notebook"})
    assert harness.bridge.last_status == {
        "type": "error",
        "request": 2,
        "message": "No open notebook",
    }
    assert "No open notebook" in caplog.text


def test_odd_messages_are_ignored(harness: Harness) -> None:
    harness.bridge.open()
    harness.comm.reply({"type": "something-new"})
    assert harness.comm._on_msg is not None
    harness.comm._on_msg({"content": {"data": "not a dict"}})
    harness.comm._on_msg({})
    assert not harness.bridge.available
    assert harness.bridge.last_status is None


def test_the_browser_that_asked_gets_the_insert(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready("client-a")
    harness.ready("client-b", frontend="notebook")
    harness.session = "client-b"
    harness.bridge.insert_cells("a", ["1"], META)
    assert [m["client"] for m in harness.comm.sent] == ["client-b"]


def test_an_unknown_asker_sends_to_every_ready_browser(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready("client-a")
    harness.ready("client-b")
    harness.session = "someone-else"
    harness.bridge.insert_cells("a", ["1"], META)
    assert sorted(m["client"] for m in harness.comm.sent) == ["client-a", "client-b"]
    assert {m["request"] for m in harness.comm.sent} == {1}


def test_a_ready_without_client_id_still_works(harness: Harness) -> None:
    harness.bridge.open()
    harness.comm.reply({"type": "ready", "version": PROTOCOL_VERSION, "frontend": "jupyterlab"})
    assert harness.bridge.insert_cells("a", ["1"], META)
    assert harness.comm.sent[0]["client"] == "comm:c1"


def test_closing_forgets_readiness_and_open_reconnects(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    harness.comm.frontend_closes()
    assert not harness.bridge.available
    assert not harness.bridge.insert_cells("a", ["1"], META)
    harness.bridge.open()
    assert len(harness.comms) == 2


def test_close_closes_the_comm(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    harness.bridge.close()
    assert harness.comm.closed
    assert not harness.bridge.available


def test_a_failing_send_returns_false_and_drops_that_browser(harness: Harness) -> None:
    harness.bridge.open()
    harness.ready()
    harness.comm.fail_send = True
    assert not harness.bridge.insert_cells("a", ["1"], META)
    assert not harness.bridge.available


def test_no_comm_support_leaves_it_unavailable() -> None:
    def broken(target_name: str, data: dict[str, Any]) -> FakeComm:
        raise RuntimeError("Comms cannot be opened without a comm_manager.")

    bridge = Bridge(comm_factory=broken)
    bridge.open()
    assert not bridge.available
    assert not bridge.insert_cells("a", ["1"], META)


def test_the_default_comm_outside_a_kernel_never_becomes_available() -> None:
    bridge = Bridge()
    bridge.open()  # comm's DummyComm, or ipykernel's without a running kernel
    assert not bridge.available
    assert not bridge.insert_cells("a", ["1"], META)
    bridge.close()


def test_generated_metadata() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    assert generated_metadata("glm-4.7-flash", now=when) == {
        "glm_magics": {"generated_by": "glm-4.7-flash", "generated_at": "2025-03-04T05:06:07+00:00"}
    }
    stamp = generated_metadata("m")["glm_magics"]["generated_at"]
    assert datetime.fromisoformat(stamp).tzinfo is not None


def test_shared_bridge_is_one_per_process() -> None:
    assert shared_bridge() is shared_bridge()


# --- the extension's tag on execute requests --------------------------------------------


def _request(metadata: Any, session: Any = "page-1") -> dict[str, Any]:
    return {"header": {"msg_type": "execute_request", "session": session}, "metadata": metadata}


def test_a_tagged_request_names_its_page() -> None:
    tag = {"glm_magics": {"version": PROTOCOL_VERSION, "frontend": "notebook"}}
    assert requester_of(_request(tag)) == Requester("page-1", "notebook")
    odd = {"glm_magics": {"version": PROTOCOL_VERSION, "frontend": 3}}
    assert requester_of(_request(odd)) == Requester("page-1", "unknown")


@pytest.mark.parametrize(
    "parent",
    [
        None,
        _request({}),
        _request({"cellId": "x"}),
        _request({"glm_magics": True}),
        _request({"glm_magics": {"version": PROTOCOL_VERSION}}, session=""),
        {"metadata": {"glm_magics": {"version": PROTOCOL_VERSION}}},  # no header
    ],
)
def test_an_untagged_or_malformed_request_has_no_requester(parent: Any) -> None:
    assert requester_of(parent) is None


def test_a_tag_of_another_version_counts_as_none_and_says_what_to_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = {"glm_magics": {"version": 1, "frontend": "jupyterlab"}}
    assert requester_of(_request(old)) is None
    assert "protocol 1" in caplog.text and "install the same glm-magics" in caplog.text


# --- a real ipykernel, with this test playing the frontend over jupyter_client ---------


@pytest.fixture
def kernel() -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _iopub_until(client: Any, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        seen.append(msg)
        if done(msg):
            return seen
    raise AssertionError(f"timed out; iopub had {[m['msg_type'] for m in seen]}")


def _idle_after(msg_id: str) -> Callable[[dict[str, Any]], bool]:
    def done(msg: dict[str, Any]) -> bool:
        return bool(
            msg["msg_type"] == "status"
            and msg["parent_header"].get("msg_id") == msg_id
            and msg["content"]["execution_state"] == "idle"
        )

    return done


def test_real_kernel_sends_the_insert_while_the_cell_still_runs(kernel: Any) -> None:
    """Hello on open, ready processed when idle, insert on iopub before the cell ends."""
    opening = kernel.execute(
        "from glm_magics.notebook.bridge import shared_bridge, generated_metadata\n"
        "bridge = shared_bridge(); bridge.open()"
    )
    seen = _iopub_until(kernel, _idle_after(opening))
    (hello,) = [m for m in seen if m["msg_type"] == "comm_open"]
    assert hello["content"]["target_name"] == "glm_magics"
    assert hello["content"]["data"] == {"type": "hello", "version": PROTOCOL_VERSION}
    comm_id = hello["content"]["comm_id"]

    ready = kernel.session.msg(
        "comm_msg",
        {
            "comm_id": comm_id,
            "data": {
                "type": "ready",
                "version": PROTOCOL_VERSION,
                "frontend": "jupyterlab",
                "client": kernel.session.session,
            },
        },
    )
    kernel.shell_channel.send(ready)
    running = kernel.execute(
        "import time\n"
        "sent = bridge.insert_cells('anchor-id', ['a = 1', 'b = 2'],"
        " generated_metadata('glm-test'))\n"
        "print('sent', sent, bridge.frontend)\n"
        "time.sleep(2)\n"
        "print('finished')"
    )
    seen = _iopub_until(
        kernel,
        lambda m: m["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == running,
    )
    streamed = "".join(m["content"].get("text", "") for m in seen if m["msg_type"] == "stream")
    assert "finished" not in streamed
    insert = seen[-1]["content"]["data"]
    assert insert["type"] == "insert"
    assert insert["after"] == "anchor-id"
    assert [cell["source"] for cell in insert["cells"]] == ["a = 1", "b = 2"]
    assert insert["cells"][0]["metadata"]["glm_magics"]["generated_by"] == "glm-test"
    assert insert["client"] == kernel.session.session  # the asker, from the request header
    rest = _iopub_until(kernel, _idle_after(running))
    printed = "".join(m["content"].get("text", "") for m in rest if m["msg_type"] == "stream")
    assert "sent True jupyterlab" in printed and "finished" in printed


_CODE_SETUP = """\
%load_ext glm_magics
from glm_magics.testing import LocalGLMServer, Reply
server = LocalGLMServer().start()
server.queue(Reply(text="```python\\na = 1\\n```\\n\\n```python\\nb = 2\\n```\\n"))
%glm config base_url={server.base_url}
"""


def _run_tagged(kernel: Any, code: str, tag: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run ``code`` as a page would, with ``tag`` in the request's metadata (None: no tag)."""
    metadata = {"cellId": "asking-cell"} | ({"glm_magics": tag} if tag is not None else {})
    content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
    message = kernel.session.msg("execute_request", content, metadata=metadata)
    kernel.shell_channel.send(message)
    msg_id = message["header"]["msg_id"]
    seen = _iopub_until(kernel, _idle_after(msg_id))
    while True:
        reply = kernel.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            return seen, reply


@pytest.mark.parametrize("tag", ["current", None, "old"])
def test_real_kernel_carries_cells_in_the_output_only_for_a_tagged_page(
    kernel: Any, tag: str | None
) -> None:
    """Tagged: the cells come in an output at once, no payload; else set_next_input."""
    from glm_magics.notebook.insertion import INSERT_MIME

    setup, _ = _run_tagged(kernel, _CODE_SETUP, None)
    assert not [m for m in setup if m["msg_type"] == "error"], setup
    sent = {"current": {"version": PROTOCOL_VERSION, "frontend": "jupyterlab"}, None: None}
    seen, reply = _run_tagged(
        kernel, "%%glm --code\nTwo blocks", sent.get(tag, {"version": 1, "frontend": "x"})
    )
    carriers = [
        m["content"]["data"]
        for m in seen
        if m["msg_type"] == "display_data" and INSERT_MIME in m["content"]["data"]
    ]
    payloads = reply["content"].get("payload", [])
    if tag == "current":
        (carrier,) = carriers
        carried = carrier[INSERT_MIME]
        assert carried["client"] == kernel.session.session  # the asking page
        assert [cell["source"].splitlines()[-1] for cell in carried["cells"]] == ["a = 1", "b = 2"]
        assert carrier["text/plain"].startswith("Inserted 2 new cells below")
        assert payloads == []
    else:
        assert carriers == []
        (payload,) = payloads
        assert payload["source"] == "set_next_input"
        assert payload["text"].endswith("a = 1\n\nb = 2")


# --- the prebuilt extension where JupyterLab looks --------------------------------------


def test_the_labextension_is_installed_where_jupyterlab_looks() -> None:
    from jupyter_core.paths import jupyter_path

    found = [
        Path(base) / "glm-magics"
        for base in jupyter_path("labextensions")
        if (Path(base) / "glm-magics" / "package.json").is_file()
    ]
    assert found, "glm-magics is not installed: run `python3 dev.py test` (builds it first)"
    extension = found[0]
    meta = json.loads((extension / "package.json").read_text())
    assert meta["name"] == "glm-magics"
    assert (extension / meta["jupyterlab"]["_build"]["load"]).is_file()
    assert (extension / "static").is_dir()


def test_jupyter_labextension_list_shows_it_enabled() -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    done = subprocess.run(
        [str(jupyter), "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    listing = done.stdout + done.stderr
    line = next((row for row in listing.splitlines() if "glm-magics" in row), "")
    assert "enabled" in line and "OK" in line, listing
