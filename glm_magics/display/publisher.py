"""Sends a view's displays through a sink, at a bounded message rate, skipping repeats.

:class:`~glm_magics.display.notebook_view.NotebookView` draws through one
:class:`Publisher`: every display it shows carries ``text/html``, and when it has a
text form, ``text/plain`` and ``text/markdown`` too, so frontends that read only one
of them (``jupyter console``, nbconvert to LaTeX) still show it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from glm_magics.display.sinks import DisplaySink
from glm_magics.display.text_forms import literal_markdown

__all__ = ["Publisher"]

_BURST = 2.0


class Publisher:
    """Creates or updates displays through a sink, skipping unchanged content.

    It also keeps the message rate: a bucket gains ``per_second`` credits per
    second (at most ``_BURST``), every message spends one, and optional redraws
    wait until :meth:`room` is large enough.
    """

    def __init__(self, sink: DisplaySink, clock: Callable[[], float], per_second: float) -> None:
        self._sink = sink
        self._shown: dict[str, dict[str, str]] = {}
        self._clock = clock
        self._per_second = per_second
        self._credit = _BURST
        self._refilled_at = clock()

    def room(self) -> float:
        """How many messages may be sent now without passing the rate."""
        if math.isinf(self._per_second):
            return math.inf
        now = self._clock()
        gained = max(0.0, now - self._refilled_at) * self._per_second
        self._credit = min(_BURST, self._credit + gained)
        self._refilled_at = now
        return self._credit

    def show(
        self,
        display_id: str,
        html_text: str,
        plain: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        markdown: str | None = None,
    ) -> int:
        """Show ``html_text`` in ``display_id`` (created on first use, with ``metadata``);
        return bytes sent.

        ``plain`` (text/plain) also goes as text/markdown, as literal text, unless
        ``markdown`` is given. A display emptied later gets an empty text/plain too, so
        that text-only readers (nbconvert to LaTeX) pass over it quietly; a console
        ignores updates, so it prints no blank line for it. (Pass ``plain=""`` to
        settle a display that was created empty.)
        """
        previous = self._shown.get(display_id)
        data = {"text/html": html_text}
        if plain is not None:
            data["text/plain"] = plain
            data["text/markdown"] = markdown if markdown is not None else literal_markdown(plain)
        elif not html_text and previous and previous["text/html"]:
            data["text/plain"] = ""
        if previous == data:
            return 0
        if previous is None:
            self._sink.display(data, display_id, metadata)
        else:
            self._sink.update(data, display_id)
        self._shown[display_id] = data
        self._credit -= 1
        return sum(len(value) for value in data.values())
