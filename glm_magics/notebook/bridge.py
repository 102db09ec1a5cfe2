"""The kernel's side of the notebook extension: who asked, and the ``glm_magics`` comm.

The JupyterLab / Notebook 7 extension shipped in this package (``glm_magics/frontend``)
inserts cells for the kernel. Two ways reach it, neither waiting on the shell
channel (a running cell keeps it busy, and Run All queues every cell on it):

* **A cell's own output.** The extension tags every execute request it sends with
  ``metadata["glm_magics"] = {"version": 2, "frontend": ...}``, so the kernel knows
  *while the cell runs* whether that notebook page listens (:func:`current_requester`).
  If it does, the cells to insert travel as an output of the asking cell (see
  :mod:`glm_magics.notebook.insertion`); otherwise the kernel falls back to
  ``set_next_input``. No handshake is needed, so Run All, Run All after a kernel
  restart and runs after a page reload all behave like cells run one by one.
* **The comm**, for widget callbacks (the control panel's Insert code button), which
  run while the kernel is idle and have no cell output to carry anything::

    kernel                                  frontend (comm target "glm_magics")
    open comm  {"type": "hello", "version": 2}  ->
           <-  {"type": "ready", "version": 2, "frontend": "jupyterlab", "client": id}
    {"type": "insert", "after": cell_id, "cells": [...], "request": n}  ->
           <-  {"type": "inserted", "request": n, "count": k, ...} or {"type": "error", ...}

``insert_cells`` never waits: ``True`` means the request was sent to a frontend that
said it was ready, not that the cells exist. Where no frontend answered ``hello``
(the extension is not installed, or the kernel runs under IPython, nbclient or
VS Code) :attr:`Bridge.available` stays ``False``.

Several browsers may watch one kernel. Each ``ready`` names its connection (its
``client`` id, which is also the ``session`` of every request it sends); an insert
goes to the browser whose request is being handled (the widget click), or to every
ready browser if that one is unknown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "PROTOCOL_VERSION",
    "TARGET_NAME",
    "Bridge",
    "CommLike",
    "Requester",
    "current_requester",
    "generated_metadata",
    "requester_of",
    "shared_bridge",
]

TARGET_NAME = "glm_magics"
PROTOCOL_VERSION = 2

_log = logging.getLogger(__name__)


class CommLike(Protocol):
    """What the bridge needs of a comm: ``comm.base_comm.BaseComm`` has it."""

    comm_id: str

    def send(self, data: Any = None) -> None: ...

    def on_msg(self, callback: Callable[[dict[str, Any]], None] | None) -> None: ...

    def on_close(self, callback: Callable[[dict[str, Any]], None] | None) -> None: ...


CommFactory = Callable[[str, dict[str, Any]], CommLike]
"""Opens a comm: ``factory(target_name, data)`` sends ``comm_open`` with ``data``."""


def generated_metadata(model: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The metadata that marks a cell as generated: which model, and when (ISO 8601, UTC)."""
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return {"glm_magics": {"generated_by": model, "generated_at": when}}


def _open_kernel_comm(target_name: str, data: dict[str, Any]) -> CommLike:
    import comm  # ipykernel replaces comm.create_comm; elsewhere it makes a DummyComm

    opened: CommLike = comm.create_comm(target_name=target_name, data=data)
    return opened


def _current_parent() -> Mapping[str, Any] | None:
    """The request message the kernel is handling, if it runs in ipykernel."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # an odd kernel must not stop the insertion
        return None
    return parent if isinstance(parent, Mapping) else None


def _session_of(parent: Mapping[str, Any] | None) -> str | None:
    header = parent.get("header") if parent is not None else None
    session = header.get("session") if isinstance(header, Mapping) else None
    return session if isinstance(session, str) and session else None


def _current_request_session() -> str | None:
    """The ``session`` (the browser connection's client id) of the current request."""
    return _session_of(_current_parent())


@dataclass(frozen=True)
class Requester:
    """The notebook page whose execute request the kernel is running, as its tag says.

    ``client``: the page's kernel connection id (the request's ``session``), which
    the page compares before acting on an output; ``frontend``: ``"jupyterlab"`` or
    ``"notebook"``.
    """

    client: str
    frontend: str


def requester_of(parent: Mapping[str, Any] | None) -> Requester | None:
    """The extension's tag on the request ``parent``, or None if it has none.

    A tag of another protocol version (the server's extension and the kernel's
    package from different installs) counts as none, with a warning saying what to do.
    """
    metadata = parent.get("metadata") if parent is not None else None
    tag = metadata.get(TARGET_NAME) if isinstance(metadata, Mapping) else None
    client = _session_of(parent)
    if not isinstance(tag, Mapping) or client is None:
        return None
    if tag.get("version") != PROTOCOL_VERSION:
        _log.warning(
            "glm_magics: the notebook extension speaks protocol %r, this kernel %r; "
            "install the same glm-magics for JupyterLab and the kernel, then reload the page",
            tag.get("version"),
            PROTOCOL_VERSION,
        )
        return None
    frontend = tag.get("frontend")
    return Requester(client, frontend if isinstance(frontend, str) else "unknown")


def current_requester() -> Requester | None:
    """The tagged notebook page whose cell is running now, if any (see the module doc)."""
    return requester_of(_current_parent())


class Bridge:
    """One kernel's comm to the notebook extension; see the module docstring.

    ``comm_factory`` and ``request_session`` default to ipykernel's comm and the
    current request's session; tests pass fakes.
    """

    def __init__(
        self,
        *,
        comm_factory: CommFactory | None = None,
        request_session: Callable[[], str | None] | None = None,
    ) -> None:
        self._comm_factory = comm_factory or _open_kernel_comm
        self._request_session = request_session or _current_request_session
        self._lock = threading.Lock()
        self._comms: dict[str, CommLike] = {}
        self._ready: dict[str, tuple[CommLike, str]] = {}  # client id -> (comm, frontend)
        self._requests = 0
        self.last_status: dict[str, Any] | None = None
        """The latest ``inserted`` or ``error`` reply from a frontend, as sent."""

    @property
    def available(self) -> bool:
        """Whether a frontend said ``ready``: only then can cells be inserted."""
        return bool(self._ready)

    @property
    def frontend(self) -> str | None:
        """``"jupyterlab"`` or ``"notebook"``: the frontend that said ready last, if any."""
        with self._lock:
            ready = list(self._ready.values())
        return ready[-1][1] if ready else None

    def open(self) -> None:
        """Open the comm and say ``hello``; again only once the frontend closed it.

        Never raises: without a kernel that speaks comms the bridge stays unavailable.
        """
        with self._lock:
            if self._comms:
                return
        try:
            comm = self._comm_factory(TARGET_NAME, {"type": "hello", "version": PROTOCOL_VERSION})
            comm.on_msg(lambda msg: self._on_msg(comm, msg))
            comm.on_close(lambda _msg: self._on_close(comm))
        except Exception as error:
            _log.debug("glm_magics: no comm to the notebook (%s)", error)
            return
        with self._lock:
            self._comms[comm.comm_id] = comm

    def insert_cells(
        self, after_cell_id: str | None, cells: list[str], metadata: Mapping[str, Any]
    ) -> bool:
        """Ask the frontend for one new code cell per source below ``after_cell_id``.

        Returns at once: ``True`` if the request was sent, ``False`` if no frontend is
        ready, no anchor cell is known or ``cells`` is empty (then fall back to
        ``set_next_input``). Every cell gets a copy of ``metadata``.
        """
        if not after_cell_id or not cells:
            return False
        with self._lock:
            if not self._ready:
                return False
            self._requests += 1
            request = self._requests
            session = self._request_session()
            if session in self._ready:
                targets = [(session, self._ready[session][0])]
            else:
                targets = [(client, comm) for client, (comm, _) in self._ready.items()]
        message: dict[str, Any] = {
            "type": "insert",
            "after": after_cell_id,
            "cells": [{"source": source, "metadata": dict(metadata)} for source in cells],
            "request": request,
        }
        sent = False
        for client, comm in targets:
            try:
                comm.send({**message, "client": client})
            except Exception as error:
                _log.warning("glm_magics: could not send to the notebook: %s", error)
                with self._lock:
                    self._ready.pop(client, None)
            else:
                sent = True
        return sent

    def close(self) -> None:
        """Forget every comm (the integrator's ``unload``); the frontend keeps its cells."""
        with self._lock:
            comms = list(self._comms.values())
            self._comms.clear()
            self._ready.clear()
        for comm in comms:
            closer = getattr(comm, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception as error:
                    _log.debug("glm_magics: closing the comm failed (%s)", error)

    def _on_msg(self, comm: CommLike, msg: Mapping[str, Any]) -> None:
        content = msg.get("content")
        data = content.get("data") if isinstance(content, Mapping) else None
        if not isinstance(data, Mapping):
            return
        kind = data.get("type")
        if kind == "ready":
            if data.get("version") != PROTOCOL_VERSION:
                _log.warning(
                    "glm_magics: the notebook extension speaks protocol %r, not %r; "
                    "reinstall glm-magics and reload the page",
                    data.get("version"),
                    PROTOCOL_VERSION,
                )
                return
            client = data.get("client")
            key = client if isinstance(client, str) and client else f"comm:{comm.comm_id}"
            frontend = data.get("frontend")
            with self._lock:
                self._comms.setdefault(comm.comm_id, comm)
                self._ready.pop(key, None)  # re-insert so the latest ready comes last
                self._ready[key] = (comm, frontend if isinstance(frontend, str) else "unknown")
        elif kind in ("inserted", "error"):
            self.last_status = dict(data)
            if kind == "error":
                _log.warning(
                    "glm_magics: the notebook could not insert cells: %s", data.get("message")
                )
            elif data.get("message"):
                _log.info("glm_magics: %s", data.get("message"))

    def _on_close(self, comm: CommLike) -> None:
        with self._lock:
            self._comms.pop(comm.comm_id, None)
            for client in [c for c, (ready, _) in self._ready.items() if ready is comm]:
                del self._ready[client]


_shared: Bridge | None = None
_shared_lock = threading.Lock()


def shared_bridge() -> Bridge:
    """The kernel process's one :class:`Bridge` (so ``%reload_ext`` opens no second comm)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Bridge()
        return _shared
