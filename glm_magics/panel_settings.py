"""The control panel's settings widgets, kept in step with the magics' settings both ways.

Each widget stands for one :class:`~glm_magics.magics.GLMMagics` trait. A widget
change sets the trait (so the magics' validation applies and the next ``%%glm``
uses it); a trait change (``%glm config``, ``%config``) moves the widget. An unset
trait (``None``: the service's default) shows the documented default, and stays
unset until the user moves that widget.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import TraitError

from glm_magics.config import settings
from glm_magics.params import MAX_OUTPUT_TOKENS, RANGES

if TYPE_CHECKING:
    from glm_magics.magics import GLMMagics

__all__ = ["FIELDS", "SettingsBinding", "settings_widgets"]

_WIDE = {"description_width": "7em"}
_THINKING = {"default": None, "on": True, "off": False}


@dataclass(frozen=True)
class Field:
    """How one trait shows: the widget to make, and the conversions both ways."""

    make: Callable[[], widgets.ValueWidget]
    to_widget: Callable[[Any], Any]
    to_trait: Callable[[Any], Any]


def _default(name: str) -> Callable[[Any], Any]:
    fallback = RANGES[name].default
    return lambda value: fallback if value is None else value


def _same(value: Any) -> Any:
    return value


def _slider(name: str, low: float, step: float) -> Field:
    return Field(
        lambda: widgets.FloatSlider(
            min=low, max=1.0, step=step, description=name, readout_format=".2f", style=_WIDE
        ),
        _default(name),
        lambda value: round(float(value), 2),
    )


FIELDS: dict[str, Field] = {
    "model": Field(
        lambda: widgets.Dropdown(description="model", style=_WIDE),
        lambda value: value or settings.resolve_model(),
        _same,
    ),
    "temperature": _slider("temperature", 0.0, 0.05),
    "top_p": _slider("top_p", 0.01, 0.01),
    "max_tokens": Field(
        lambda: widgets.BoundedIntText(
            min=1, max=MAX_OUTPUT_TOKENS, description="max tokens", style=_WIDE
        ),
        _default("max_tokens"),
        int,
    ),
    "stop": Field(
        lambda: widgets.Text(
            description="stop", placeholder="none", continuous_update=False, style=_WIDE
        ),
        lambda value: value or "",
        lambda value: value or None,
    ),
    "thinking": Field(
        lambda: widgets.Dropdown(
            description="thinking",
            options=[("service default", "default"), ("on", "on"), ("off", "off")],
            style=_WIDE,
        ),
        lambda value: {None: "default", True: "on", False: "off"}[value],
        _THINKING.__getitem__,
    ),
    "do_sample": Field(
        lambda: widgets.Checkbox(description="sampling (off: greedy)", indent=False),
        lambda value: value is not False,
        bool,
    ),
    "json": Field(
        lambda: widgets.Checkbox(description="JSON mode", indent=False),
        bool,
        bool,
    ),
    "search": Field(
        lambda: widgets.Checkbox(description="web search ($0.033 a request)", indent=False),
        bool,
        bool,
    ),
    "api": Field(
        lambda: widgets.Dropdown(
            description="endpoint",
            options=[
                ("/chat/completions", "chat"),
                ("/responses", "responses"),
                ("/messages", "messages"),
            ],
            style=_WIDE,
        ),
        _same,
        _same,
    ),
    "show_reasoning": Field(
        lambda: widgets.Checkbox(description="show reasoning", indent=False),
        bool,
        bool,
    ),
    "system": Field(
        lambda: widgets.Textarea(
            description="system",
            placeholder="system prompt (optional)",
            continuous_update=False,
            layout=widgets.Layout(width="100%"),
            style=_WIDE,
        ),
        lambda value: value or "",
        str,
    ),
    "rows": Field(
        lambda: widgets.IntSlider(
            min=0, max=100, description="example rows", continuous_update=False, style=_WIDE
        ),
        _same,
        int,
    ),
}


def settings_widgets(magics: GLMMagics) -> dict[str, widgets.ValueWidget]:
    """One widget per field, showing the magics' current values."""
    made: dict[str, widgets.ValueWidget] = {}
    for name, field in FIELDS.items():
        widget = field.make()
        value = field.to_widget(getattr(magics, name))
        if isinstance(widget, widgets.Dropdown) and name == "model":
            widget.options = [value]
        widget.value = value
        made[name] = widget
    return made


class SettingsBinding:
    """Keeps ``fields`` and the traits of ``magics`` equal; :meth:`unbind` to stop.

    ``on_error`` receives the message when the magics refuse a widget's value (the
    widget then moves back to the setting).
    """

    def __init__(
        self,
        magics: GLMMagics,
        fields: dict[str, widgets.ValueWidget],
        *,
        on_error: Callable[[str], None],
    ) -> None:
        self._magics = magics
        self._fields = dict(fields)
        self._on_error = on_error
        self._local = threading.local()  # which thread is copying a value across
        self._handlers: list[tuple[str, Callable[[dict[str, Any]], None]]] = []
        magics.observe(self._from_magics, names=list(self._fields))
        for name, widget in self._fields.items():
            handler = self._widget_handler(name)
            widget.observe(handler, names="value")
            self._handlers.append((name, handler))

    def unbind(self) -> None:
        """Stop following changes in either direction."""
        self._magics.unobserve(self._from_magics, names=list(self._fields))
        for name, handler in self._handlers:
            self._fields[name].unobserve(handler, names="value")
        self._handlers.clear()

    def set_choices(self, name: str, options: list[str]) -> None:
        """Offer ``options`` in the dropdown ``name``, keeping the setting selected."""
        widget = self._fields[name]
        with self._quiet():
            shown = FIELDS[name].to_widget(getattr(self._magics, name))
            widget.options = list(dict.fromkeys([*options, shown]))
            widget.value = shown

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    def _busy(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    def _from_magics(self, change: dict[str, Any]) -> None:
        if not self._busy():
            self._show(change["name"], change["new"])

    def _show(self, name: str, value: Any) -> None:
        widget = self._fields[name]
        shown = FIELDS[name].to_widget(value)
        with self._quiet():
            if isinstance(widget, widgets.Dropdown) and shown not in widget.options:
                widget.options = [*widget.options, shown]
            widget.value = shown

    def _widget_handler(self, name: str) -> Callable[[dict[str, Any]], None]:
        def handler(change: dict[str, Any]) -> None:
            if self._busy():
                return
            try:
                with self._quiet():
                    setattr(self._magics, name, FIELDS[name].to_trait(change["new"]))
            except TraitError as exc:
                self._on_error(f"{name}: {exc}")
                self._show(name, getattr(self._magics, name))

        return handler
