"""Terminal view of a streamed GLM answer: text goes straight to a stream as it arrives.

Used when there is no rich frontend (terminal IPython, scripts, a plain Python
session); it is a :class:`~glm_magics.display.view.StreamView`, like the notebook
view in :mod:`glm_magics.display.notebook_view`.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

from glm_magics.display.lines import approval_text
from glm_magics.display.sources import sources_text
from glm_magics.display.text_forms import printable
from glm_magics.display.view import StreamView
from glm_magics.results import WebSource

__all__ = ["PlainView"]

_LINES = re.compile(r"(?<=\n)")
_DIM, _RED, _YELLOW, _RESET = "\x1b[2m", "\x1b[31m", "\x1b[33m", "\x1b[0m"


class PlainView(StreamView):
    """Text view for terminals: streams deltas straight to ``stream`` as they arrive.

    With colour (default: when ``stream`` is a tty) the reasoning is dimmed with
    ANSI codes; without, each reasoning line starts with ``│ ``. The waiting line
    is only drawn (and redrawn in place with ``\\r``) on a tty. Control characters
    from the model or server are neutralised so they cannot drive the terminal.
    """

    def __init__(
        self,
        model: str,
        *,
        show_reasoning: bool = True,
        stream: TextIO | None = None,
        color: bool | None = None,
    ) -> None:
        super().__init__()
        self._model = printable(model)
        self._show_reasoning = show_reasoning
        self._stream = stream if stream is not None else sys.stdout
        try:
            self._tty = self._stream.isatty()
        except (AttributeError, ValueError):
            self._tty = False
        self._color = self._tty if color is None else color
        self._phase = "waiting"  # then "reasoning" or "hidden", "text", "done"
        self._line_start = True
        self._wrote = False
        self._status_len = 0
        self._waiting_s: int | None = None
        self._finished = False

    def waiting(self, elapsed: float) -> None:
        """On a tty, redraw ``Waiting for {model}… N s`` in place when N changes."""
        seconds = max(0, int(elapsed))
        if self._tty and self._phase == "waiting" and seconds != self._waiting_s:
            self._waiting_s = seconds
            self._status(f"Waiting for {self._model}… {seconds} s")

    def notice(self, message: str) -> None:
        """Print ``message`` on its own line."""
        self._end_reasoning_style()
        self._clear_status()
        self._newline()
        self._write(f"{printable(message)}\n")
        self._line_start, self._waiting_s = True, None
        self._restart_reasoning_style()

    def reasoning(self, delta: str) -> None:
        """Write reasoning, dimmed or ``│ ``-prefixed (nothing if reasoning is hidden)."""
        if self._finished or not delta or self._phase == "text":
            return
        if not self._show_reasoning:
            if self._tty and self._phase == "waiting":
                self._phase = "hidden"
                self._status(f"{self._model} is reasoning…")
            return
        self._clear_status()
        if self._phase != "reasoning":
            self._phase = "reasoning"
            self._restart_reasoning_style()
        text = printable(delta)
        if not self._color:
            prefixed = []
            for part in _LINES.split(text):
                if part:
                    prefixed.append(f"│ {part}" if self._line_start else part)
                    self._line_start = part.endswith("\n")
            text = "".join(prefixed)
        self._emit(text)

    def text(self, delta: str) -> None:
        """Write answer text; a blank line separates it from the reasoning."""
        if self._finished or not delta:
            return
        self._clear_status()
        if self._phase == "reasoning":
            self._end_reasoning_style()
            self._newline()
            self._write("\n")
        self._phase = "text"
        self._emit(printable(delta))

    def tick(self) -> None:
        """Nothing to do: text is written as it arrives."""

    def finish(
        self, status: str, *, warning: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        """End the stream, then print the status and warning lines (once; a terminal
        keeps no ``metadata``)."""
        if self._finished:
            return
        self._close()
        if status:
            self._write(self._paint(printable(status), _DIM) + "\n")
        if warning:
            self._write(self._paint(f"Warning: {printable(warning)}", _YELLOW) + "\n")

    def json_answer(self, text: str) -> None:
        """Nothing more: a terminal already shows the JSON as it was written."""

    def error(self, message: str) -> None:
        """End the stream, then print ``Error: message``."""
        self._close()
        self._write(self._paint(f"Error: {printable(message)}", _RED) + "\n")

    def info(self, message: str, *, kind: str = "info") -> None:
        """Print a lasting line (tool calls get a ``tool:`` prefix)."""
        prefix = "tool call: " if kind.startswith("tool") else ""
        line = f"{prefix}{printable(message)}"
        self._end_reasoning_style()
        self._clear_status()
        self._newline()
        warn = kind in ("tool-error", "tool-declined")
        self._write((self._paint(line, _YELLOW) if warn else line) + "\n")
        self._line_start, self._waiting_s = True, None
        self._restart_reasoning_style()

    def approval(self, shown: str, note: str | None) -> None:
        """Print the call waiting for approval (the question follows on stdin)."""
        self._end_reasoning_style()
        self._clear_status()
        self._newline()
        self._write(self._paint(printable(approval_text(shown, note)), _YELLOW) + "\n")
        self._line_start, self._waiting_s = True, None

    def sources(self, sources: list[WebSource]) -> None:
        """Print the web search's sources, numbered."""
        if sources:
            self.notice(sources_text(sources))

    def new_round(self) -> None:
        """Start over for the next request: its waiting line, reasoning and text."""
        self._close()
        self._phase = "waiting"
        self._finished = False
        self._wrote = False
        self._waiting_s = None

    def _close(self) -> None:
        self._end_reasoning_style()
        self._clear_status()
        self._newline()
        if self._wrote and not self._finished:
            self._write("\n")
        self._finished = True
        self._phase = "done"

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self._color else text

    def _emit(self, text: str) -> None:
        if text:
            self._write(text)
            self._wrote = True
            self._line_start = text.endswith("\n")

    def _newline(self) -> None:
        if not self._line_start:
            self._write("\n")
            self._line_start = True

    def _restart_reasoning_style(self) -> None:
        if self._color and self._phase == "reasoning" and not self._finished:
            self._write(_DIM)

    def _end_reasoning_style(self) -> None:
        if self._color and self._phase == "reasoning":
            self._write(_RESET)

    def _status(self, text: str) -> None:
        padding = " " * max(0, self._status_len - len(text))
        self._write(f"\r{text}{padding}")
        self._status_len = len(text)

    def _clear_status(self) -> None:
        if self._status_len:
            self._write("\r" + " " * self._status_len + "\r")
            self._status_len = 0

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
