"""How a batch shows its progress: a widget in a notebook, a line in a terminal, or nothing.

Workers report each finished row from their own threads; a view redraws at most
four times a second (and once at the end), showing rows done and failed, the pace,
the time left and the tokens spent::

    ████████████░░░░░░░░ 312/500 · 3 failed · 4.1 rows/s · 0:46 left · 41,220 tokens
"""

from __future__ import annotations

import html
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from glm_magics.errors import ParameterError

__all__ = ["Counts", "Progress", "TextProgress", "WidgetProgress", "choose_progress"]

_REDRAW = 0.25  # seconds between redraws


@dataclass
class Counts:
    """A batch so far. ``done`` counts answered and failed rows, ``resumed`` the stored."""

    total: int
    resumed: int = 0
    done: int = 0
    failed: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Rows answered per second in this run."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """``312/500 · 3 failed · 4.1 rows/s · 0:46 left · 41,220 tokens``."""
        finished = self.resumed + self.done
        parts = [f"{finished:,}/{self.total:,}"]
        if self.resumed:
            parts.append(f"{self.resumed:,} from the store")
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        rate = self.rate
        if rate > 0:
            parts.append(f"{rate:.1f} rows/s")
            left = (self.total - finished) / rate
            if left > 0:
                parts.append(f"{int(left // 60)}:{int(left % 60):02d} left")
        parts.append(f"{self.tokens:,} tokens")
        return " · ".join(parts)


class Progress(Protocol):
    """A progress view; :meth:`update` is called from worker threads."""

    def update(self, counts: Counts, *, final: bool = False) -> None: ...

    def finish(self, summary: str) -> None: ...


class _Throttled:
    """Redraws at most every ``_REDRAW`` seconds, and always for the final state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drawn = 0.0

    def update(self, counts: Counts, *, final: bool = False) -> None:
        """Redraw ``counts`` if it is time to."""
        now = time.monotonic()
        with self._lock:
            if not final and now - self._drawn < _REDRAW:
                return
            self._drawn = now
            self.draw(counts)

    def draw(self, counts: Counts) -> None:
        raise NotImplementedError


class TextProgress(_Throttled):
    """A bar redrawn in place on a terminal (``\\r``); a line every few seconds elsewhere."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream if stream is not None else sys.stderr
        try:
            self._tty = self._stream.isatty()
        except (AttributeError, ValueError):
            self._tty = False
        self._printed = 0.0
        self._width = 0

    def draw(self, counts: Counts) -> None:
        finished = counts.resumed + counts.done
        filled = int(20 * finished / counts.total) if counts.total else 20
        text = f"{'█' * filled}{'░' * (20 - filled)} {counts.line()}"
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        elif time.monotonic() - self._printed >= 5.0 or finished == counts.total:
            self._printed = time.monotonic()
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self, summary: str) -> None:
        """End the bar's line and write the summary."""
        self._stream.write(("\n" if self._tty else "") + summary + "\n")
        self._stream.flush()


class WidgetProgress(_Throttled):
    """An ipywidgets bar with a line of figures, shown in the running cell."""

    def __init__(self, total: int) -> None:
        super().__init__()
        import ipywidgets as widgets
        from IPython.display import display

        self.bar = widgets.IntProgress(
            min=0, max=max(total, 1), bar_style="info", layout=widgets.Layout(width="100%")
        )
        self.label = widgets.HTML()
        self.widget = widgets.VBox([self.bar, self.label])
        self.widget.add_class("glm-rows-progress")
        display(self.widget)  # type: ignore[no-untyped-call]

    def draw(self, counts: Counts) -> None:
        self.bar.value = counts.resumed + counts.done
        self.label.value = f'<span style="font-size:0.85em">{html.escape(counts.line())}</span>'

    def finish(self, summary: str) -> None:
        """The summary under the bar; the bar turns green, or orange when rows failed."""
        self.bar.bar_style = "warning" if "failed" in summary or "stopped" in summary else "success"
        self.label.value = f'<span style="font-size:0.85em">{html.escape(summary)}</span>'


def choose_progress(progress: object, total: int) -> Progress | None:
    """The view ``map_rows(progress=...)`` asks for.

    ``None``: a widget in a Jupyter kernel, text on a terminal, nothing elsewhere;
    ``True``: a widget in a kernel, else text; ``False``: nothing; or a view of your own.
    """
    if progress is False:
        return None
    if progress is not None and progress is not True:
        if not callable(getattr(progress, "update", None)):
            raise ParameterError(
                f"progress must be None, True, False or a progress view, got {progress!r}"
            )
        return progress  # type: ignore[return-value]
    if _in_kernel():
        return WidgetProgress(total)
    try:
        interactive = sys.stderr.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return TextProgress() if progress is True or interactive else None


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (checked without importing IPython)."""
    ipython: Any = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    shell = ipython.get_ipython()
    return getattr(shell, "kernel", None) is not None
