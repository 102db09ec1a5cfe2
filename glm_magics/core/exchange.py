"""One question answered: the request, any rounds of tool calls, and the usage count.

This is the package's one tool loop. :func:`run_exchange` sends the messages
(streamed or whole, through :func:`~glm_magics.core.driver.drive`), and while the
model asks for calls to registered Python functions it runs them
(:mod:`glm_magics.tools`), reports each call, sends the results back with the
assistant's message (its ``reasoning_content`` included, as GLM's interleaved
thinking requires) and asks again, up to ``max_rounds`` times. Only functions in the
request's registry can ever run, and a call that needs approval
(:mod:`~glm_magics.tools.approval`) runs only when the request's approver says so.
:class:`~glm_magics.core.session.Session` (and so the magics and the control panel)
and :meth:`GLMClient.chat <glm_magics.core.client.GLMClient.chat>` all answer through
here.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from glm_magics.core.driver import Outcome, drive
from glm_magics.core.reporting import ApprovalAsked, Reporter, RoundEnded, ToolRan
from glm_magics.core.usage import SessionUsage
from glm_magics.errors import ToolLoopError
from glm_magics.results import ChatResult
from glm_magics.tools import (
    ApprovalRequest,
    Approver,
    ConfirmPolicy,
    ToolOutcome,
    ToolRegistry,
    run_tool_call,
    tool_message,
)
from glm_magics.wire.stream import ChatStream
from glm_magics.wire.web_search import SearchOptions

__all__ = ["Exchange", "Request", "StreamOpener", "run_exchange", "split_tools"]

StreamOpener = Callable[[list[dict[str, Any]], dict[str, Any]], ChatStream]
"""Opens one request's stream: ``opener(messages, params)`` (nothing is sent until read)."""


@dataclass
class Request:
    """What to send with the messages.

    ``params`` are the friendly parameters :func:`~glm_magics.wire.params.build_params`
    takes (``temperature``, ``thinking``...). ``tools``: the Python functions the
    model may call; ``extra_tools``: tool dicts sent as they are; ``search``: the
    built-in web search; ``json_mode``: ask for one JSON object. ``confirm`` says
    which calls wait for approval and ``approve`` answers for the person (``None``:
    nobody can, so those calls do not run); ``untrusted`` names the untrusted text
    the messages carry, for the approval prompt.
    """

    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = True
    tools: ToolRegistry | None = None
    extra_tools: Sequence[Any] = ()
    search: SearchOptions | None = None
    json_mode: bool = False
    max_rounds: int = 5
    confirm: ConfirmPolicy = "marked"
    approve: Approver | None = None
    untrusted: tuple[str, ...] = ()

    def body_params(self) -> dict[str, Any]:
        """``params`` plus the tools, search and JSON mode entries (with ``tool_stream``
        when streaming function tools; a preset's server that lacks it drops it)."""
        params = dict(self.params)
        if self.json_mode:
            params["response_format"] = "json_object"
        tools: list[dict[str, Any]] = list(self.tools.schemas()) if self.tools else []
        if tools and self.stream:
            params["tool_stream"] = True
        tools += list(self.extra_tools)
        if self.search is not None:
            tools.append(self.search.tool())
        if tools:
            params["tools"] = tools
        return params


@dataclass
class Exchange:
    """How it went: the final ``result``; ``steps`` are the assistant tool-call messages
    and tool results sent between the question and the answer; ``error`` if it failed;
    ``interrupted`` when the user stopped it (``by_keyboard``: with an interrupt)."""

    result: ChatResult
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    rounds: int = 0
    interrupted: bool = False
    by_keyboard: bool = False


def run_exchange(
    open_stream: StreamOpener,
    messages: list[dict[str, Any]],
    request: Request,
    reporter: Reporter,
    *,
    model: str,
    usage: SessionUsage | None = None,
    searched: bool = False,
    stop: threading.Event | None = None,
) -> Exchange:
    """Ask, run requested tools, ask again... until the answer (see the module docstring).

    ``searched`` says whether each request really searches (for the usage count). The
    final :class:`~glm_magics.core.reporting.Answered` is left to the caller, which
    knows what else to say; each tool round reports its end and one event per call.
    """
    params = request.body_params()
    sent = list(messages)
    steps: list[dict[str, Any]] = []
    rounds = 0
    while True:
        outcome = _one_request(open_stream, sent, params, reporter, stop)
        result = outcome.result
        result.model = result.model or model
        if usage is not None:
            usage.record(result, searched=searched, failed=outcome.error is not None)
        done = Exchange(
            result, steps, outcome.error, rounds, outcome.interrupted, outcome.by_keyboard
        )
        wants_tools = (
            outcome.error is None
            and request.tools is not None
            and result.finish_reason == "tool_calls"
            and bool(result.tool_calls)
            and not outcome.interrupted
            and not (stop is not None and stop.is_set())
        )
        if not wants_tools or request.tools is None:
            return done
        reporter.report(RoundEnded(result))
        if rounds >= request.max_rounds:
            done.error = ToolLoopError(
                f"The model still asked for tool calls after {rounds} rounds, so it was "
                "stopped there. Raise the limit with `%glm config tool_rounds=N` "
                "(max_rounds= in Python), or simplify the question.",
                partial=result,
            )
            return done
        outcomes, stopped = _run_calls(result, request, request.tools, reporter)
        if usage is not None:
            usage.record_tools(outcomes)
        if stopped:  # an interrupt at an approval question: no more requests
            done.result = dataclasses.replace(result, tool_calls=[], interrupted=True)
            done.interrupted = done.by_keyboard = True
            return done
        step = [result.to_message(), *(tool_message(ran) for ran in outcomes)]
        steps += step
        sent += step
        rounds += 1


def _run_calls(
    result: ChatResult, request: Request, registry: ToolRegistry, reporter: Reporter
) -> tuple[list[ToolOutcome], bool]:
    """Run the answer's calls in order, reporting each, and say whether the person
    stopped it. A call that needs approval is shown (:class:`ApprovalAsked`) before
    the person is asked; an interrupt there declines it and every call after it."""
    approve = request.approve
    stopped = False

    def shown_then_asked(asked: ApprovalRequest) -> bool | None:
        nonlocal stopped
        if stopped:
            return False
        reporter.report(ApprovalAsked(asked))
        try:
            return approve(asked) if approve is not None else None
        except KeyboardInterrupt:
            stopped = True
            return False

    outcomes = []
    for call in result.tool_calls:
        ran = run_tool_call(
            call,
            registry,
            confirm="all" if stopped else request.confirm,
            approve=shown_then_asked,
            untrusted=request.untrusted,
        )
        reporter.report(ToolRan(ran))
        outcomes.append(ran)
    return outcomes, stopped


def _one_request(
    open_stream: StreamOpener,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    reporter: Reporter,
    stop: threading.Event | None,
) -> Outcome:
    chat_stream = open_stream(messages, params)
    with chat_stream:
        return drive(chat_stream, reporter, stop=stop)


def split_tools(tools: Any) -> tuple[ToolRegistry | None, list[Any]]:
    """Python functions (into a registry) and tool dicts (sent as they are) from ``tools``."""
    if tools is None:
        return None, []
    if isinstance(tools, ToolRegistry):
        return tools, []
    if not isinstance(tools, list | tuple):
        tools = [tools]
    registry = ToolRegistry()
    extra: list[Any] = []
    for entry in tools:
        if callable(entry):
            registry.add(entry)
        else:
            extra.append(entry)  # a tool dict, checked with the other parameters
    return (registry if len(registry) else None), extra
