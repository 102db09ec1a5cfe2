"""The control panel: ``%glm panel`` or ``glm_magics.panel()``, for those who prefer buttons.

An ipywidgets panel on the same session as the magics (the settings, the
conversation and the usage are shared): a prompt box with Send and Stop, the
settings (bound both ways, so ``%glm config`` moves a slider and a slider changes
the next ``%%glm``), a DataFrame picker with a preview of what will be sent, the
streamed reasoning and answer (the same view as a cell, drawn into widgets), the
conversation with a Clear button, Insert code, and Approve / Deny for a tool call
that waits for approval (:mod:`~glm_magics.notebook.panel_approval`).

A request runs in a background thread, so other cells run while it streams; Stop
ends it at once (the session shuts the connection's socket). Every button handler
is a one-line call into a plain method (``send``, ``stop``, ``clear``...), which
tests call directly; a handler's exception is shown in the message line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.core.error import UsageError

from glm_magics.context.prompt import Prompt
from glm_magics.display.notebook_view import NotebookView
from glm_magics.errors import GLMError
from glm_magics.notebook.host import NotebookHost, request_mistake
from glm_magics.notebook.panel_approval import PanelApprovals
from glm_magics.notebook.panel_output import (
    ERROR_STYLE,
    INFO_STYLE,
    MUTED_STYLE,
    WidgetSink,
    all_widgets,
    describe,
    history_html,
    label_sized,
    note,
    preview_html,
    question_html,
    stretched,
)
from glm_magics.notebook.panel_settings import SettingsBinding
from glm_magics.wire.presets import KNOWN_MODELS

if TYPE_CHECKING:
    from glm_magics.notebook.insertion import Insertion
    from glm_magics.results import ChatResult

__all__ = ["ControlPanel"]

_log = logging.getLogger("glm_magics")
_MODELS_TIMEOUT = 3.0
_FRAMES_SECTION = 1  # the accordion's "DataFrame context"


class ControlPanel:
    """The widgets and their behaviour; display it like a widget.

    ``anchor`` is the id of the cell the panel was shown from: Insert code adds
    cells below it. Use :meth:`close` (or show a new panel) to stop its threads.
    """

    __module__ = "glm_magics"

    def __init__(self, host: NotebookHost, *, anchor: str | None = None) -> None:
        self.host = host
        self.session = host.session
        self.anchor = anchor
        self.last_result: ChatResult | None = None
        self._thread: threading.Thread | None = None
        self._models_thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._closed = False
        self._hold_preview = False
        self._asked = ""

        self.prompt = widgets.Textarea(
            placeholder="Ask GLM… (Shift+Enter sends)",
            layout=stretched(height="6em"),
        )
        self.prompt.add_class("glm-panel-prompt")
        self.send_button = self._button("Send", "paper-plane", self.send, style="primary")
        self.send_button.add_class("glm-panel-send")
        self.stop_button = self._button("Stop", "stop", self.stop, style="danger")
        self.stop_button.disabled = True
        self.insert_button = self._button("Insert code", "plus", self.insert_code)
        self.insert_button.disabled = True
        self.clear_button = self._button("Clear conversation", "trash", self.clear)
        self.message = widgets.HTML()
        # Styled as a cell's output is (jp-RenderedHTMLCommon): answers look the same.
        self.output = widgets.VBox(_dom_classes=("glm-panel-output", "jp-RenderedHTMLCommon"))
        self._sink = WidgetSink(self.output)
        self.approvals = PanelApprovals()
        self.copy_box = widgets.Textarea(layout=stretched(display="none"))

        self._binding = SettingsBinding(
            self.session.settings,
            current_model=lambda: self.session.client.model,
            on_error=self._say_error,
        )
        self.fields = self._binding.widgets
        """The settings widgets by setting name (``fields["temperature"]``...)."""
        self.models_note = widgets.HTML()
        self.frames = widgets.SelectMultiple(description="DataFrames", rows=4, layout=stretched())
        self.refresh_button = self._button("Refresh", "refresh", self.refresh_frames)
        self.preview = widgets.HTML()
        self.history = widgets.HTML()
        settings_box = [row for name, row in self._binding.rows.items() if name != "rows"]
        frames_box = [self.frames, self.fields["rows"], self.refresh_button, self.preview]
        self.sections = widgets.Accordion(
            children=[
                widgets.VBox([*settings_box, self.models_note]),
                widgets.VBox(frames_box),
                widgets.VBox([self.history, self.clear_button]),
            ],
            titles=("Settings", "DataFrame context", "Conversation"),
        )
        self.widget = widgets.VBox(
            [
                self.prompt,
                widgets.HBox([self.send_button, self.stop_button, self.insert_button]),
                self.message,
                self.output,
                self.approvals.box,
                self.copy_box,
                self.sections,
            ]
        )
        self.widget.add_class("glm-panel")
        self.frames.observe(self._guard(self._preview_if_shown), names="value")
        self.fields["rows"].observe(self._guard(self._preview_if_shown), names="value")
        self.sections.observe(self._guard(self._section_opened), names="selected_index")
        self._events = getattr(host.shell, "events", None)
        if self._events is not None:
            self._events.register("post_run_cell", self._after_cell)
        self.refresh_frames()
        self.refresh_history()
        self._models_thread = threading.Thread(
            target=self._load_models, name="glm-panel-models", daemon=True
        )
        self._models_thread.start()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        if self._closed:
            return {"text/plain": repr(self)}
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self.running else "idle"
        return f"<glm-magics control panel: {self.fields['model'].value}, {state}>"

    # -- the buttons ------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a request is streaming."""
        return self._thread is not None and self._thread.is_alive()

    def send(self) -> bool:
        """Ask the question in the prompt box, in the background.

        Returns ``False``, with the reason in the message line, when nothing was sent.
        """
        if self._closed:
            raise RuntimeError("this panel is closed; show a new one with %glm panel")
        if self.running:
            self._say("A request is still running: wait for it or press Stop.")
            return False
        question = self.prompt.value.strip()
        if not question:
            self._say("Write a question in the box first.")
            return False
        self.refresh_frames()
        try:
            prompt = self.host.compose(question, frames=",".join(self.frames.value) or None)
            model = self.fields["model"].value or self.session.model
        except (UsageError, GLMError) as exc:
            self._say_error(str(exc))
            return False
        settings = self.session.settings
        self._sink.clear()
        self._sink.display({"text/html": question_html(question)}, "question")
        self.copy_box.layout.display = "none"
        view = NotebookView(
            model,
            show_reasoning=settings.show_reasoning,
            min_interval=max(0.1, settings.update_interval),
            sink=self._sink,
        )
        self._stop_requested = self.approvals.cancel = threading.Event()
        self._asked = self.prompt.value
        self._set_running(True)
        self._say("")
        self._thread = threading.Thread(
            target=self._run,
            args=(prompt, model, view, self._stop_requested),
            name="glm-panel-request",
            daemon=True,
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        """End the running request now; the partial answer stays shown."""
        self.session.stop(self._stop_requested)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running request ends; ``False`` if ``timeout`` passed first."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def clear(self) -> None:
        """Forget the conversation (shared with the magics) and the shown answer."""
        if self.running:
            self._say("A request is running: wait for it or press Stop, then clear.")
            return
        count = len(self.session.conversation)
        self.session.reset()
        self._sink.clear()
        self.last_result = None
        self.insert_button.disabled = True
        self.refresh_history()
        self._say(f"Conversation cleared ({count} turns).")

    def insert_code(self) -> Insertion | None:
        """Put the last answer's code blocks into new cells below the panel's cell."""
        result = self.last_result
        if result is None or not result.text:
            self._say("There is no answer yet: Send a question first.")
            return None
        inserted = self.host.insert_code(result, "python", anchor=self.anchor, from_widget=True)
        if inserted.copy is not None:
            self.copy_box.value = inserted.copy
            self.copy_box.layout.display = ""
        self._say(inserted.message)
        return inserted

    def close(self) -> None:
        """Stop any request, wait for the panel's threads, and close every widget."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        for thread in (self._thread, self._models_thread):
            if thread is not None:
                thread.join(_MODELS_TIMEOUT + 1.0)
        if self._events is not None:
            self._events.unregister("post_run_cell", self._after_cell)
        self._binding.unbind()
        self._sink.clear()
        for item in all_widgets(self.widget):
            item.close()
        if self.host.panel is self:
            self.host.panel = None

    # -- DataFrames and history -------------------------------------------------

    def refresh_frames(self) -> None:
        """List the notebook's DataFrames again, keeping the selection that still exists.

        The preview is recomputed only while its section is open: a summary of a big
        frame takes a moment, and this runs after every cell.
        """
        names = self.host.frame_names()
        if list(self.frames.options) != names:
            chosen = [name for name in self.frames.value if name in names]
            self._hold_preview = True
            try:
                self.frames.options = names
                self.frames.value = tuple(chosen)
            finally:
                self._hold_preview = False
        self._preview_if_shown()

    def _preview_if_shown(self) -> None:
        if not self._hold_preview and self.sections.selected_index == _FRAMES_SECTION:
            self.update_preview()

    def update_preview(self) -> None:
        """Show exactly the context the next Send attaches, with its token estimate."""
        chosen = ",".join(self.frames.value)
        if not self.frames.options:
            self.preview.value = note(
                "No pandas or polars DataFrame in the notebook yet.", MUTED_STYLE
            )
            return
        if not chosen:
            self.preview.value = note(
                "Pick DataFrames to send their summary with the question.", MUTED_STYLE
            )
            return
        try:
            summaries = self.session.frame_context(self.host.frames(chosen))
        except (UsageError, GLMError) as exc:
            self.preview.value = note(str(exc), ERROR_STYLE)
            return
        self.preview.value = preview_html(summaries)

    def refresh_history(self) -> None:
        """Show the conversation's turns (the magics' too), newest last."""
        self.history.value = history_html(list(self.session.conversation))

    # -- internals ---------------------------------------------------------------

    def _run(self, prompt: Prompt, model: str, view: NotebookView, cancel: threading.Event) -> None:
        try:
            ask = self.session.ask
            result = ask(prompt, model=model, reporter=view, cancel=cancel, approve=self.approvals)
        except Exception as exc:  # shown in the panel: a thread has nobody else to tell
            _log.debug("glm_magics: the panel's request failed", exc_info=True)
            if request_mistake(exc) or not isinstance(exc, GLMError):
                self._say_error(describe(exc, self.session.scrub))
            self.last_result = self.session.last_result
        else:
            self.last_result = result  # a stop is said once, under the answer, by the view
            if result.finish_reason in ("stop", "length") and self._asked == self.prompt.value:
                self.prompt.value = ""  # answered, and nothing new was typed meanwhile
        finally:
            self._set_running(False)
            self.refresh_history()

    def _set_running(self, running: bool) -> None:
        self.send_button.disabled = running
        self.clear_button.disabled = running  # the running request would add its turn back
        self.stop_button.disabled = not running
        self.insert_button.disabled = running or not self._has_code()

    def _has_code(self) -> bool:
        from glm_magics.display.code_blocks import extract_code_blocks, select_blocks

        result = self.last_result
        return bool(
            result is not None
            and result.text
            and select_blocks(extract_code_blocks(result.text), "python")
        )

    def _load_models(self) -> None:
        current = self.fields["model"].value
        found: list[str] = []
        try:
            found = self.session.models()
        except Exception as exc:  # any failure: offer the known models and say why
            reason = describe(exc, self.session.scrub)
            self.models_note.value = note(
                f"Showing the known GLM models: the model list is unavailable ({reason}).",
                MUTED_STYLE,
            )
        names = list(dict.fromkeys([*(found or KNOWN_MODELS), current]))
        if not self._closed:
            self._binding.set_choices("model", names)

    def _after_cell(self, _result: object) -> None:
        try:
            self.refresh_frames()
            self.refresh_history()
        except Exception as exc:  # never break the user's cells
            self._say_error(describe(exc, self.session.scrub))

    def _section_opened(self) -> None:
        if self.sections.selected_index == _FRAMES_SECTION:
            self.refresh_frames()
        elif self.sections.selected_index == 2:
            self.refresh_history()

    def _button(
        self, label: str, icon: str, action: Callable[[], object], style: str = ""
    ) -> widgets.Button:
        button = widgets.Button(
            description=label,
            icon=icon,
            button_style=style,
            layout=label_sized(),
        )
        button.on_click(self._guard(action))
        return button

    def _guard(self, action: Callable[[], object]) -> Callable[..., None]:
        def handler(*_: object) -> None:
            try:
                action()
            except Exception as exc:  # widgets would only log it: show it instead
                _log.debug("glm_magics: a panel handler failed", exc_info=True)
                self._say_error(describe(exc, self.session.scrub))

        return handler

    def _say(self, text: str) -> None:
        self.message.value = note(text, INFO_STYLE, "glm-panel-message") if text else ""

    def _say_error(self, text: str) -> None:
        self.message.value = note(f"Error: {text}", ERROR_STYLE, "glm-panel-message")
