"""One question answered: the request, any rounds of tool calls, and the usage count.

:func:`run_exchange` sends the messages (streamed into a view, or whole), and while
the model asks for calls to registered Python functions it runs them
(:mod:`glm_magics.tools`), shows each call with a short result, sends the results
back with the assistant's message (its ``reasoning_content`` included, as GLM's
interleaved thinking requires) and asks again, up to ``max_rounds`` times. Only
functions in the request's registry can ever run. The magics and the control
panel both answer through here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glm_magics.errors import GLMError, ToolLoopError
from glm_magics.results import ChatResult
from glm_magics.runner import Outcome, format_status, run_stream

if TYPE_CHECKING:
    from glm_magics.client import GLMClient
    from glm_magics.render import StreamView
    from glm_magics.stream import ChatStream
    from glm_magics.tools import ToolRegistry
    from glm_magics.usage import SessionUsage
    from glm_magics.web_search import SearchOptions

__all__ = ["Exchange", "Request", "run_exchange"]


@dataclass
class Request:
    """What to send with the messages.

    ``params`` are the friendly parameters :func:`~glm_magics.params.build_params`
    takes (``temperature``, ``thinking``...). ``tools``: the Python functions the
    model may call; ``search``: the built-in web search; ``json_mode``: ask for one
    JSON object.
    """

    model: str
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = True
    api: str = "chat"
    tools: ToolRegistry | None = None
    search: SearchOptions | None = None
    json_mode: bool = False
    max_rounds: int = 5

    def body_params(self) -> dict[str, Any]:
        """``params`` plus the tools, search and JSON mode entries (with ``tool_stream``
        when streaming function tools; a preset's server that lacks it drops it)."""
        params = dict(self.params)
        if self.json_mode:
            params["response_format"] = "json_object"
        tools: list[dict[str, Any]] = list(self.tools.schemas()) if self.tools else []
        if tools and self.stream:
            params["tool_stream"] = True
        if self.search is not None:
            tools.append(self.search.tool())
        if tools:
            params["tools"] = tools
        return params


@dataclass
class Exchange:
    """How it went: the final ``result``; ``steps`` are the assistant tool-call messages
    and tool results sent between the question and the answer; ``error`` if it failed."""

    result: ChatResult
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None
    rounds: int = 0


def run_exchange(
    client: GLMClient,
    messages: list[dict[str, Any]],
    request: Request,
    view: StreamView,
    *,
    usage: SessionUsage | None = None,
    on_stream: Callable[[ChatStream], None] | None = None,
) -> Exchange:
    """Ask, run requested tools, ask again... until the answer (see the module docstring).

    The final status line is left to the caller (it knows the cell's options);
    each tool round gets its own status line and one line per call.
    """
    from glm_magics.tools import run_tool_calls, tool_message

    params = request.body_params()
    preset = client.preset
    searched = request.search is not None and (preset is None or preset.supports_web_search)
    sent = list(messages)
    steps: list[dict[str, Any]] = []
    rounds = 0
    while True:
        outcome = _one_request(client, sent, request, params, view, on_stream)
        result = outcome.result
        result.model = result.model or request.model
        if usage is not None:
            usage.record(result, searched=searched, failed=outcome.error is not None)
        wants_tools = (
            outcome.error is None
            and request.tools is not None
            and result.finish_reason == "tool_calls"
            and bool(result.tool_calls)
            and not result.interrupted
        )
        if not wants_tools:
            return Exchange(result, steps, outcome.error, rounds)
        assert request.tools is not None
        view.finish(format_status(result)[0])
        if rounds >= request.max_rounds:
            error = ToolLoopError(
                f"The model still asked for tool calls after {rounds} rounds, so it was "
                "stopped there. Raise the limit with `%glm config tool_rounds=N`, or "
                "simplify the question.",
                partial=result,
            )
            return Exchange(result, steps, error, rounds)
        outcomes = run_tool_calls(result.tool_calls, request.tools)
        for done in outcomes:
            view.info(done.summary(), kind="tool-error" if done.error else "tool")
        step = [result.to_message(), *(tool_message(done) for done in outcomes)]
        steps += step
        sent += step
        rounds += 1
        view.new_round()


def _one_request(
    client: GLMClient,
    messages: list[dict[str, Any]],
    request: Request,
    params: dict[str, Any],
    view: StreamView,
    on_stream: Callable[[ChatStream], None] | None,
) -> Outcome:
    api = {} if request.api == "chat" else {"api": request.api}
    if request.stream:
        try:
            chat_stream = client.stream(messages, request.model, **api, **params)
        except GLMError as exc:
            return Outcome(ChatResult(model=request.model), error=exc)
        if on_stream is not None:
            on_stream(chat_stream)
        return run_stream(chat_stream, view)
    view.waiting(0.0)
    started = time.perf_counter()
    try:
        result = client.chat(
            messages,
            request.model,
            stream=False,
            on_retry=lambda e: view.notice(e.message),
            **api,
            **params,
        )
    except GLMError as exc:
        partial = getattr(exc, "partial", None)
        return Outcome(partial or ChatResult(model=request.model), error=exc)
    except KeyboardInterrupt:
        return Outcome(ChatResult(model=request.model, interrupted=True), interrupted=True)
    result.timings["total"] = time.perf_counter() - started
    if result.reasoning:
        view.reasoning(result.reasoning)
    view.text(result.text)
    view.tick()
    return Outcome(result)
