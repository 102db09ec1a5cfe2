"""What the control panel writes: the answer's column of HTML widgets and its notes.

:class:`WidgetSink` is a :class:`~glm_magics.display.sinks.DisplaySink`, so the
panel streams through the same :class:`~glm_magics.display.notebook_view.NotebookView`
as a ``%%glm`` cell, under the same escaping rules. The helpers write the panel's own
lines (escaped notes, one-line error descriptions) and find every widget to close.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.core.error import UsageError

from glm_magics.display.markdown import render_markdown
from glm_magics.display.text_forms import line_html
from glm_magics.errors import GLMError

if TYPE_CHECKING:
    from glm_magics.context.frames import FrameSummary
    from glm_magics.core.conversation import Turn

__all__ = [
    "ERROR_STYLE",
    "INFO_STYLE",
    "MUTED_STYLE",
    "WidgetSink",
    "all_widgets",
    "cut",
    "describe",
    "history_html",
    "label_sized",
    "note",
    "preview_html",
    "question_html",
    "stretched",
]

ERROR_STYLE = "color:#b91c1c"
# A cell's output text size (ipywidgets' own is smaller): quotes, code and spacing,
# all sized in em, then match the same answer in a cell.
_AS_IN_A_CELL = {"font_size": "var(--jp-content-font-size1, 14px)"}
INFO_STYLE = "color:var(--jp-content-font-color1,#374151)"  # the theme's text colour
MUTED_STYLE = "color:#6b7280;font-size:0.85em"


class WidgetSink:
    """A :class:`~glm_magics.display.sinks.DisplaySink` drawing into a VBox of HTML widgets.

    Each display id becomes one ``HTML`` widget; only
    :class:`~glm_magics.display.notebook_view.NotebookView` writes here, and everything it sends is
    escaped or rendered by the safe markdown renderer. Callable from any thread.
    """

    def __init__(self, box: widgets.VBox) -> None:
        self.box = box
        self._items: dict[str, widgets.HTML] = {}
        self._lock = threading.Lock()

    def display(
        self, data: dict[str, str], display_id: str, metadata: dict[str, Any] | None = None
    ) -> None:
        """Append a new HTML widget showing ``data`` (a widget keeps no ``metadata``)."""
        item = widgets.HTML(data.get("text/html", ""), style=_AS_IN_A_CELL)
        with self._lock:
            self._items[display_id] = item
            self.box.children = (*self.box.children, item)

    def update(self, data: dict[str, str], display_id: str) -> None:
        """Replace what the widget for ``display_id`` shows."""
        with self._lock:
            item = self._items.get(display_id)
        if item is not None:
            item.value = data.get("text/html", "")

    def html(self) -> str:
        """Everything shown, in order (what a user sees, as HTML)."""
        with self._lock:
            return "\n".join(item.value for item in self._items.values())

    def clear(self) -> None:
        """Remove and close every widget."""
        with self._lock:
            items = list(self._items.values())
            self._items.clear()
            self.box.children = ()
        for item in items:
            item.close()


def stretched(**extra: str) -> widgets.Layout:
    """A layout as wide as the panel, margins included (``width: 100%`` adds them on top
    of the width, and the panel would scroll sideways)."""
    return widgets.Layout(width="auto", align_self="stretch", **extra)


def label_sized() -> widgets.Layout:
    """A button's layout: as wide as its label, never cut off (a new one each time:
    closing a panel closes its layouts)."""
    return widgets.Layout(width="auto", min_width="8em")


def all_widgets(root: widgets.Widget) -> list[widgets.Widget]:
    """``root`` and every widget inside it, layouts and styles included (to close them)."""
    found, pending = [], [root]
    while pending:
        item = pending.pop()
        found.append(item)
        pending.extend(getattr(item, "children", ()))
        found.extend(
            part
            for part in (getattr(item, "layout", None), getattr(item, "style", None))
            if isinstance(part, widgets.Widget)
        )
    return found


def describe(exc: BaseException, scrub: Callable[[str], str]) -> str:
    """One line for the message line: the error's first line (its type when not ours)."""
    text = scrub(str(exc)).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, GLMError | UsageError):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def note(text: str, style: str, css_class: str = "glm-panel-note") -> str:
    """``text`` escaped in a styled line."""
    return f'<div class="{css_class}" style="{style}">{line_html(text)}</div>'


def cut(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def preview_html(summaries: list[FrameSummary]) -> str:
    """The DataFrame context a Send attaches, exactly, with its token estimate."""
    tokens = sum(summary.tokens for summary in summaries)
    body = "\n\n".join(summary.text for summary in summaries)
    return (
        note(f"Sent with the question: ~{tokens:,} tokens", MUTED_STYLE)
        + '<pre class="glm-panel-preview" style="max-height:20em;overflow:auto;'
        f'white-space:pre-wrap">{html.escape(body)}</pre>'
    )


def _inline(text: str) -> str:
    """One line of markdown as HTML, safe (the answers' renderer), without its ``<p>``."""
    page = render_markdown(text).strip()
    if page.startswith("<p>") and page.endswith("</p>") and page.count("<p>") == 1:
        return page[3:-4]
    return page


def question_html(question: str) -> str:
    """The question a panel answer answers, shown above it."""
    return (
        f'<div class="glm-panel-question" style="{INFO_STYLE}"><b>You asked:</b> '
        f"{_inline(cut(question, 300))}</div>"
    )


def history_html(turns: list[Turn]) -> str:
    """The conversation's turns, newest last: each question and the start of its answer,
    rendered as markdown (as the answers are)."""
    if not turns:
        return note("The conversation is empty.", MUTED_STYLE)
    items = []
    for turn in turns:
        answer = str(turn.assistant.get("content") or "")
        items.append(
            f"<li><b>{_inline(cut(turn.question, 90))}</b><br>"
            f'<span style="{MUTED_STYLE}">{_inline(cut(answer, 140))}</span></li>'
        )
    return f'<ol class="glm-panel-history jp-RenderedHTMLCommon">{"".join(items)}</ol>'
