"""Running the tool calls a model asks for, safely, and writing their results back.

:func:`run_tool_calls` runs the calls through a
:class:`~glm_magics.tools.registry.ToolRegistry`, so only registered functions can
ever run, and :func:`tool_message` turns each :class:`ToolOutcome` into the ``tool``
message for the next request. Mistakes the model makes (an unknown tool, bad JSON, a
wrong argument, a function that raises) become an outcome whose content tells the
model what went wrong, never an exception::

    outcomes = run_tool_calls(result.tool_calls, registry)
    messages += [result.to_message(), *(tool_message(done) for done in outcomes)]
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from glm_magics.results import ToolCall
from glm_magics.tools.arguments import bind_arguments
from glm_magics.tools.docstrings import one_line
from glm_magics.tools.registry import ToolRegistry
from glm_magics.tools.schema import ToolSpec

__all__ = ["ToolOutcome", "run_tool_call", "run_tool_calls", "tool_message"]


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
    entry = registry.spec(call.name)
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
