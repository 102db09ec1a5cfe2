"""Plain Python functions as tools the model may call, and running the calls it asks for.

Register a function once and every request can offer it::

    from glm_magics.tools import tool

    @tool
    def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, float]:
        \"\"\"Current weather for a city.

        Args:
            city: The city's English name.
        \"\"\"
        ...

The schema the model sees comes from the signature, the type hints and the
docstring (:func:`function_schema`). When an answer asks for calls,
:func:`run_tool_calls` runs them through a :class:`ToolRegistry`, so only
registered functions can ever run, and :func:`tool_message` turns each
:class:`ToolOutcome` into the ``tool`` message for the next request. Mistakes the
model makes (an unknown tool, bad JSON, a wrong argument, a function that raises)
become an outcome whose content tells the model what went wrong, never an exception.

This module holds the registry and running calls; the rest has a module each:
:mod:`glm_magics.tool_schema` (the schema), :mod:`glm_magics.tool_docstrings`
(reading docstrings), :mod:`glm_magics.tool_arguments` (checking and converting
arguments) and :mod:`glm_magics.tool_hints` (what a type hint means as JSON).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import enum
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from glm_magics.results import ToolCall
from glm_magics.tool_arguments import bind_arguments
from glm_magics.tool_docstrings import one_line
from glm_magics.tool_schema import ToolSpec, describe_tool, function_schema

__all__ = [
    "ToolOutcome",
    "ToolRegistry",
    "function_schema",
    "registered_tools",
    "run_tool_call",
    "run_tool_calls",
    "tool",
    "tool_message",
    "unregister",
]

F = TypeVar("F", bound=Callable[..., Any])


# -- The registry ------------------------------------------------------------------------


class ToolRegistry:
    """Functions the model may call, by tool name; safe to use from several threads.

    Adding a function whose name is taken replaces the old one, as re-running a
    notebook cell should::

        registry = ToolRegistry()
        registry.add(get_weather)
        registry.schemas()  # the request's ``tools`` list
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tools: dict[str, ToolSpec] = {}

    def add(
        self, func: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> None:
        """Register ``func``; its schema is built now, so signature problems show at once."""
        entry = describe_tool(func, name, description)
        with self._lock:
            self._tools[entry.name] = entry

    def remove(self, name: str) -> None:
        """Forget the tool ``name``; ``KeyError`` when there is none."""
        with self._lock:
            if name not in self._tools:
                raise KeyError(f"no tool named {name!r} (registered: {self._listing()})")
            del self._tools[name]

    def get(self, name: str) -> Callable[..., Any] | None:
        """The function registered as ``name``, or ``None``."""
        entry = self._entry(name)
        return entry.function if entry else None

    def names(self) -> list[str]:
        """Tool names in the order they were first added."""
        with self._lock:
            return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """The ``tools`` list for a request (copies: changing them changes nothing here)."""
        with self._lock:
            return [copy.deepcopy(entry.schema) for entry in self._tools.values()]

    def merged(self, other_functions: Iterable[Callable[..., Any]]) -> ToolRegistry:
        """A new registry: these tools plus ``other_functions``, which win on a name clash."""
        merged = ToolRegistry()
        extra = [describe_tool(func) for func in other_functions]
        with self._lock:
            merged._tools = dict(self._tools)
        for entry in extra:
            merged._tools[entry.name] = entry
        return merged

    def clear(self) -> None:
        """Forget every tool."""
        with self._lock:
            self._tools.clear()

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._tools

    def __len__(self) -> int:
        with self._lock:
            return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names()!r})"

    def _entry(self, name: str) -> ToolSpec | None:
        with self._lock:
            return self._tools.get(name)

    def _name_of(self, func: Callable[..., Any]) -> str | None:
        """The name ``func`` is registered under: the same object, else the same ``__name__``."""
        with self._lock:
            for entry in self._tools.values():
                if entry.function is func:
                    return entry.name
            name = getattr(func, "__name__", None)
            return name if name in self._tools else None

    def _listing(self) -> str:
        return ", ".join(self._tools) or "none"


registered_tools = ToolRegistry()
"""The tools offered with every request; filled by :func:`tool`."""


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(
    func: None = None, /, *, name: str | None = None, description: str | None = None
) -> Callable[[F], F]: ...
def tool(
    func: F | None = None, /, *, name: str | None = None, description: str | None = None
) -> F | Callable[[F], F]:
    """Offer a function to the model in every request; the function is returned unchanged.

    ``@tool``, ``@tool()`` and ``@tool(name="weather", description="...")`` all work;
    decorating again under the same name replaces the earlier function::

        @tool
        def roll(sides: int = 6) -> int:
            "Roll a die."
            return random.randint(1, sides)
    """

    def register(function: F) -> F:
        registered_tools.add(function, name=name, description=description)
        return function

    return register if func is None else register(func)


def unregister(name_or_func: str | Callable[..., Any]) -> None:
    """Stop offering a tool, given its name or its function; ``KeyError`` when unknown."""
    if isinstance(name_or_func, str):
        registered_tools.remove(name_or_func)
        return
    name = registered_tools._name_of(name_or_func)
    if name is None:
        raise KeyError(f"{name_or_func!r} is not a registered tool")
    registered_tools.remove(name)


# -- Running calls -----------------------------------------------------------------------


@dataclass(frozen=True)
class ToolOutcome:
    """What running one tool call gave: ``content`` goes back to the model.

    ``error`` is ``None`` on success; otherwise a short reason such as
    ``"ValueError: unknown city"``, and ``content`` is ``"Error: "`` plus the reason.
    """

    call: ToolCall
    content: str
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        """True when the function ran and returned."""
        return self.error is None

    def summary(self, width: int = 100) -> str:
        """One line for people, e.g. ``get_weather(city='Paris') → {"temp": 21}``."""
        try:
            arguments = self.call.parsed_arguments()
            shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
        except ValueError:
            shown = self.call.arguments
        room = max(width * 3 // 5 - len(self.call.name) - 2, 8)
        head = f"{self.call.name}({_cut(one_line([shown]), room)})"
        tail = f"✗ {self.error}" if self.error is not None else f"→ {self.content}"
        return _cut(one_line([head, tail]), width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def run_tool_call(
    call: ToolCall, registry: ToolRegistry, *, max_chars: int = 20_000
) -> ToolOutcome:
    """Run one call through ``registry``, turning every failure into an error outcome.

    Only functions in ``registry`` can run. Arguments are checked against the
    signature and converted to the annotated types (an Enum member, a dataclass, a
    tuple...). Results: a ``str`` is sent as-is, anything else as JSON, so ``None``
    becomes ``"null"``; content longer than ``max_chars`` is cut with a note of the
    original length. Only ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars!r}")
    started = time.perf_counter()
    content, error = _execute(call, registry)
    return ToolOutcome(call, _truncate(content, max_chars), error, time.perf_counter() - started)


def run_tool_calls(
    calls: Iterable[ToolCall], registry: ToolRegistry, *, max_chars: int = 20_000
) -> list[ToolOutcome]:
    """Run several calls (an answer may ask for more than one), in order."""
    return [run_tool_call(call, registry, max_chars=max_chars) for call in calls]


def tool_message(outcome: ToolOutcome) -> dict[str, Any]:
    """The ``tool`` message answering the call, for the next request's messages."""
    return {"role": "tool", "tool_call_id": outcome.call.id, "content": outcome.content}


def _execute(call: ToolCall, registry: ToolRegistry) -> tuple[str, str | None]:
    """``(content, None)`` on success; on failure ``("Error: ...", short reason)``.

    The content adds to the reason what the model needs to retry: the tool names,
    or the parameters the tool takes.
    """
    entry = registry._entry(call.name)
    if entry is None:
        names = registry.names()
        close = difflib.get_close_matches(call.name, names, n=1)
        available = f"available tools: {', '.join(names)}" if names else "no tools are available"
        reason = f"unknown tool {call.name!r}; {available}"
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"Error: {reason}.{hint}", reason
    try:
        arguments = call.parsed_arguments()
    except ValueError as exc:
        return f"Error: {exc}. {_expected(entry)}", str(exc)
    try:
        bound = bind_arguments(entry.signature, entry.hints, arguments)
    except Exception as exc:  # ValueError says what was wrong; anything else still must not escape
        return f"Error: invalid arguments for {entry.name}: {exc}. {_expected(entry)}", str(exc)
    try:
        value = entry.function(*bound.args, **bound.kwargs)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return f"Error: {reason}", reason
    try:
        return _encode(value), None
    except Exception as exc:
        reason = f"the result could not be encoded ({type(exc).__name__}: {exc})"
        return f"Error: {reason}", reason


def _expected(entry: ToolSpec) -> str:
    parameters = entry.schema["function"]["parameters"]
    required = set(parameters["required"])
    names = [
        f"{name} (required)" if name in required else name for name in parameters["properties"]
    ]
    return f"Send a JSON object with: {', '.join(names)}." if names else "Send {}."


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    """JSON for what ``json`` does not know: dataclasses, Enums, sets; else ``str()``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        try:
            return sorted(value)
        except TypeError:
            return sorted(value, key=repr)
    return str(value)


def _truncate(content: str, max_chars: int) -> str:
    if len(content) <= max_chars:
        return content
    return (
        f"{content[:max_chars]}\n… [cut: the result was {len(content):,} characters; "
        f"these are the first {max_chars:,}]"
    )
