"""The request checks of the local server, one validator for every route.

A real GLM endpoint rejects a request before it answers: the body must be a JSON
object, the conversation must be there, the sampling parameters must lie inside
the model's published ranges, and the model must exist. The three routes differ
only in where they keep things, which :class:`RequestRules` names::

    rules = RequestRules(conversation="input", conversation_kinds=(str, list),
                         max_tokens_field="max_output_tokens")
    validate_request(body, rules, models=server.models, parameters=server.model_parameters)

``parameters`` is what the server publishes at ``GET /v1/models/{id}`` (the shape
of :data:`~glm_magics.testing.wire.MODEL_PARAMETERS`), so a server built with a
narrower range enforces that range on every route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SEARCH_FIELDS", "Problem", "RequestRules", "validate_request"]

Problem = tuple[int, str, str]
"""``(status, business code, message)`` of a rejected request."""

_RANGED = ("temperature", "top_p")
#: The web search's options, beside ``tool_web_search: true`` (the hosted service's form)
#: or inside a ``{"type": "web_search", "web_search": {...}}`` tools entry (Z.ai's form).
SEARCH_FIELDS = (
    "search_result",
    "search_prompt",
    "count",
    "search_domain_filter",
    "search_recency_filter",
)
_RECENCY = ("oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit")


@dataclass(frozen=True)
class RequestRules:
    """What one protocol's request looks like, as far as the checks care.

    ``conversation`` is the field that holds the turns (``messages`` or ``input``)
    and ``conversation_kinds`` the types it may have. ``max_tokens_field`` is the
    protocol's name for the output limit, checked against the ``max_tokens`` range;
    ``max_tokens_required`` makes it a required integer (Anthropic Messages), checked
    after the model.
    """

    conversation: str = "messages"
    conversation_kinds: tuple[type, ...] = (list,)
    max_tokens_field: str = "max_tokens"
    max_tokens_required: bool = False


def validate_request(
    body: Any, rules: RequestRules, *, models: Sequence[str], parameters: Mapping[str, Any]
) -> Problem | None:
    """The first problem with ``body`` (a parsed JSON request), or ``None`` if it may pass.

    The order is the one a real server follows: the body's type, the conversation,
    the ranged parameters, the model, then a required output limit.
    """
    if not isinstance(body, dict):
        return 400, "1214", "The request body must be a JSON object."
    value = body.get(rules.conversation)
    if not value or not isinstance(value, rules.conversation_kinds):
        kinds = rules.conversation_kinds
        what = " or ".join("string" if kind is str else "list" for kind in kinds)
        return 400, "1214", f"Invalid parameter: '{rules.conversation}' must be a non-empty {what}."
    ranged = {name: name for name in _RANGED}
    if not rules.max_tokens_required:
        ranged[rules.max_tokens_field] = "max_tokens"
    for name, limit in ranged.items():
        number = body.get(name)
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, int | float):
            return 400, "1214", f"Invalid parameter: '{name}' must be a number."
        problem = _outside(name, number, parameters[limit])
        if problem is not None:
            return problem
    problem = _search_problem(body)
    if problem is not None:
        return problem
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return 400, "1214", "Invalid parameter: 'model' is required."
    if model not in models:
        return 400, "1211", f"Unknown model {model!r}: check the model code."
    if rules.max_tokens_required:
        name, number = rules.max_tokens_field, body.get(rules.max_tokens_field)
        if isinstance(number, bool) or not isinstance(number, int):
            message = f"Invalid parameter: '{name}' is required and must be an integer."
            return 400, "1214", message
        return _outside(name, number, parameters["max_tokens"])
    return None


def _search_problem(body: Mapping[str, Any]) -> Problem | None:
    """A web search option out of its documented range, in either form."""
    toggle = body.get("tool_web_search")
    if toggle is not None and not isinstance(toggle, bool):
        return 400, "1214", "Invalid parameter: 'tool_web_search' must be a boolean."
    found = [body] if toggle else []
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, Mapping) and tool.get("type") == "web_search":
            options = tool.get("web_search")
            found.append(options if isinstance(options, Mapping) else {})
    for options in found:
        count = options.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            return 400, "1214", "Invalid parameter: 'count' must be an integer."
        if count is not None and not 1 <= count <= 50:
            return 400, "1214", "Invalid parameter: 'count' must be between 1 and 50."
        recency = options.get("search_recency_filter")
        if recency is not None and recency not in _RECENCY:
            return (
                400,
                "1214",
                f"Invalid parameter: 'search_recency_filter' must be one of {', '.join(_RECENCY)}.",
            )
        for name in ("search_prompt", "search_domain_filter"):
            if options.get(name) is not None and not isinstance(options.get(name), str):
                return 400, "1214", f"Invalid parameter: '{name}' must be a string."
        result = options.get("search_result")
        if result is not None and not isinstance(result, bool):
            return 400, "1214", "Invalid parameter: 'search_result' must be a boolean."
    return None


def _outside(name: str, number: float, limits: Mapping[str, Any]) -> Problem | None:
    if limits["min"] <= number <= limits["max"]:
        return None
    bounds = f"between {limits['min']} and {limits['max']}"
    return 400, "1214", f"Invalid parameter: '{name}' must be {bounds}."
