"""``Session``: a conversation with GLM in plain Python, and the core every frontend drives.

A session owns the settings, the conversation, the usage count and the tools, and
runs each question through the one exchange loop. The ``%%glm`` magics, the control
panel and batch work are thin frontends over it; it knows nothing of IPython::

    from glm_magics import GLMClient, Session

    session = Session()                                  # settings and environment
    result = session.ask("What is a p-value?", temperature=0.2)   # a ChatResult
    session.ask("Shorter, please.")                      # carries the history
    len(session.conversation), session.usage.requests
    session.ask("Describe it.", frames={"sales": df}, rows=0)     # DataFrame context
    session.ask("Add 2 and 3.", tools=[add])             # Python functions as tools
    session.ask("Tidy up.", confirm="all", approve=lambda request: False)  # ask first
    session.stop()                                       # from any thread
    session.reset()                                      # a fresh conversation
    session.cassette = Cassette("lesson.cassette.jsonl") # record once, replay offline

What is shown while an answer streams is up to a reporter
(:mod:`~glm_magics.core.reporting`): pass ``reporter=`` to the session or to one
``ask``. Mistakes in the request (:class:`~glm_magics.errors.ParameterError`,
:class:`~glm_magics.errors.ConfigurationError`) are raised before anything is sent
or reported; a failure of the service is reported, then raised.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from glm_magics.core.clients import Clients
from glm_magics.core.conversation import Conversation
from glm_magics.core.settings import Settings
from glm_magics.core.usage import SessionUsage
from glm_magics.errors import GLMError
from glm_magics.wire.keys import Secret
from glm_magics.wire.params import RANGES

if TYPE_CHECKING:
    # Loaded when first asked, so that %load_ext, which makes a session, stays quick.
    from glm_magics.cassette import Cassette
    from glm_magics.context.frames import ContextOptions, FrameSummary
    from glm_magics.context.prompt import Prompt
    from glm_magics.core.client import GLMClient
    from glm_magics.core.reporting import Reporter
    from glm_magics.results import ChatResult
    from glm_magics.tools import Approver, ToolRegistry
    from glm_magics.wire.model_schema import ModelSchema
    from glm_magics.wire.stream import ChatStream
    from glm_magics.wire.web_search import SearchOptions

__all__ = ["Session", "default_session", "set_default_session"]


class Session:
    """See the module docstring. Safe to share between threads (the panel asks from its
    own); :meth:`stop` ends every answer still streaming."""

    __module__ = "glm_magics"

    def __init__(
        self,
        client: GLMClient | None = None,
        *,
        settings: Settings | None = None,
        reporter: Reporter | None = None,
        tools: ToolRegistry | None = None,
        cassette: Cassette | str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        """The settings every ask starts from; change them at any time."""
        self.conversation = Conversation()
        self.usage = SessionUsage()
        """What this session used: requests, tokens, tool calls, web searches."""
        self.reporter: Reporter | None = reporter
        """Shown every answer unless an ask passes its own (``None``: nothing is shown)."""
        self.tools = tools
        """The functions offered with every request; ``None``: the ``@tool``-registered ones."""
        self.approve: Approver | None = None
        """Answers for the person when a tool call waits for approval (``None``: ask on
        standard input, the kernel's input request in a notebook; see
        :mod:`~glm_magics.tools.approval`)."""
        self.last_result: ChatResult | None = None
        """The latest answer, complete, partial, stopped or failed."""
        self._clients = Clients(self.settings, client)
        self.cassette = cassette
        self._lock = threading.Lock()
        self._running: dict[threading.Event, ChatStream | None] = {}
        self._search_cost_shown = False

    def __repr__(self) -> str:
        return (
            f"<glm-magics Session: {len(self.conversation)} turns, "
            f"{self.usage.requests} requests, model {self.model}>"
        )

    # -- where the model runs ------------------------------------------------------

    @property
    def client(self) -> GLMClient:
        """The client the next ask uses: the one given, else one made from the settings
        (made again when ``base_url``, ``preset``, ``timeout``, ``max_retries`` or the
        key change; see :mod:`~glm_magics.core.clients`)."""
        return self._clients.current()

    @property
    def cassette(self) -> Cassette | bool | None:
        """Where answers are recorded and replayed from (:mod:`glm_magics.cassette`):
        a :class:`~glm_magics.cassette.Cassette`, ``False`` for none, ``None`` for the
        client's own or ``$GLM_CASSETTE``'s. Set it with a cassette or a file's path."""
        return self._clients.cassette

    @cassette.setter
    def cassette(self, value: Cassette | str | os.PathLike[str] | bool | None) -> None:
        if value is not None:
            from glm_magics.cassette import as_cassette

            value = as_cassette(value)
        self._clients.cassette = value

    @property
    def model(self) -> str:
        """The model asked unless an ask names another: the setting, else the client's."""
        return self.settings.model or self.client.model

    @property
    def api_key(self) -> Secret | None:
        """A key given to the session (``%glm key``); ``None``: the environment's."""
        return self._clients.api_key

    @api_key.setter
    def api_key(self, value: str | Secret | None) -> None:
        self._clients.api_key = Secret(value) if isinstance(value, str) else value

    def key_source(self) -> str | None:
        """Where the key comes from (``"session"`` or ``"$NAME"``), ``None`` if there is none."""
        return self._clients.key_source()

    def scrub(self, text: str) -> str:
        """``text`` with every key this session could send replaced by ``***``."""
        return self._clients.scrub(text)

    def models(self) -> list[str]:
        """The model ids the service lists (asked with a short timeout)."""
        return self._clients.models()

    def model_schema(self, model: str | None = None) -> ModelSchema:
        """What the service publishes about ``model`` (its ranges and rate limits), asked
        once; the built-in GLM ranges when it publishes nothing."""
        return self._clients.schema(model or self.model)

    # -- context -----------------------------------------------------------------

    def frame_context(
        self, frames: Mapping[str, object], rows: int | None = None
    ) -> list[FrameSummary]:
        """The summaries ``ask(frames=...)`` would attach, with their token estimates."""
        from glm_magics.context.prompt import frame_summaries

        return frame_summaries(frames, self._context_options(rows))

    def compose(
        self,
        question: str,
        *,
        frames: Mapping[str, object] | None = None,
        rows: int | None = None,
        namespace: Mapping[str, object] | None = None,
    ) -> Prompt:
        """The prompt for ``question``: ``{references}`` looked up in ``namespace`` (a
        notebook's variables), DataFrame summaries first (see
        :mod:`~glm_magics.context.prompt`)."""
        from glm_magics.context.prompt import compose

        options = self._context_options(rows) if frames else None
        return compose(question, frames=frames, options=options, namespace=namespace)

    def _context_options(self, rows: int | None) -> ContextOptions:
        from glm_magics.context.frames import ContextOptions

        chosen = self.settings.rows if rows is None else rows
        return ContextOptions(rows=chosen, token_budget=self.settings.df_budget)

    # -- asking ------------------------------------------------------------------

    def ask(
        self,
        prompt: str | Prompt,
        *,
        frames: Mapping[str, object] | None = None,
        rows: int | None = None,
        model: str | None = None,
        system: str | None = None,
        tools: Sequence[Any] | ToolRegistry | None = None,
        search: SearchOptions | bool | None = None,
        json: bool | None = None,
        api: str | None = None,
        stream: bool | None = None,
        reporter: Reporter | None = None,
        turn_key: str | None = None,
        cancel: threading.Event | None = None,
        confirm: str | bool | None = None,
        approve: Approver | None = None,
        **params: Any,
    ) -> ChatResult:
        """Ask with the conversation so far; return the answer and keep the turn.

        ``params`` (``temperature=0.2``, ``thinking=False``...) and the other keywords
        override the settings for this ask; ``None`` means "the setting". ``tools``
        are offered besides the session's (a :class:`ToolRegistry`: exactly those);
        ``search`` turns on the web search; ``json`` asks for one JSON object.
        ``turn_key`` names where the question comes from (a notebook cell): asking
        from there again replaces that turn. ``cancel``, when set from another thread,
        stops this ask as :meth:`stop` would. An interrupt (Ctrl-C) stops the answer,
        keeps the partial turn and is raised again.

        ``confirm`` (``"marked"``, ``"all"``, ``"none"``; ``None``: the
        ``confirm_tools`` setting) says which tool calls wait for approval, and
        ``approve`` gives it (``None``: :attr:`approve`, else a question on standard
        input); a call that does not get it is not run and the model is told so.
        """
        from glm_magics.context.prompt import Prompt
        from glm_magics.core.exchange import Request, run_exchange
        from glm_magics.core.notes import json_check, report_before, turns_left_out
        from glm_magics.core.offer import confirm_choice, search_for, tools_for
        from glm_magics.core.reporting import QUIET, Answered, Failed
        from glm_magics.tools import ask_on_stdin, registered_tools

        self.last_result = None
        settings = self.settings
        request_params = settings.request_params()
        request_params.update({k: v for k, v in params.items() if v is not None})
        client = self.client
        model_id = model or self.model
        self.model_schema(model_id).check(request_params)
        if not isinstance(prompt, Prompt):
            prompt = self.compose(prompt, frames=frames, rows=rows)
        reserve = int(request_params.get("max_tokens") or RANGES["max_tokens"].default)
        messages, dropped = self.conversation.messages_for(
            prompt.text,
            system=settings.system if system is None else system,
            reserve=reserve,
            key=turn_key,
        )
        offered = self.tools if self.tools is not None else registered_tools
        functions, tool_dicts = tools_for(offered, tools)
        searching = search_for(settings, search)
        carried = (*prompt.untrusted, *(("web search results",) if searching else ()))
        request = Request(
            params=request_params,
            stream=settings.stream if stream is None else stream,
            tools=functions,
            extra_tools=tool_dicts,
            search=searching,
            json_mode=settings.json if json is None else json,
            max_rounds=settings.tool_rounds,
            confirm=confirm_choice(settings.confirm_tools if confirm is None else confirm),
            approve=approve or self.approve or ask_on_stdin,
            untrusted=tuple(dict.fromkeys((*carried, *self.conversation.untrusted(turn_key)))),
        )
        api = api or settings.api
        # Written now so that a mistake is raised before anything is shown; sent first.
        first = [
            client.prepare(messages, model_id, api, stream=request.stream, **request.body_params())
        ]

        reporter = reporter or self.reporter or QUIET
        notes = [*prompt.notes, *turns_left_out(dropped)]
        first_search = request.search is not None and not self._search_cost_shown
        self._search_cost_shown = self._search_cost_shown or request.search is not None
        report_before(reporter, client, request, notes, first_search=first_search)
        stop = cancel if cancel is not None else threading.Event()
        with self._lock:
            self._running[stop] = None
        opener = client.opener(model_id, api, stream=request.stream)

        def open_stream(sent: list[dict[str, Any]], params: dict[str, Any]) -> ChatStream:
            chat_stream = client.open(first.pop(), api) if first else opener(sent, params)
            with self._lock:
                self._running[stop] = chat_stream
            if stop.is_set():
                chat_stream.close()
            return chat_stream

        try:
            preset = client.preset
            exchange = run_exchange(
                open_stream,
                messages,
                request,
                reporter,
                model=model_id,
                usage=self.usage,
                searched=request.search is not None
                and (preset is None or preset.supports_web_search),
                stop=stop,
            )
        finally:
            with self._lock:
                self._running.pop(stop, None)
        result = self.last_result = exchange.result
        if exchange.error is not None:
            error = exchange.error
            text = str(error) if isinstance(error, GLMError) else f"{type(error).__name__}: {error}"
            reporter.report(Failed(self.scrub(text)))
            raise error
        reporter.report(Answered(result, request_params.get("max_tokens")))
        if request.json_mode and result.finish_reason == "stop" and not result.interrupted:
            for event in json_check(result):
                reporter.report(event)
        if result.usage.prompt_tokens and not result.interrupted and not exchange.steps:
            self.conversation.calibrate(messages, result.usage.prompt_tokens)
        if result.text or result.tool_calls:
            self.conversation.add(
                messages[-1],
                result.to_message(),
                interrupted=result.interrupted,
                key=turn_key,
                steps=exchange.steps,
                question=prompt.question,
                has_context=prompt.has_context,
                untrusted=carried,
            )
        if exchange.by_keyboard:
            raise KeyboardInterrupt
        return result

    def stop(self, cancel: threading.Event | None = None) -> None:
        """End the answers this session is streaming, at once and from any thread; each
        keeps what had arrived, marked ``interrupted``.

        ``cancel``: only the ask given that event (the control panel stops its own).
        """
        with self._lock:
            running = [
                (event, chat_stream)
                for event, chat_stream in self._running.items()
                if cancel is None or event is cancel
            ]
        if cancel is not None:
            cancel.set()
        for event, chat_stream in running:
            event.set()
            if chat_stream is not None:
                chat_stream.close()

    def reset(self) -> None:
        """Start a new conversation (the usage count goes on)."""
        self.conversation.reset()

    def close(self) -> None:
        """Stop what is running and close the connections this session opened."""
        self.stop()
        self._clients.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_default: Session | None = None
_default_lock = threading.Lock()


def default_session() -> Session:
    """The session work without one of its own uses (``map_rows(client=None)``).

    It is the one ``%load_ext glm_magics`` made, so the notebook's settings apply;
    outside IPython, one made from the environment on first use.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = Session()
        return _default


def set_default_session(session: Session | None) -> None:
    """Make ``session`` the default (``None``: make a fresh one when next asked for)."""
    global _default
    with _default_lock:
        _default = session
