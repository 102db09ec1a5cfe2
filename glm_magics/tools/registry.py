"""Which Python functions the model may call: the registry and the ``@tool`` decorator.

Register a function once and every request can offer it::

    from glm_magics.tools import tool

    @tool
    def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, float]:
        \"\"\"Current weather for a city.

        Args:
            city: The city's English name.
        \"\"\"
        ...

A :class:`ToolRegistry` keeps each function with its schema, built once when it is
added (:mod:`glm_magics.tools.schema`), so a signature the model could not call is an
error at once rather than on the first call. Only functions in the registry a
request carries can ever run (:mod:`glm_magics.tools.running`).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from glm_magics.tools.schema import ToolSpec, describe_tool, mark_confirm

__all__ = ["ToolRegistry", "registered_tools", "tool", "unregister"]

F = TypeVar("F", bound=Callable[..., Any])


class ToolRegistry:
    """Functions the model may call, by tool name; safe to use from several threads.

    Adding a function whose name is taken replaces the old one, as re-running a
    notebook cell should::

        registry = ToolRegistry()
        registry.add(get_weather)
        registry.schemas()  # the request's ``tools`` list
    """

    __module__ = "glm_magics"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tools: dict[str, ToolSpec] = {}

    def add(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        confirm: bool | None = None,
    ) -> None:
        """Register ``func``; its schema is built now, so signature problems show at once.

        ``confirm=True``: the function acts, so each call waits for approval
        (``None``: as ``@tool(confirm=True)`` marked it).
        """
        entry = describe_tool(func, name, description, confirm)
        with self._lock:
            self._tools[entry.name] = entry

    def remove(self, name: str) -> None:
        """Forget the tool ``name``; ``KeyError`` when there is none."""
        with self._lock:
            if name not in self._tools:
                raise KeyError(f"no tool named {name!r} (registered: {self.listing()})")
            del self._tools[name]

    def get(self, name: str) -> Callable[..., Any] | None:
        """The function registered as ``name``, or ``None``."""
        entry = self.spec(name)
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
            known = merged._tools.get(entry.name)
            if known is not None and known.function is entry.function and known.confirm:
                entry = dataclasses.replace(entry, confirm=True)  # registered as acting
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

    def spec(self, name: str) -> ToolSpec | None:
        """The function registered as ``name`` with its schema and signature, or ``None``."""
        with self._lock:
            return self._tools.get(name)

    def name_of(self, func: Callable[..., Any]) -> str | None:
        """The name ``func`` is registered under: the same object, else the same ``__name__``."""
        with self._lock:
            for entry in self._tools.values():
                if entry.function is func:
                    return entry.name
            name = getattr(func, "__name__", None)
            return name if name in self._tools else None

    def marked(self) -> list[str]:
        """The names of the tools whose calls wait for approval (``confirm=True``)."""
        with self._lock:
            return [name for name, entry in self._tools.items() if entry.confirm]

    def listing(self) -> str:
        """The tool names, comma-separated (``none`` when empty), for messages."""
        return ", ".join(self._tools) or "none"


registered_tools = ToolRegistry()
"""The tools offered with every request; filled by :func:`tool`."""


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
) -> Callable[[F], F]: ...
def tool(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
) -> F | Callable[[F], F]:
    """Offer a function to the model in every request; the function is returned unchanged.

    ``@tool``, ``@tool()`` and ``@tool(name="weather", description="...")`` all work;
    decorating again under the same name replaces the earlier function::

        @tool
        def roll(sides: int = 6) -> int:
            "Roll a die."
            return random.randint(1, sides)

    ``confirm=True`` marks a function that acts (deletes, sends, writes, spends):
    before each call runs, a person sees it and says Run or Skip
    (:mod:`~glm_magics.tools.approval`). Mark every such function: text the model
    reads (a web page, a CSV value, a cell's output) can ask it to call anything.
    """
    if not isinstance(confirm, bool):
        raise TypeError(f"confirm must be True or False, not {confirm!r}")

    def register(function: F) -> F:
        registered_tools.add(function, name=name, description=description, confirm=confirm)
        mark_confirm(function, confirm)
        return function

    return register if func is None else register(func)


def unregister(name_or_func: str | Callable[..., Any]) -> None:
    """Stop offering a tool, given its name or its function; ``KeyError`` when unknown."""
    if isinstance(name_or_func, str):
        registered_tools.remove(name_or_func)
        return
    name = registered_tools.name_of(name_or_func)
    if name is None:
        raise KeyError(f"{name_or_func!r} is not a registered tool")
    registered_tools.remove(name)
