"""The control panel's settings widgets, made from the settings' declarations and bound both ways.

Each setting with a panel ``label`` in :mod:`glm_magics.core.settings` gets a widget
chosen by its declaration: a slider over its documented range, a number box, a text
field, a checkbox, or a dropdown of its choices ("service default / on / off" for a
yes-or-no setting that may be left unset). A widget change sets the session's
setting (its validation applies and the next ``%%glm`` uses it); a setting changed
anywhere else (``%glm config``, ``%config``) moves the widget. An unset setting
(``None``: the service's default) shows the documented default, marked "service
default" beside it (:attr:`SettingsBinding.rows`), and stays unset until the user moves
that widget: the value a browser's widget sends back when it renders (a slider echoes
what it shows) is never taken for a choice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from glm_magics.core.settings import SETTINGS, Change, SettingInfo, Settings
from glm_magics.errors import GLMError
from glm_magics.notebook.panel_output import stretched

__all__ = ["PANEL_SETTINGS", "SettingsBinding"]

_WIDE = {"description_width": "7em"}
_UNSET = "default"
_YES_NO = {_UNSET: None, "on": True, "off": False}
_DEFAULT_NOTE = (
    '<span class="glm-panel-default" style="color:#6b7280;font-size:0.85em;'
    'white-space:nowrap">service default</span>'
)


@dataclass(frozen=True)
class _Field:
    """How one setting shows: the widget, and the conversions both ways.

    ``stands_in``: the widget shows a stand-in value while the setting is unset.
    """

    make: Callable[[], widgets.ValueWidget]
    to_widget: Callable[[Any], Any]
    to_setting: Callable[[Any], Any]
    stands_in: bool = False


PANEL_SETTINGS = tuple(name for name, info in SETTINGS.items() if info.spec.label)
"""The settings the panel shows, in declaration order."""


def _field(info: SettingInfo, current_model: Callable[[], str]) -> _Field:
    spec, label = info.spec, info.spec.label
    shown_default = spec.range.default if spec.range is not None else info.default

    def or_default(value: Any) -> Any:
        return shown_default if value is None else value

    if info.name == "model":
        return _Field(
            lambda: widgets.Dropdown(description=label, style=_WIDE),
            lambda value: value or current_model(),
            lambda value: value,
        )
    if spec.widget == "slider" and spec.range is not None:
        low, high, step = spec.range.low, spec.range.high, spec.step or 1
        if info.kind is int:
            return _Field(
                lambda: widgets.IntSlider(
                    min=int(low),
                    max=int(high),
                    step=int(step),
                    description=label,
                    continuous_update=False,
                    style=_WIDE,
                ),
                or_default,
                int,
                info.optional,
            )
        digits = max(0, len(f"{step:g}".partition(".")[2]))
        return _Field(
            lambda: widgets.FloatSlider(
                min=low,
                max=high,
                step=step,
                description=label,
                readout_format=f".{digits}f",
                style=_WIDE,
            ),
            or_default,
            lambda value: round(float(value), digits),
            info.optional,
        )
    if spec.widget == "number" and spec.range is not None:
        bounds = spec.range
        return _Field(
            lambda: widgets.BoundedIntText(
                min=int(bounds.low), max=int(bounds.high), description=label, style=_WIDE
            ),
            or_default,
            int,
            info.optional,
        )
    if spec.widget == "checkbox":
        if info.optional:  # unset counts as on, as the service's default does
            return _Field(
                lambda: widgets.Checkbox(description=label, indent=False),
                lambda value: value is not False,
                bool,
            )
        return _Field(lambda: widgets.Checkbox(description=label, indent=False), bool, bool)
    if spec.widget == "dropdown" and info.kind is bool:
        return _Field(
            lambda: widgets.Dropdown(
                description=label,
                options=[("service default", _UNSET), ("on", "on"), ("off", "off")],
                style=_WIDE,
            ),
            lambda value: {None: _UNSET, True: "on", False: "off"}[value],
            _YES_NO.__getitem__,
        )
    if spec.widget == "dropdown":
        names = spec.choice_labels or spec.choices
        return _Field(
            lambda: widgets.Dropdown(
                description=label, options=list(zip(names, spec.choices, strict=True)), style=_WIDE
            ),
            lambda value: value,
            lambda value: value,
        )
    make_text = widgets.Textarea if spec.widget == "textarea" else widgets.Text
    layout = stretched() if spec.widget == "textarea" else None
    return _Field(
        lambda: make_text(
            description=label,
            placeholder="none" if info.optional else f"{label} (optional)",
            continuous_update=False,
            style=_WIDE,
            **({"layout": layout} if layout is not None else {}),
        ),
        lambda value: value or "",
        (lambda value: value or None) if info.optional else str,
    )


class SettingsBinding:
    """One widget per panel setting (:attr:`widgets`), kept equal to ``settings``.

    ``current_model`` names the model used while the ``model`` setting is unset;
    ``on_error`` receives the message when a widget's value is refused (the widget
    then moves back to the setting). :meth:`unbind` stops following either side.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        current_model: Callable[[], str],
        on_error: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._fields = {name: _field(SETTINGS[name], current_model) for name in PANEL_SETTINGS}
        self.widgets: dict[str, widgets.ValueWidget] = {}
        """The widgets by setting name (``widgets["temperature"]``...)."""
        for name, field in self._fields.items():
            widget = field.make()
            value = field.to_widget(getattr(settings, name))
            if isinstance(widget, widgets.Dropdown) and name == "model":
                widget.options = [value]
            widget.value = value
            self.widgets[name] = widget
        self._widgets = self.widgets
        self._notes = {
            name: widgets.HTML(layout=widgets.Layout(width="auto"))
            for name, field in self._fields.items()
            if field.stands_in
        }
        self.rows: dict[str, widgets.Widget] = {
            name: widgets.HBox([widget, self._notes[name]]) if name in self._notes else widget
            for name, widget in self.widgets.items()
        }
        """What the panel lays out per setting: the widget, with its "service default"
        note where the widget shows a stand-in for an unset setting."""
        for name in self._notes:
            self._mark(name)
        self._on_error = on_error
        self._local = threading.local()  # which thread is copying a value across
        self._handlers: list[tuple[str, Callable[[dict[str, Any]], None]]] = []
        settings.observe(self._from_settings)
        for name, widget in self._widgets.items():
            handler = self._widget_handler(name)
            widget.observe(handler, names="value")
            self._handlers.append((name, handler))

    def unbind(self) -> None:
        """Stop following changes in either direction."""
        self._settings.unobserve(self._from_settings)
        for name, handler in self._handlers:
            self._widgets[name].unobserve(handler, names="value")
        self._handlers.clear()

    def set_choices(self, name: str, options: list[str]) -> None:
        """Offer ``options`` in the dropdown ``name``, keeping the setting selected."""
        widget = self._widgets[name]
        with self._quiet():
            shown = self._fields[name].to_widget(getattr(self._settings, name))
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

    def _from_settings(self, change: Change) -> None:
        if change.name in self._widgets and not self._busy():
            self._show(change.name, change.new)
        if change.name in self._notes:
            self._mark(change.name)

    def _mark(self, name: str) -> None:
        unset = getattr(self._settings, name) is None
        self._notes[name].value = _DEFAULT_NOTE if unset else ""

    def _show(self, name: str, value: Any) -> None:
        widget = self._widgets[name]
        shown = self._fields[name].to_widget(value)
        with self._quiet():
            if isinstance(widget, widgets.Dropdown) and shown not in widget.options:
                widget.options = [*widget.options, shown]
            widget.value = shown

    def _widget_handler(self, name: str) -> Callable[[dict[str, Any]], None]:
        def handler(change: dict[str, Any]) -> None:
            if self._busy():
                return
            field = self._fields[name]
            try:
                value = field.to_setting(change["new"])
                echoed = value == field.to_setting(field.to_widget(None))
                if field.stands_in and echoed and getattr(self._settings, name) is None:
                    return  # the stand-in echoed back by the page: not a choice
                with self._quiet():
                    setattr(self._settings, name, value)
                if name in self._notes:
                    self._mark(name)
            except GLMError as exc:
                self._on_error(str(exc))
                self._show(name, getattr(self._settings, name))

        return handler
