"""``%%glm`` and ``%glm``: the IPython magics.

``%load_ext glm_magics`` registers :class:`GLMMagics`. Settings are traitlets, so
``%config GLMMagics`` lists them and ``%config GLMMagics.temperature = 0.2`` sets
one; ``%glm config temperature=0.2`` does the same from the magic.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Enum, Float, Int, TraitError, Unicode, observe, validate

from glm_magics.commands import LineCommands
from glm_magics.config import BASE_URL_ENV, MODEL_ENV, settings
from glm_magics.conversation import Conversation
from glm_magics.errors import ConfigurationError, GLMError, ParameterError
from glm_magics.params import RANGES, build_params

if TYPE_CHECKING:
    from glm_magics.client import GLMClient
    from glm_magics.notebook_state import NotebookState
    from glm_magics.render import StreamView
    from glm_magics.results import ChatResult

__all__ = ["GLMMagics", "load", "unload"]


#: Session settings checked here: (lowest, highest, why).
_SETTING_RANGES: dict[str, tuple[float, float, str]] = {
    "max_retries": (0, 10, ""),
    "update_interval": (0.05, 5, " seconds (at most 20 redraws a second)"),
    "rows": (0, 100, ""),
    "df_budget": (100, 50_000, " tokens"),
    "timeout": (0.1, 3600, " seconds"),
}


@magics_class
class GLMMagics(LineCommands, Magics):
    """Ask GLM-4.7-Flash from a notebook cell; the answer streams into the output."""

    model = Unicode(
        None, allow_none=True, help=f"Model id (unset: ${MODEL_ENV}, then glm-4-7-flash)."
    ).tag(config=True)
    base_url = Unicode(
        None,
        allow_none=True,
        help=f"Service base URL (unset: ${BASE_URL_ENV}, then https://api.empiriolabs.ai/v1).",
    ).tag(config=True)
    temperature = Float(None, allow_none=True, help="Sampling temperature, 0-1.").tag(config=True)
    top_p = Float(None, allow_none=True, help="Nucleus sampling, 0.01-1.").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Longest answer, 1-131072 tokens.").tag(
        config=True
    )
    stop = Unicode(None, allow_none=True, help="A stop sequence.").tag(config=True)
    do_sample = Bool(None, allow_none=True, help="False: greedy decoding.").tag(config=True)
    thinking = Bool(
        None, allow_none=True, help="Reasoning on (True) or off (False); unset: service default."
    ).tag(config=True)
    system = Unicode("", help="System prompt sent first in every request.").tag(config=True)
    show_reasoning = Bool(True, help="Show the model's reasoning above the answer.").tag(
        config=True
    )
    stream = Bool(True, help="Stream answers as they are written.").tag(config=True)
    max_retries = Int(3, help="Retries before the first token (429, 5xx, network).").tag(
        config=True
    )
    timeout = Float(300.0, help="Seconds to wait for the service to send something.").tag(
        config=True
    )
    display = Enum(
        ("auto", "rich", "plain"),
        "auto",
        help="rich: HTML in a notebook; plain: text (terminal); auto: pick by frontend.",
    ).tag(config=True)
    update_interval = Float(0.05, help="Seconds between redraws while streaming.").tag(config=True)
    rows = Int(
        5, help="Example rows per DataFrame sent with -d (0: schema and statistics only)."
    ).tag(config=True)
    df_budget = Int(2000, help="Token budget of each DataFrame summary sent with -d.").tag(
        config=True
    )

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.conversation = Conversation()
        self._notes: list[str] = []  # what expanding {references} cut, shown with the answer
        self.state: NotebookState | None = None
        if shell is not None:
            from glm_magics.notebook_state import NotebookState

            self.state = NotebookState(shell)
            self.state.install()
        self._client: GLMClient | None = None
        self._client_key: tuple[int, float] | None = None
        settings.model = self.model
        settings.base_url = self.base_url

    # -- settings ---------------------------------------------------------------

    @validate("temperature", "top_p", "max_tokens")
    def _check_range(self, proposal: Any) -> Any:
        value = proposal["value"]
        if value is None:
            return value
        try:
            return RANGES[proposal["trait"].name].check(proposal["trait"].name, value)
        except ParameterError as exc:
            raise TraitError(str(exc)) from None

    @validate(*_SETTING_RANGES)
    def _check_setting(self, proposal: Any) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        low, high, why = _SETTING_RANGES[name]
        if not low <= value <= high:
            raise TraitError(f"{name} must be between {low:g} and {high:g}{why}, got {value!r}")
        return value

    @validate("base_url")
    def _check_url(self, proposal: Any) -> Any:
        from glm_magics.config import check_base_url

        value = proposal["value"]
        if value in (None, ""):
            return None
        try:
            return check_base_url(value)
        except ConfigurationError as exc:
            raise TraitError(str(exc)) from None

    @observe("model", "base_url")
    def _sync_settings(self, change: Any) -> None:
        setattr(settings, change["name"], change["new"] or None)

    def client(self) -> GLMClient:
        """The client used by the magics (one per session, keeps connections open)."""
        import httpx

        from glm_magics.client import GLMClient

        key = (self.max_retries, self.timeout)
        if self._client is None or self._client_key != key:
            if self._client is not None:
                self._client.close()
            timeout = httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))
            self._client = GLMClient(timeout=timeout, max_retries=self.max_retries)
            self._client_key = key
        return self._client

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

    # -- the magics -------------------------------------------------------------

    @magic_arguments()
    @argument("-m", "--model", help="model id for this cell (default: setting, $GLM_MODEL)")
    @argument("-t", "--temperature", type=float, help="sampling temperature, 0-1")
    @argument("--top-p", type=float, help="nucleus sampling, 0.01-1")
    @argument("--max-tokens", type=int, help="longest answer, 1-131072 tokens")
    @argument("--stop", help="stop sequence")
    @argument("--no-sample", action="store_true", help="greedy decoding (do_sample=false)")
    @argument("--think", dest="thinking", action="store_const", const=True, default=None)
    @argument(
        "--no-think",
        dest="thinking",
        action="store_const",
        const=False,
        help="--think / --no-think: turn the model's reasoning on or off",
    )
    @argument("-s", "--system", help="system prompt for this cell")
    @argument("-o", "--out", metavar="NAME", help="store the ChatResult in variable NAME")
    @argument("--new", action="store_true", help="start a fresh conversation")
    @argument("--no-stream", action="store_true", help="wait for the whole answer")
    @argument("--no-reasoning", action="store_true", help="do not show the reasoning")
    @argument(
        "-d",
        "--df",
        metavar="NAME[,NAME]",
        help="attach a summary of these pandas/polars DataFrames or Series",
    )
    @argument("--rows", type=int, help="example rows per DataFrame (0: no cell values)")
    @no_var_expand
    @line_cell_magic
    def glm(self, line: str, cell: str | None = None) -> None:
        """Send the cell to GLM; its reasoning and answer stream below.

        Consecutive cells form one conversation until ``--new`` or ``%glm reset``.
        As a line magic: ``%glm help|config|key|models|history|reset`` or
        ``%glm PROMPT`` (a one-line question with the current settings).
        """
        self._notes.clear()
        if cell is None:
            self._line(line)
            return
        args = parse_argstring(self.glm, line)
        prompt = cell.strip()
        if not prompt:
            raise UsageError("the cell is empty: write the question below %%glm")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a Python variable name, got {args.out!r}")
        params = self._params(args)
        if args.rows is not None and not 0 <= args.rows <= 100:
            raise UsageError(f"--rows must be between 0 and 100, got {args.rows}")
        frames = self._frame_context(args.df, args.rows) if args.df else []
        prompt = self._expand(prompt)
        if frames:
            prompt = "\n\n".join(f.text for f in frames) + "\n\n---\n\n" + prompt
        if args.new:
            self.conversation.reset()
        self.ask(
            prompt,
            params,
            key=self._cell_key(cell, line),
            model=args.model,
            system=args.system if args.system is not None else self.system,
            stream=self.stream and not args.no_stream,
            show_reasoning=self.show_reasoning and not args.no_reasoning,
            out=args.out,
        )

    # -- asking -----------------------------------------------------------------

    def _ask_line(self, prompt: str) -> ChatResult:
        return self.ask(
            self._expand(prompt),
            self._params(_NoArgs()),
            system=self.system,
            stream=self.stream,
            show_reasoning=self.show_reasoning,
            key=self._cell_key(None, prompt),
        )

    def _ask_fix(self, prompt: str) -> ChatResult:
        return self.ask(
            prompt,
            self._params(_NoArgs()),
            system=self.system,
            stream=self.stream,
            show_reasoning=self.show_reasoning,
            key=self._cell_key(None, "%glm fix"),
        )

    def _expand(self, text: str) -> str:
        """Replace ``{name}``, ``{In[3]}``, ``{Err[-1]}``... with notebook values, once."""
        from glm_magics.prompt_refs import expand, namespace_resolver

        namespace: dict[str, Any] = dict(self.shell.user_ns) if self.shell is not None else {}
        if self.state is not None:
            namespace.setdefault("Err", self.state.err)
        expansion = expand(text, namespace_resolver(namespace))
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

    def _frame_context(self, names: str | None, rows: int | None) -> list[Any]:
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
    ) -> ChatResult:
        """Send ``prompt`` with the conversation so far and show the answer."""
        from glm_magics.runner import format_status, run_stream

        client = self.client()
        model_id = model or client.model
        reserve = params.get("max_tokens") or RANGES["max_tokens"].default
        try:
            messages, dropped = self.conversation.messages_for(
                prompt, system=system, reserve=int(reserve), key=key
            )
        except ParameterError as exc:
            raise UsageError(str(exc)) from None
        view = self._view(model_id, show_reasoning)
        notes = self._notes[:]
        self._notes.clear()
        if dropped:
            notes.append(f"{dropped} oldest turn(s) left out to fit the context window")
        if notes:
            view.notice("; ".join(notes))
        if stream:
            chat_stream = client.stream(messages, model_id, **params)
            outcome = run_stream(chat_stream, view)
        else:
            outcome = self._ask_once(client, messages, model_id, params, view)
        result = outcome.result
        result.model = result.model or model_id
        if outcome.error is not None and not isinstance(outcome.error, GLMError):
            view.finish("failed")
            raise outcome.error
        if outcome.error is not None:
            view.error(_scrub(str(outcome.error)))
        else:
            status, warning = format_status(result, max_tokens=params.get("max_tokens"))
            view.finish(status, warning=warning)
            if result.usage.prompt_tokens and not result.interrupted:
                self.conversation.calibrate(messages, result.usage.prompt_tokens)
            if result.text or result.tool_calls:
                self.conversation.add(
                    messages[-1], result.to_message(), interrupted=result.interrupted, key=key
                )
            if out and self.shell is not None:
                self.shell.user_ns[out] = result
        return result

    def _ask_once(
        self,
        client: GLMClient,
        messages: list[dict[str, Any]],
        model_id: str,
        params: dict[str, Any],
        view: StreamView,
    ) -> Any:
        from glm_magics.runner import Outcome

        view.waiting(0.0)
        started = time.perf_counter()
        try:
            result = client.chat(
                messages,
                model_id,
                stream=False,
                on_retry=lambda e: view.notice(e.message),
                **params,
            )
        except GLMError as exc:
            from glm_magics.results import ChatResult

            return Outcome(getattr(exc, "partial", None) or ChatResult(model=model_id), error=exc)
        except KeyboardInterrupt:
            from glm_magics.results import ChatResult

            return Outcome(ChatResult(model=model_id, interrupted=True), interrupted=True)
        result.timings["total"] = time.perf_counter() - started
        if result.reasoning:
            view.reasoning(result.reasoning)
        view.text(result.text)
        view.tick()
        return Outcome(result)

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


def _scrub(message: str) -> str:
    """Never show the key, even if a server echoes it back."""
    key = settings.resolve_api_key()
    return message.replace(key.reveal(), "***") if key is not None else message


class _NoArgs:
    """Option defaults for ``%glm PROMPT`` (which takes no options)."""

    temperature = top_p = max_tokens = stop = thinking = None
    no_sample = False


def _pick(option: Any, setting: Any) -> Any:
    return setting if option is None else option


_LINE_MAGIC = re.compile(r"^([ \t]*)%glm[ \t]+(\S.*?)[ \t]*$")


def protect_question_marks(lines: list[str]) -> list[str]:
    """Keep ``%glm Is this a question?`` a question.

    IPython reads a line ending in ``?`` as a help request (``%pinfo``), which
    would swallow every one-line question. This input transformer turns such
    ``%glm`` lines into the equivalent explicit call first; ``%glm?`` itself
    still shows help.
    """
    if lines and lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is its own text
    out = []
    for line in lines:
        match = _LINE_MAGIC.match(line)
        if match and match.group(2).rstrip("?") and line.rstrip().endswith("?"):
            indent, text = match.groups()
            out.append(f"{indent}get_ipython().run_line_magic('glm', {text!r})\n")
        else:
            out.append(line)
    return out


def load(ipython: Any) -> None:
    """Register the magics on ``ipython``."""
    ipython.register_magics(GLMMagics)
    transformers = getattr(ipython, "input_transformers_cleanup", None)
    if transformers is not None and protect_question_marks not in transformers:
        transformers.append(protect_question_marks)


def unload(ipython: Any) -> None:
    """Drop the magics' conversation and close their connections."""
    transformers = getattr(ipython, "input_transformers_cleanup", None)
    if transformers is not None and protect_question_marks in transformers:
        transformers.remove(protect_question_marks)
    magics = ipython.magics_manager.registry.get("GLMMagics")
    if magics is not None and magics.state is not None:
        magics.state.uninstall()
    if magics is not None and magics._client is not None:
        magics._client.close()
        magics._client = None
