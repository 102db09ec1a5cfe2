"""Approve / Deny in the control panel: tool calls that wait for a person, without a prompt.

The panel asks from its own thread, so it cannot use the kernel's input request.
:class:`PanelApprovals` is the :data:`~glm_magics.tools.approval.Approver` it passes
to the session instead: the call is shown in the panel's answer (by the view, escaped,
long values cut), and two buttons appear under it. The request's thread waits for a
click while the kernel stays free (a click arrives as a widget message the kernel
handles between cells); Stop, or closing the panel, counts as Deny.
"""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets

from glm_magics.display.lines import AMBER
from glm_magics.notebook.panel_output import label_sized
from glm_magics.tools import ApprovalRequest

__all__ = ["PanelApprovals"]

_POLL = 0.1  # seconds between looks at the panel's Stop while waiting


class PanelApprovals:
    """The panel's approver: call it with an :class:`ApprovalRequest` from a thread.

    ``approve()`` and ``deny()`` are what the buttons do (tests call them directly);
    ``cancel`` is the running request's stop event, which also ends the wait.
    """

    def __init__(self) -> None:
        self.question = widgets.HTML()
        self.approve_button = widgets.Button(
            description="Approve", icon="check", button_style="warning", layout=label_sized()
        )
        self.deny_button = widgets.Button(description="Deny", icon="times", layout=label_sized())
        self.approve_button.add_class("glm-panel-approve")
        self.deny_button.add_class("glm-panel-deny")
        self.approve_button.on_click(lambda _: self.approve())
        self.deny_button.on_click(lambda _: self.deny())
        self.box = widgets.VBox(
            [self.question, widgets.HBox([self.approve_button, self.deny_button])],
            layout=widgets.Layout(display="none"),
        )
        self.box.add_class("glm-panel-approval")
        self.cancel: threading.Event | None = None
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._answer = False
        self._waiting = False

    @property
    def waiting(self) -> bool:
        """Whether a call is waiting for Approve or Deny."""
        return self._waiting

    def __call__(self, request: ApprovalRequest) -> bool | None:
        """Show the buttons and wait for a click (``None`` on the kernel's main thread,
        where waiting would stop the click from ever arriving)."""
        if threading.current_thread() is threading.main_thread():
            return None
        with self._lock:
            self._answered.clear()
            self._answer = False
            self._waiting = True
        self.question.value = (
            f'<div class="glm-approval-question" style="color:{AMBER}">'
            f"Run <code>{html.escape(request.name)}</code> as shown above?</div>"
        )
        self.box.layout.display = ""
        try:
            while not self._answered.wait(_POLL):
                if self.cancel is not None and self.cancel.is_set():
                    return False
            return self._answer
        finally:
            self._waiting = False
            self.box.layout.display = "none"
            self.question.value = ""

    def approve(self) -> None:
        """Run the waiting call."""
        self._settle(True)

    def deny(self) -> None:
        """Do not run the waiting call; the model is told you declined."""
        self._settle(False)

    def _settle(self, answer: bool) -> None:
        with self._lock:
            if not self._waiting or self._answered.is_set():
                return  # a late or double click: nothing is waiting
            self._answer = answer
            self._answered.set()
