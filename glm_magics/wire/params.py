"""Request parameters, checked against the documented ranges before anything is sent.

:func:`build_params` turns friendly keyword arguments into the JSON fields the
service expects, or raises :class:`~glm_magics.errors.ParameterError` naming the
parameter, the value and the allowed range::

    >>> build_params({"temperature": 0.2, "stop": "END", "thinking": False})
    {'temperature': 0.2, 'stop': ['END'], 'thinking': {'type': 'disabled'}}
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glm_magics.errors import ParameterError

__all__ = ["CONTEXT_WINDOW", "MAX_OUTPUT_TOKENS", "RANGES", "Range", "build_params"]

CONTEXT_WINDOW = 200_000
MAX_OUTPUT_TOKENS = 131_072


@dataclass(frozen=True)
class Range:
    """A documented numeric range, inclusive at both ends; ``unit`` words the message."""

    low: float
    high: float
    default: float
    integer: bool = False
    unit: str = ""

    def check(self, name: str, value: object) -> float | int:
        """Return ``value`` as a number inside the range, or raise ParameterError."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{name} must be a number, got {value!r}")
        if self.integer and (isinstance(value, float) and not value.is_integer()):
            raise ParameterError(f"{name} must be a whole number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"{name} must be a finite number, got {value!r}")
        if not self.low <= value <= self.high:
            low, high = _fmt(self.low), _fmt(self.high)
            unit = f" {self.unit}" if self.unit else ""
            raise ParameterError(
                f"{name} must be between {low} and {high}{unit} "
                f"(default {_fmt(self.default)}), got {value!r}"
            )
        return int(value) if self.integer else float(value)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


RANGES: dict[str, Range] = {
    "temperature": Range(0.0, 1.0, 1.0),
    "top_p": Range(0.01, 1.0, 0.95),
    "max_tokens": Range(1, MAX_OUTPUT_TOKENS, 4096, integer=True),
}

_BOOLEAN = ("do_sample", "tool_stream")
_PASSTHROUGH_STRINGS = ("user_id", "request_id")
KNOWN = (
    *RANGES,
    *_BOOLEAN,
    *_PASSTHROUGH_STRINGS,
    "stop",
    "thinking",
    "enable_thinking",
    "response_format",
    "tools",
    "tool_choice",
    "extra_body",
)


def build_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``params`` and return the JSON fields to send (``None`` values dropped)."""
    body: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name in RANGES:
            body[name] = RANGES[name].check(name, value)
        elif name in _BOOLEAN:
            body[name] = _boolean(name, value)
        elif name in _PASSTHROUGH_STRINGS:
            if not isinstance(value, str) or not value:
                raise ParameterError(f"{name} must be a non-empty string, got {value!r}")
            body[name] = value
        elif name == "stop":
            body["stop"] = _stop(value)
        elif name in ("thinking", "enable_thinking"):
            body["thinking"] = _thinking(name, value)
        elif name == "response_format":
            body["response_format"] = _response_format(value)
        elif name == "tools":
            body["tools"] = _tools(value)
        elif name == "tool_choice":
            if value != "auto":
                raise ParameterError(
                    f"tool_choice must be 'auto' (the only documented value), got {value!r}"
                )
            body["tool_choice"] = value
        elif name == "extra_body":
            if not isinstance(value, Mapping):
                raise ParameterError("extra_body must be a dict of extra JSON fields to send as-is")
            body.update(value)
        else:
            close = difflib.get_close_matches(name, KNOWN, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"unknown parameter {name!r}.{hint} Known: {', '.join(sorted(KNOWN))}; "
                "use extra_body={...} to send a field glm-magics does not know."
            )
    return body


def _boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}")
    return value


def _stop(value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list | tuple)
        or len(items) != 1
        or not isinstance(items[0], str)
        or not items[0]
    ):
        raise ParameterError(
            f"stop must be one non-empty string (the service accepts a single stop "
            f"sequence), got {value!r}"
        )
    return [items[0]]


def _thinking(name: str, value: object) -> dict[str, str]:
    if isinstance(value, Mapping):
        value = value.get("type")
    if value is True or value == "enabled":
        return {"type": "enabled"}
    if value is False or value == "disabled":
        return {"type": "disabled"}
    raise ParameterError(f"{name} must be True/False or 'enabled'/'disabled', got {value!r}")


def _response_format(value: object) -> dict[str, str]:
    kind = value.get("type") if isinstance(value, Mapping) else value
    if kind not in ("json_object", "text"):
        raise ParameterError(f"response_format must be 'json_object' or 'text', got {value!r}")
    return {"type": str(kind)}


def _tools(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not value:
        raise ParameterError("tools must be a non-empty list of tool definitions")
    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(value):
        if not isinstance(tool, Mapping) or tool.get("type") not in ("function", "web_search"):
            raise ParameterError(
                f"tools[{index}] must be a dict with type 'function' or 'web_search', got {tool!r}"
            )
        if tool["type"] == "function":
            function = tool.get("function")
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                raise ParameterError(f"tools[{index}].function must be a dict with a 'name'")
        tools.append(dict(tool))
    return tools
