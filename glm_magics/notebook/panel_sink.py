"""Where the control panel's answer is drawn: a column of HTML widgets.

:class:`WidgetSink` is a :class:`~glm_magics.display.notebook_view.DisplaySink`, so the
panel streams through the same :class:`~glm_magics.display.notebook_view.NotebookView`
as a ``%%glm`` cell, under the same escaping rules.
"""

from __future__ import annotations

import threading

import ipywidgets as widgets

__all__ = ["WidgetSink"]


class WidgetSink:
    """A :class:`~glm_magics.display.notebook_view.DisplaySink` drawing into a VBox of HTML widgets.

    Each display id becomes one ``HTML`` widget; only
    :class:`~glm_magics.display.notebook_view.NotebookView` writes here, and everything it sends is
    escaped or rendered by the safe markdown renderer. Callable from any thread.
    """

    def __init__(self, box: widgets.VBox) -> None:
        self.box = box
        self._items: dict[str, widgets.HTML] = {}
        self._lock = threading.Lock()

    def display(self, data: dict[str, str], display_id: str) -> None:
        """Append a new HTML widget showing ``data``."""
        item = widgets.HTML(data.get("text/html", ""))
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
