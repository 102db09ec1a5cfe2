"""Every setting of a session, each declared once, with its type, default, range and help.

:class:`Settings` is a dataclass whose fields *are* the declarations: the type hint
gives the kind (``float | None``: a number that may be left unset for the service's
default), and :func:`setting` adds the help text, the documented range, the choices
and how the control panel shows it. Everything else derives from here: the
validation below, the ``%config GLMMagics`` traits and the panel's widgets (in
:mod:`glm_magics.notebook`), and ``%glm config``'s parsing and listing::

    settings = Settings(temperature=0.2)
    settings.top_p = 2          # ParameterError: top_p must be between 0.01 and 1 ...
    settings.observe(lambda change: print(change.name, change.new))
    settings.parse("max_tokens", "512")   # 512, as %glm config reads it

``None`` means "not set": the request leaves the field out and the service decides.
Setting ``preset`` also sets ``base_url`` and ``model`` to that server's.
"""

from __future__ import annotations

import difflib
import threading
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from glm_magics.errors import ConfigurationError, GLMError, ParameterError
from glm_magics.wire.params import RANGES, Range
from glm_magics.wire.presets import BASE_URL_ENV, MODEL_ENV, check_base_url, get_preset

__all__ = ["REQUEST_PARAMS", "Change", "SettingInfo", "Settings", "Spec", "setting"]

#: The settings sent as request parameters (through build_params).
REQUEST_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "do_sample", "thinking")

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


@dataclass(frozen=True)
class Spec:
    """What a setting is besides its type and default.

    ``label`` and ``widget`` say how the control panel shows it (no label: not in the
    panel); ``widget`` is one of ``slider``, ``number``, ``text``, ``textarea``,
    ``checkbox``, ``dropdown``. ``choice_labels`` name the ``choices`` for people.
    ``normalise`` checks and tidies a value beyond its type and range.
    """

    help: str
    range: Range | None = None
    choices: tuple[str, ...] = ()
    choice_labels: tuple[str, ...] = ()
    normalise: Callable[[Any], Any] | None = None
    label: str = ""
    widget: str = ""
    step: float | None = None


def setting(default: Any, help: str, **spec: Any) -> Any:
    """A :class:`Settings` field: its default and its :class:`Spec`."""
    return field(default=default, metadata={"spec": Spec(help=help, **spec)})


def _base_url(value: str) -> str | None:
    return check_base_url(value) if value.strip() else None


def _preset(value: str) -> str | None:
    return get_preset(value).name if value.strip() else None


@dataclass(frozen=True)
class Change:
    """One setting changed: its name, the value before and the value now."""

    name: str
    old: Any
    new: Any


@dataclass(eq=False)
class Settings:
    """A session's settings; every assignment is checked (see the module docstring)."""

    model: str | None = setting(
        None,
        f"Model id (unset: ${MODEL_ENV}, then glm-4-7-flash).",
        label="model",
        widget="dropdown",
    )
    base_url: str | None = setting(
        None,
        f"Service base URL (unset: ${BASE_URL_ENV}, then https://api.empiriolabs.ai/v1).",
        normalise=_base_url,
    )
    preset: str | None = setting(
        None,
        "Where the model runs: empiriolabs (default), zai, vllm, sglang, ollama, llamacpp. "
        "Sets base_url and model (and the key variable for zai).",
        normalise=_preset,
    )
    temperature: float | None = setting(
        None,
        "Sampling temperature, 0-1.",
        range=RANGES["temperature"],
        label="temperature",
        widget="slider",
        step=0.05,
    )
    top_p: float | None = setting(
        None,
        "Nucleus sampling, 0.01-1.",
        range=RANGES["top_p"],
        label="top_p",
        widget="slider",
        step=0.01,
    )
    max_tokens: int | None = setting(
        None,
        "Longest answer, 1-131072 tokens.",
        range=RANGES["max_tokens"],
        label="max tokens",
        widget="number",
    )
    stop: str | None = setting(None, "A stop sequence.", label="stop", widget="text")
    do_sample: bool | None = setting(
        None, "False: greedy decoding.", label="sampling (off: greedy)", widget="checkbox"
    )
    thinking: bool | None = setting(
        None,
        "Reasoning on (True) or off (False); unset: service default.",
        label="thinking",
        widget="dropdown",
    )
    json: bool = setting(
        False,
        "JSON mode: ask for one JSON object (response_format).",
        label="JSON mode",
        widget="checkbox",
    )
    search: bool = setting(
        False,
        "Web search on every request ($0.033 each).",
        label="web search ($0.033 a request)",
        widget="checkbox",
    )
    api: str = setting(
        "chat",
        "Endpoint: /chat/completions, /responses or /messages.",
        choices=("chat", "responses", "messages"),
        choice_labels=("/chat/completions", "/responses", "/messages"),
        label="endpoint",
        widget="dropdown",
    )
    tool_rounds: int = setting(
        5,
        "Most rounds of tool calls before an answer is required.",
        range=Range(1, 50, 5, integer=True, unit="rounds of tool calls"),
    )
    confirm_tools: str = setting(
        "marked",
        "Tool calls that wait for your Run/Skip: marked (functions registered with "
        "@tool(confirm=True)), all, or none.",
        choices=("marked", "all", "none"),
        choice_labels=("marked tools ask first", "every tool call asks", "no tool call asks"),
        label="tool approval",
        widget="dropdown",
    )
    system: str = setting(
        "", "System prompt sent first in every request.", label="system", widget="textarea"
    )
    show_reasoning: bool = setting(
        True,
        "Show the model's reasoning above the answer.",
        label="show reasoning",
        widget="checkbox",
    )
    stream: bool = setting(True, "Stream answers as they are written.")
    max_retries: int = setting(
        3,
        "Retries before the first token (429, 5xx, network).",
        range=Range(0, 10, 3, integer=True),
    )
    timeout: float = setting(
        300.0,
        "Seconds to wait for the service to send something.",
        range=Range(0.1, 3600, 300.0, unit="seconds"),
    )
    display: str = setting(
        "auto",
        "rich: HTML in a notebook; plain: text (terminal); auto: pick by frontend.",
        choices=("auto", "rich", "plain"),
    )
    update_interval: float = setting(
        0.05,
        "Seconds between redraws while streaming.",
        range=Range(0.05, 5, 0.05, unit="seconds (at most 20 redraws a second)"),
    )
    generated_header: str = setting(
        "generated by {model}: review before running",
        "First line of inserted code cells ({model} is replaced); empty: none.",
    )
    rows: int = setting(
        5,
        "Example rows per DataFrame sent with -d (0: schema and statistics only).",
        range=Range(0, 100, 5, integer=True),
        label="example rows",
        widget="slider",
        step=1,
    )
    df_budget: int = setting(
        2000,
        "Token budget of each DataFrame summary sent with -d.",
        range=Range(100, 50_000, 2000, integer=True, unit="tokens"),
    )

    def __post_init__(self) -> None:
        if self.preset is not None:
            chosen = get_preset(self.preset)
            if self.base_url is None:
                self.base_url = chosen.base_url
            if self.model is None:
                self.model = chosen.model

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        value = check_setting(name, value)
        missing = object()
        old = self.__dict__.get(name, missing)
        object.__setattr__(self, name, value)
        if old is missing or old == value:
            return
        if name == "preset":
            chosen = get_preset(value) if value is not None else None
            self.base_url = chosen.base_url if chosen is not None else None
            self.model = chosen.model if chosen is not None else None
        for callback in list(self.__dict__.get("_observers", ())):
            callback(Change(name, old, value))

    def observe(self, callback: Callable[[Change], None]) -> None:
        """Call ``callback`` with a :class:`Change` after each setting that changes."""
        with _LOCK:
            self.__dict__.setdefault("_observers", []).append(callback)

    def unobserve(self, callback: Callable[[Change], None]) -> None:
        """Stop calling ``callback``; nothing happens if it was not observing."""
        with _LOCK:
            observers = self.__dict__.get("_observers", [])
            if callback in observers:
                observers.remove(callback)

    def request_params(self) -> dict[str, Any]:
        """The request parameters these settings give (unset ones are ``None``)."""
        return {name: getattr(self, name) for name in REQUEST_PARAMS}

    def parse(self, name: str, text: str) -> Any:
        """``text`` as a value of the setting ``name`` (``none`` or empty: unset)."""
        info = SETTINGS.get(name)
        if info is None:
            raise ConfigurationError(unknown_setting(name))
        raw = text.strip()
        if raw.lower() in ("", "none") and info.optional:
            return None
        try:
            if info.kind is bool:
                if raw.lower() not in (*_TRUE, *_FALSE):
                    raise ValueError
                return raw.lower() in _TRUE
            if info.kind is int:
                return int(raw)
            if info.kind is float:
                return float(raw)
        except ValueError:
            wanted = {bool: "True or False", int: "a whole number", float: "a number"}
            raise ParameterError(f"{name} must be {wanted[info.kind]}, got {text!r}") from None
        return text

    def __repr__(self) -> str:
        changed = [
            f"{info.name}={getattr(self, info.name)!r}"
            for info in SETTINGS.values()
            if getattr(self, info.name) != info.default
        ]
        return f"Settings({', '.join(changed)})"


_LOCK = threading.Lock()


@dataclass(frozen=True)
class SettingInfo:
    """One declared setting: name, kind (``bool``, ``int``, ``float`` or ``str``),
    whether it may be unset, its default and its :class:`Spec`."""

    name: str
    kind: type
    optional: bool
    default: Any
    spec: Spec


def _declarations() -> Iterator[SettingInfo]:
    hints = typing.get_type_hints(Settings)
    for declared in fields(Settings):
        hint = hints[declared.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        kinds = [arg for arg in args if arg is not type(None)]
        default = None if declared.default is MISSING else declared.default
        yield SettingInfo(
            declared.name, kinds[0], len(kinds) < len(args), default, declared.metadata["spec"]
        )


SETTINGS: dict[str, SettingInfo] = {info.name: info for info in _declarations()}
"""Every setting by name, in declaration order."""


def unknown_setting(name: str) -> str:
    """The message for a name that is not a setting, with the closest one."""
    close = difflib.get_close_matches(name, list(SETTINGS), n=1)
    if close:
        return f"unknown setting {name!r}: did you mean {close[0]!r}? (`%glm config` lists all)"
    return f"unknown setting {name!r}; the settings: {', '.join(sorted(SETTINGS))}"


def check_setting(name: str, value: Any) -> Any:
    """``value`` checked and tidied for the setting ``name``; a GLMError says what is wrong."""
    info = SETTINGS.get(name)
    if info is None:
        raise ConfigurationError(unknown_setting(name))
    if value is None:
        if info.optional:
            return None
        raise ParameterError(f"{name} cannot be unset (None); its default is {info.default!r}")
    spec = info.spec
    if info.kind is bool and not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}")
    if info.kind is str and not isinstance(value, str):
        raise ParameterError(f"{name} must be text, got {value!r}")
    if spec.range is not None:
        value = spec.range.check(name, value)
    elif info.kind in (int, float):
        value = Range(-1e300, 1e300, 0, integer=info.kind is int).check(name, value)
    if spec.choices and value not in spec.choices:
        raise ParameterError(f"{name} must be one of {', '.join(spec.choices)}, got {value!r}")
    if spec.normalise is not None:
        try:
            value = spec.normalise(value)
        except GLMError:
            raise
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise ParameterError(
                message if message.startswith(name) else f"{name}: {message}"
            ) from None
    return value
