"""Running the tool calls a model asks for, safely, and writing their results back.

:func:`run_tool_calls` runs the calls through a
:class:`~glm_magics.tools.registry.ToolRegistry`, so only registered functions can
ever run, and :func:`tool_message` turns each :class:`ToolOutcome` into the ``tool``
message for the next request. Mistakes the model makes (an unknown tool, bad JSON, a
wrong argument, a function that raises) become an outcome whose content tells the
model what went wrong, never an exception::

    outcomes = run_tool_calls(result.tool_calls, registry)
    messages += [result.to_message(), *(tool_message(done) for done in outcomes)]

A call that needs approval (:mod:`~glm_magics.tools.approval`) runs only when the
approver says so; otherwise its outcome tells the model the user declined.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import inspect
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from glm_magics.results import ToolCall
from glm_magics.tools.approval import ApprovalRequest, Approver, ConfirmPolicy
from glm_magics.tools.arguments import bind_arguments
from glm_magics.tools.docstrings import one_line
from glm_magics.tools.registry import ToolRegistry
from glm_magics.tools.schema import ToolSpec

__all__ = ["Approval", "ToolOutcome", "run_tool_call", "run_tool_calls", "tool_message"]

Approval = Literal["not asked", "approved", "declined", "unanswered"]
"""Whether a person was asked before the call: ``declined`` and ``unanswered`` (nobody
could be asked) did not run."""

_DECLINED = "not run: you declined it"
_UNANSWERED = "not run: it needs your approval and nobody could answer (no input here)"


@dataclass(frozen=True)
class ToolOutcome:
    """What running one tool call gave: ``content`` goes back to the model.

    ``error`` is ``None`` on success; otherwise a short reason such as
    ``"ValueError: unknown city"``, and ``content`` is ``"Error: "`` plus the reason.
    ``called``: the function was called (a bad argument or a declined call was not);
    ``approval`` says whether a person was asked, and what they said.
    """

    call: ToolCall
    content: str
    error: str | None
    seconds: float
    called: bool = True
    approval: Approval = "not asked"

    @property
    def ok(self) -> bool:
        """True when the function ran and returned."""
        return self.error is None

    @property
    def declined(self) -> bool:
        """True when the call waited for approval and did not get it (it did not run)."""
        return self.approval in ("declined", "unanswered")

    def summary(self, width: int = 100) -> str:
        """One line for people, e.g. ``get_weather(city='Paris') → {"temp": 21}``."""
        try:
            arguments = self.call.parsed_arguments()
            shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
        except ValueError:
            shown = self.call.arguments
        room = max(width * 3 // 5 - len(self.call.name) - 2, 8)
        head = f"{self.call.name}({_cut(one_line([shown]), room)})"
        if self.declined:  # said whole: why the call did not run
            return one_line([head, f"✗ {self.error}"])
        tail = f"✗ {self.error}" if self.error is not None else f"→ {self.content}"
        return _cut(one_line([head, tail]), width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def run_tool_call(
    call: ToolCall,
    registry: ToolRegistry,
    *,
    max_chars: int = 20_000,
    confirm: ConfirmPolicy = "marked",
    approve: Approver | None = None,
    untrusted: tuple[str, ...] = (),
) -> ToolOutcome:
    """Run one call through ``registry``, turning every failure into an error outcome.

    Only functions in ``registry`` can run. Arguments are checked against the
    signature and converted to the annotated types (an Enum member, a dataclass, a
    tuple...). Results: a ``str`` is sent as-is, anything else as JSON, so ``None``
    becomes ``"null"``; content longer than ``max_chars`` is cut with a note of the
    original length. Only ``KeyboardInterrupt`` and ``SystemExit`` propagate.

    A call that ``confirm`` says needs approval (and whose arguments are valid) runs
    only when ``approve`` returns ``True``; with no ``approve`` nobody can be asked,
    so it does not run. ``untrusted`` goes into the :class:`ApprovalRequest`.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars!r}")
    started = time.perf_counter()
    prepared = _prepare(call, registry)
    if not isinstance(prepared, _Ready):
        return ToolOutcome(call, *prepared, time.perf_counter() - started, called=False)
    entry, bound, arguments = prepared.entry, prepared.bound, prepared.arguments
    approval: Approval = "not asked"
    if needs_approval(entry, confirm):
        reason = _UNANSWERED
        try:
            answer = approve(ApprovalRequest(call, arguments, untrusted)) if approve else None
        except Exception as exc:  # a failing approver approves nothing, and says why
            answer, reason = None, f"not run: asking for approval failed ({_reason(exc)})"
        if answer is not True:
            approval = "declined" if answer is False else "unanswered"
            return ToolOutcome(
                call,
                _refusal(call.name, approval),
                _DECLINED if answer is False else reason,
                time.perf_counter() - started,
                called=False,
                approval=approval,
            )
        approval = "approved"
        started = time.perf_counter()  # the time it ran, not the time it waited
    result, failure = _call(entry, bound)
    seconds = time.perf_counter() - started
    return ToolOutcome(call, _truncate(result, max_chars), failure, seconds, approval=approval)


def run_tool_calls(
    calls: Iterable[ToolCall],
    registry: ToolRegistry,
    *,
    max_chars: int = 20_000,
    confirm: ConfirmPolicy = "marked",
    approve: Approver | None = None,
    untrusted: tuple[str, ...] = (),
) -> list[ToolOutcome]:
    """Run several calls (an answer may ask for more than one), in order."""
    return [
        run_tool_call(
            call,
            registry,
            max_chars=max_chars,
            confirm=confirm,
            approve=approve,
            untrusted=untrusted,
        )
        for call in calls
    ]


def needs_approval(entry: ToolSpec, confirm: ConfirmPolicy) -> bool:
    """Whether a call to ``entry`` waits for a person under the ``confirm`` choice."""
    return confirm == "all" or (confirm == "marked" and entry.confirm)


def tool_message(outcome: ToolOutcome) -> dict[str, Any]:
    """The ``tool`` message answering the call, for the next request's messages."""
    return {"role": "tool", "tool_call_id": outcome.call.id, "content": outcome.content}


def _refusal(name: str, approval: Approval) -> str:
    """What the model is told about a call that did not get approval."""
    why = (
        "The user declined this call"
        if approval == "declined"
        else "This call needs the user's approval and nobody could give it here "
        "(the code runs without input)"
    )
    return (
        f"{why}, so {name} was not run. Do not call it again for this question: answer "
        "without it, and tell the user it was not run."
    )


@dataclass(frozen=True)
class _Ready:
    entry: ToolSpec
    bound: inspect.BoundArguments
    arguments: dict[str, Any]


def _prepare(call: ToolCall, registry: ToolRegistry) -> _Ready | tuple[str, str]:
    """The function, its bound arguments and the parsed ones; or, when the call cannot
    run, ``("Error: ...", short reason)``.

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
    return _Ready(entry, bound, arguments)


def _call(entry: ToolSpec, bound: inspect.BoundArguments) -> tuple[str, str | None]:
    """``(content, None)`` when the function returned; ``("Error: ...", reason)`` if not."""
    try:
        value = entry.function(*bound.args, **bound.kwargs)
    except Exception as exc:
        reason = _reason(exc)
        return f"Error: {reason}", reason
    try:
        return _encode(value), None
    except Exception as exc:
        reason = f"the result could not be encoded ({type(exc).__name__}: {exc})"
        return f"Error: {reason}", reason


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


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
