"""Asking: from a prompt and the settings to a request, and the answer on screen.

A mixin of :class:`~glm_magics.magics.GLMMagics`, kept apart so each module stays
about one thing: :mod:`~glm_magics.magics` declares the settings and reads the
``%%glm`` options, this one turns them into a request, sends it with the
conversation so far and shows the answer. The control panel asks through the same
methods (:meth:`Asking.compose`, :meth:`Asking.session_params`, :meth:`Asking.ask`).
"""

from __future__ import annotations

import sys
import threading
from collections import ChainMap
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from glm_magics.config import settings
from glm_magics.conversation import CONTEXT_SEPARATOR
from glm_magics.errors import GLMError, ParameterError
from glm_magics.params import RANGES, build_params
from glm_magics.web_search import SEARCH_COST_USD, SearchOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from glm_magics.client import GLMClient
    from glm_magics.conversation import Conversation
    from glm_magics.model_schema import SchemaCache
    from glm_magics.notebook_state import NotebookState
    from glm_magics.render import StreamView
    from glm_magics.results import ChatResult
    from glm_magics.stream import ChatStream
    from glm_magics.tools import ToolRegistry
    from glm_magics.usage import SessionUsage

__all__ = ["Asking"]


class Asking:
    """Compose the prompt, build the request, send it and show the answer.

    The magics class supplies what is annotated here: its ``__init__`` sets the
    attributes, its traits are the settings, and ``client()`` gives the client.
    """

    conversation: Conversation
    shell: Any
    state: NotebookState | None
    usage: SessionUsage
    _notes: list[str]
    _schemas: SchemaCache
    _schema_http: GLMClient | None
    _client_lock: threading.Lock
    _search_cost_shown: bool

    if TYPE_CHECKING:
        # The settings (traits of GLMMagics) read here.
        temperature: float | None
        top_p: float | None
        max_tokens: int | None
        stop: str | None
        do_sample: bool | None
        thinking: bool | None
        json: bool
        search: bool
        api: str
        tool_rounds: int
        system: str
        show_reasoning: bool
        stream: bool
        display: str
        update_interval: float
        generated_header: str
        rows: int
        df_budget: int

        def client(self) -> GLMClient: ...

    # -- settings ---------------------------------------------------------------

    def session_params(self) -> dict[str, Any]:
        """The request parameters the settings give (validated; UsageError if invalid)."""
        return self._params(_NoArgs())

    def _params(self, args: Any) -> dict[str, Any]:
        params = {
            "temperature": _pick(args.temperature, self.temperature),
            "top_p": _pick(args.top_p, self.top_p),
            "max_tokens": _pick(args.max_tokens, self.max_tokens),
            "stop": _pick(args.stop, self.stop),
            "do_sample": False if args.no_sample else self.do_sample,
            "thinking": _pick(args.thinking, self.thinking),
        }
        try:
            build_params(params)
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
        return params

    # -- the prompt -------------------------------------------------------------

    def compose(
        self, prompt: str, *, frames: str | None = None, rows: int | None = None
    ) -> tuple[str, list[str]]:
        """The prompt as sent, and notes for the user about what was cut.

        ``{references}`` are expanded once; the summaries of the DataFrames named in
        ``frames`` (comma-separated) go first. Raises UsageError for a bad name.
        """
        self._notes.clear()
        summaries = self._frame_context(frames, rows) if frames else []
        text = self._expand(prompt)
        if summaries:
            text = "\n\n".join(f.text for f in summaries) + CONTEXT_SEPARATOR + text
        notes = self._notes[:]
        self._notes.clear()
        return text, notes

    def _expand(self, text: str) -> str:
        """Replace ``{name}``, ``{In[3]}``, ``{Err[-1]}``... with notebook values, once."""
        from glm_magics.prompt_refs import expand, namespace_resolver

        user_ns = self.shell.user_ns if self.shell is not None else {}
        extra: dict[str, object] = {"Err": self.state.err} if self.state is not None else {}
        expansion = expand(text, namespace_resolver(ChainMap(user_ns, extra)))
        self._notes.extend(expansion.notes)
        return expansion.text

    def _cell_key(self, cell: str | None, text: str) -> str:
        """Which cell is asking: the frontend's cell id when known, else the source."""
        current = self.state.current if self.state is not None else None
        body = cell if cell is not None else text
        if current is not None and body.strip() and body.strip() in current.raw_cell:
            if current.cell_id:
                return f"cell:{current.cell_id}" + ("" if cell is not None else f":{text}")
            return f"src:{current.raw_cell}" + ("" if cell is not None else f":{text}")
        return f"src:{text}\n{cell}" if cell is not None else f"src:{text}"

    def _frame_context(self, names: str, rows: int | None) -> list[Any]:
        from glm_magics.dataframe_context import ContextOptions, is_frame, summarize

        options = ContextOptions(
            rows=self.rows if rows is None else rows, token_budget=self.df_budget
        )
        summaries = []
        namespace = self.shell.user_ns if self.shell is not None else {}
        for name in (part.strip() for part in (names or "").split(",")):
            if not name:
                continue
            if name not in namespace:
                raise UsageError(f"no variable named {name!r} in the notebook")
            value = namespace[name]
            if not is_frame(value):
                raise UsageError(
                    f"{name!r} is a {type(value).__name__}, not a pandas or polars "
                    "DataFrame or Series"
                )
            try:
                summaries.append(summarize(value, name, options))
            except TypeError as exc:
                raise UsageError(str(exc)) from None
        if not summaries:
            raise UsageError("name at least one DataFrame, e.g. -d sales or `%glm context sales`")
        return summaries

    # -- tools and search -------------------------------------------------------

    def _cell_tools(self, names: str) -> ToolRegistry:
        """The registered tools plus the notebook functions named in ``--tools``."""
        from glm_magics.tools import registered_tools

        namespace = self.shell.user_ns if self.shell is not None else {}
        functions = []
        for name in (part.strip() for part in names.split(",")):
            if not name:
                continue
            if name not in namespace:
                raise UsageError(f"--tools: no function named {name!r} in the notebook")
            if not callable(namespace[name]):
                raise UsageError(f"--tools: {name!r} is a {type(namespace[name]).__name__}")
            functions.append(namespace[name])
        try:
            return registered_tools.merged(functions)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--tools: {exc}") from None

    def _search_options(self, args: Any) -> SearchOptions | None:
        """Web search options from the cell's flags, or ``None`` when search is off."""
        flags = (args.search_count, args.search_domain, args.search_recency, args.search_prompt)
        if not (args.search or self.search or any(f is not None for f in flags)):
            return None
        options = SearchOptions(
            count=args.search_count,
            domain=args.search_domain,
            recency=args.search_recency,
            prompt=args.search_prompt,
            results=not args.no_search_results,
        )
        try:
            options.tool()
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
        return options

    def _tools_for(self, tools: ToolRegistry | None) -> ToolRegistry | None:
        """The given tools, else the registered ones; ``None`` when there are none."""
        from glm_magics.tools import registered_tools

        chosen = tools if tools is not None else registered_tools
        return chosen if len(chosen) else None

    # -- the request and the answer ---------------------------------------------

    def ask(
        self,
        prompt: str,
        params: dict[str, Any],
        *,
        key: str | None = None,
        model: str | None = None,
        system: str = "",
        stream: bool = True,
        show_reasoning: bool = True,
        out: str | None = None,
        view: StreamView | None = None,
        notes: list[str] | None = None,
        on_stream: Callable[[ChatStream], None] | None = None,
        tools: ToolRegistry | None = None,
        search: SearchOptions | None = None,
        json_mode: bool = False,
        api: str | None = None,
    ) -> ChatResult:
        """Send ``prompt`` with the conversation so far and show the answer.

        By default the answer shows in the running cell; the control panel passes
        its own ``view``, the ``notes`` it collected, and ``on_stream`` to learn the
        stream it may have to stop. Safe to call from a background thread then.
        ``tools`` may be called by the model (the registered ones by default),
        ``search`` turns on the web search, ``json_mode`` asks for JSON.
        """
        from glm_magics.exchange import Request, run_exchange
        from glm_magics.runner import format_status

        client = self.client()
        model_id = model or client.model
        try:
            self._schemas.get(self._schema_client(), model_id).check(params)
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:  # while asking for the model's schema: nothing was sent
            return self._interrupted_early(view or self._view(model_id, show_reasoning), model_id)
        reserve = params.get("max_tokens") or RANGES["max_tokens"].default
        try:
            messages, dropped = self.conversation.messages_for(
                prompt, system=system, reserve=int(reserve), key=key
            )
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
        if view is None:
            view = self._view(model_id, show_reasoning)
        if notes is None:  # a cell's own notes; the panel passes its own
            notes = self._notes[:]
            self._notes.clear()
        notes = list(notes)
        if dropped:
            notes.append(f"{dropped} oldest turn(s) left out to fit the context window")
        if notes:
            view.notice("; ".join(notes))
        preset = client.preset
        searches = preset is None or preset.supports_web_search
        if search is not None and searches and not self._search_cost_shown:
            self._search_cost_shown = True
            view.info(
                f"Web search is on: each request with it costs ${SEARCH_COST_USD} on the "
                "default service (`%glm usage` counts them)."
            )
        request = Request(
            model=model_id,
            params=params,
            stream=stream,
            api=api or self.api,
            tools=self._tools_for(tools),
            search=search,
            json_mode=json_mode or bool(self.json),
            max_rounds=self.tool_rounds,
        )
        self._say_what_is_left_out(client, request, view)
        exchange = run_exchange(
            client, messages, request, view, usage=self.usage, on_stream=on_stream
        )
        result, error = exchange.result, exchange.error
        if error is not None and not isinstance(error, GLMError):
            view.finish("failed")
            raise error
        if error is not None:
            view.error(settings.scrub(str(error)))
            return result
        status, warning = format_status(result, max_tokens=params.get("max_tokens"))
        view.sources(result.sources)
        view.finish(status, warning=warning)
        if request.json_mode and result.finish_reason == "stop" and not result.interrupted:
            self._check_json(result, view)
        if result.usage.prompt_tokens and not result.interrupted and not exchange.steps:
            self.conversation.calibrate(messages, result.usage.prompt_tokens)
        if result.text or result.tool_calls:
            self.conversation.add(
                messages[-1],
                result.to_message(),
                interrupted=result.interrupted,
                key=key,
                steps=exchange.steps,
            )
        if out and self.shell is not None:
            self.shell.user_ns[out] = result
        return result

    @staticmethod
    def _say_what_is_left_out(client: GLMClient, request: Any, view: StreamView) -> None:
        """A line naming the fields a preset's server would not understand (not sent)."""
        from glm_magics.presets import adapt_params

        preset = client.preset
        if preset is None:
            return
        try:
            _, dropped = adapt_params(preset, build_params(request.body_params()))
        except ParameterError:
            return  # the request itself reports it
        if dropped:
            view.info(
                f"Not sent to this {preset.name} server, which does not support them: "
                + ", ".join(dropped)
            )

    def _schema_client(self) -> GLMClient:
        """A client with short timeouts for ``GET /models/{id}`` (one per session)."""
        import httpx

        from glm_magics.client import GLMClient

        with self._client_lock:
            if self._schema_http is None:
                self._schema_http = GLMClient(timeout=httpx.Timeout(3.0), max_retries=0)
            return self._schema_http

    @staticmethod
    def _interrupted_early(view: StreamView, model: str) -> ChatResult:
        from glm_magics.results import ChatResult
        from glm_magics.runner import format_status

        result = ChatResult(model=model, interrupted=True)
        status, warning = format_status(result)
        view.finish(status, warning=warning)
        return result

    @staticmethod
    def _check_json(result: ChatResult, view: StreamView) -> None:
        from glm_magics.errors import JSONAnswerError

        try:
            value = result.json
        except JSONAnswerError as exc:
            view.error(str(exc))
        else:
            kind = type(value).__name__
            size = f" with {len(value)} entries" if isinstance(value, dict | list) else ""
            view.info(f"Valid JSON ({kind}{size}): the parsed value is result.json.")

    def _view(self, model: str, show_reasoning: bool) -> StreamView:
        from glm_magics.render import NotebookView, PlainView

        mode = self.display
        if mode == "auto":
            mode = "rich" if getattr(self.shell, "kernel", None) is not None else "plain"
        if mode == "rich":
            return NotebookView(
                model, show_reasoning=show_reasoning, min_interval=self.update_interval
            )
        return PlainView(model, show_reasoning=show_reasoning, stream=sys.stdout)

    # -- %glm PROMPT and %glm fix -----------------------------------------------

    def _ask_line(self, prompt: str) -> ChatResult:
        return self._ask_with_settings(self._expand(prompt), key_text=prompt)

    def _ask_fix(self, prompt: str) -> ChatResult:
        result = self._ask_with_settings(prompt, key_text="%glm fix")
        self._insert_code(result, "python")
        return result

    def _ask_with_settings(self, prompt: str, *, key_text: str) -> ChatResult:
        """A question from a ``%glm`` line: the session settings, no options."""
        return self.ask(
            prompt,
            self.session_params(),
            search=SearchOptions() if self.search else None,
            system=self.system,
            stream=self.stream,
            show_reasoning=self.show_reasoning,
            key=self._cell_key(None, key_text),
        )

    def _insert_code(self, result: ChatResult, language: str) -> None:
        """Put the answer's code blocks in new cells below the asking cell (never run)."""
        if result.finish_reason not in ("stop", "length") or result.interrupted:
            return
        from glm_magics.bridge import shared_bridge
        from glm_magics.code_blocks import extract_code_blocks, select_blocks
        from glm_magics.insertion import insert_code

        current = self.state.current if self.state is not None else None
        inserted = insert_code(
            self.shell,
            select_blocks(extract_code_blocks(result.text), language),
            model=result.model,
            language=language,
            header=self.generated_header,
            bridge=shared_bridge(),
            anchor=current.cell_id if current is not None else None,
        )
        print(inserted.message)


class _NoArgs:
    """Option defaults for ``%glm PROMPT`` (which takes no options)."""

    temperature = top_p = max_tokens = stop = thinking = None
    no_sample = False


def _pick(option: Any, setting: Any) -> Any:
    return setting if option is None else option
