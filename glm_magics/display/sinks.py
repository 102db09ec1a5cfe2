"""Where a :class:`~glm_magics.display.notebook_view.NotebookView` sends its MIME bundles.

The running shell's display publisher by default (:class:`IPythonDisplaySink`); the
control panel draws into widgets instead, and tests keep every bundle.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["DisplaySink", "IPythonDisplaySink"]


class DisplaySink(Protocol):
    """Where :class:`NotebookView` sends MIME bundles; tests pass a recording fake."""

    def display(
        self, data: dict[str, str], display_id: str, metadata: dict[str, Any] | None = None
    ) -> None:
        """Create a new output showing ``data`` (with ``metadata``), addressable by
        ``display_id``."""

    def update(self, data: dict[str, str], display_id: str) -> None:
        """Replace what the output ``display_id`` shows."""


class IPythonDisplaySink:
    """Publishes through the running shell's display publisher (the default sink)."""

    def display(
        self, data: dict[str, str], display_id: str, metadata: dict[str, Any] | None = None
    ) -> None:
        """Show ``data`` in a new output with ``display_id`` (``metadata`` is saved with it)."""
        from IPython.display import display

        display(data, raw=True, display_id=display_id, metadata=metadata)  # type: ignore[no-untyped-call]

    def update(self, data: dict[str, str], display_id: str) -> None:
        """Replace the output ``display_id``."""
        from IPython.display import update_display

        update_display(data, raw=True, display_id=display_id)  # type: ignore[no-untyped-call]
