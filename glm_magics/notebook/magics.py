"""``%%glm`` and ``%glm``: the IPython magics, a thin frontend over a session.

:class:`GLMMagics` reads the cell's options, composes the prompt and asks through
its :class:`~glm_magics.notebook.host.NotebookHost`; what ``%glm WORD`` does lives in
:mod:`~glm_magics.notebook.commands`. Any error of the session that reaches the magic
(a bad parameter or setting, no key, an unreachable model list) becomes one
:class:`~IPython.core.error.UsageError` line, in one place. The settings are the session's
(:mod:`~glm_magics.core.settings`), shown as traitlets too, so ``%config GLMMagics``
lists them and ``%config GLMMagics.temperature = 0.2`` (or an IPython profile) sets
one; the traits and the session's settings follow each other both ways.
"""

from __future__ import annotations

import difflib
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Enum, Float, Int, TraitError, TraitType, Unicode, observe, validate

from glm_magics.core.settings import SETTINGS, Change, SettingInfo, check_setting
from glm_magics.errors import GLMError
from glm_magics.notebook.commands import LineCommands, insert_answer_code
from glm_magics.notebook.host import NotebookHost
from glm_magics.wire.web_search import RECENCY_FILTERS, SearchOptions

__all__ = ["GLMMagics"]


_TRAITS: dict[type, Any] = {bool: Bool, int: Int, float: Float, str: Unicode}


def _trait(info: SettingInfo) -> TraitType[Any, Any]:
    """The traitlet showing one declared setting."""
    spec = info.spec
    trait: TraitType[Any, Any]
    if spec.choices:
        trait = Enum(spec.choices, info.default, help=spec.help)
    else:
        kind = _TRAITS[info.kind]
        trait = kind(info.default, allow_none=info.optional, help=spec.help)
    return trait.tag(config=True)


@magics_class
class GLMMagics(Magics):
    """Ask GLM-4.7-Flash from a notebook cell; the answer streams into the output."""

    __module__ = "glm_magics"

    vars().update({name: _trait(info) for name, info in SETTINGS.items()})

    def __init__(self, shell: Any = None, *, host: NotebookHost, **kwargs: Any) -> None:
        self.host = host
        self.session = host.session
        self.commands = LineCommands(host)
        super().__init__(shell=shell, **kwargs)
        settings = self.session.settings
        for name in SETTINGS:  # a profile's config went to the session; now show the rest
            self.set_trait(name, getattr(settings, name))
        settings.observe(self._from_settings)

    @validate(*SETTINGS)
    def _check(self, proposal: Any) -> Any:
        try:
            return check_setting(proposal["trait"].name, proposal["value"])
        except GLMError as exc:
            raise TraitError(str(exc)) from None

    @observe(*SETTINGS)
    def _to_settings(self, change: Any) -> None:
        settings = self.session.settings
        if getattr(settings, change["name"]) != change["new"]:
            setattr(settings, change["name"], change["new"])

    def _from_settings(self, change: Change) -> None:
        if getattr(self, change.name) != change.new:
            self.set_trait(change.name, change.new)

    def detach(self) -> None:
        """Stop following the session's settings (the extension is being unloaded)."""
        self.session.settings.unobserve(self._from_settings)

    # -- the magics -------------------------------------------------------------

    @magic_arguments(name="%glm")  # the help's usage line then reads %%glm
    @argument("-m", "--model", help="model id for this cell (default: setting, $GLM_MODEL)")
    @argument("-t", "--temperature", type=float, help="sampling temperature, 0-1")
    @argument("--top-p", type=float, help="nucleus sampling, 0.01-1")
    @argument("--max-tokens", type=int, help="longest answer, 1-131072 tokens")
    @argument("--stop", help="stop sequence")
    @argument("--no-sample", action="store_true", help="greedy decoding (do_sample=false)")
    @argument(
        "--think",
        dest="thinking",
        action="store_const",
        const=True,
        default=None,
        help="turn the model's reasoning on for this cell",
    )
    @argument(
        "--no-think",
        dest="thinking",
        action="store_const",
        const=False,
        help="turn the model's reasoning off for this cell",
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
    @argument(
        "-c",
        "--code",
        action="store_true",
        help="ask for code only and insert its code blocks as a new cell below (not run)",
    )
    @argument("--lang", help="language of the code to insert (default: python)")
    @argument("--json", action="store_true", help="JSON mode: the parsed answer is result.json")
    @argument(
        "--tools",
        metavar="F[,G]",
        help="let the model call these notebook functions (besides @tool-registered ones)",
    )
    @argument(
        "--confirm",
        action="store_true",
        help="every tool call in this cell waits for your Run/Skip (not only marked ones)",
    )
    @argument("--search", action="store_true", help="built-in web search ($0.033 a request)")
    @argument("--search-count", type=int, metavar="N", help="search results to use, 1-50")
    @argument("--search-domain", metavar="DOMAIN", help="search only this domain")
    @argument("--search-recency", choices=RECENCY_FILTERS, help="search only recent pages")
    @argument("--search-prompt", metavar="TEXT", help="how the service should use the results")
    @argument("--no-search-results", action="store_true", help="do not return the sources list")
    @argument("--api", choices=SETTINGS["api"].spec.choices, help="endpoint to use")
    @argument(
        "--each",
        metavar="FRAME",
        help="ask the cell (a template naming {columns}) for every row of this DataFrame",
    )
    @argument("--into", metavar="NAME", help="with --each: the variable the answered frame goes to")
    @argument(
        "--schema",
        metavar="NAME",
        help="with --each: a dataclass, TypedDict or {name: type} dict for typed columns",
    )
    @argument("--column", metavar="NAME", help="with --each: the text column (default: answer)")
    @argument("--concurrency", type=int, metavar="N", help="with --each: rows in flight")
    @argument("--rpm", type=float, metavar="N", help="with --each: the service's requests/min")
    @argument("--tpm", type=float, metavar="N", help="with --each: the service's tokens/min")
    @argument("--store", metavar="PATH", help="with --each: an SQLite file; a rerun resumes")
    @argument("--rows-per-request", type=int, metavar="N", help="with --each: rows per request")
    @argument("--dry-run", action="store_true", help="with --each: estimate, send nothing")
    @no_var_expand
    @line_cell_magic
    def glm(self, line: str, cell: str | None = None) -> None:
        """Send the cell to GLM; its reasoning and answer stream below.

        Consecutive cells form one conversation until ``--new`` or ``%glm reset``.
        As a line magic: ``%glm PROMPT`` (a one-line question with the current
        settings) or a command: help, config, key, models, history, reset, context,
        fix, panel, usage, cassette (``%glm help`` says what each does).
        """
        try:
            self._run(line, cell)
        except GLMError as exc:  # the one place the session's errors become magic misuse
            raise UsageError(self.session.scrub(str(exc))) from None

    def _run(self, line: str, cell: str | None) -> None:
        if cell is None:
            self.commands.run(line)
            return
        args = _parse_options(self.glm, line)
        question = cell.strip()
        if not question:
            raise UsageError("the cell is empty: write the question below %%glm")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a Python variable name, got {args.out!r}")
        if args.rows is not None and not 0 <= args.rows <= 100:
            raise UsageError(f"--rows must be between 0 and 100, got {args.rows}")
        if args.lang is not None and not args.code:
            raise UsageError("--lang goes with --code (-c)")
        if args.each is not None or _batch_options(args):
            self._each(args, question)
            return
        host, settings = self.host, self.session.settings
        language = (args.lang or "python").strip().lower()
        system = args.system if args.system is not None else settings.system
        if args.code:
            system = "\n\n".join(part for part in (system, _code_only(language)) if part)
        prompt = host.compose(question, frames=args.df, rows=args.rows)
        tools = host.functions(args.tools) if args.tools else None
        search = self._search_options(args)
        if args.new:
            self.session.reset()
        result = host.ask(
            prompt,
            out=args.out,
            show_reasoning=False if args.no_reasoning else None,
            turn_key=host.turn_key(cell, line),
            model=args.model,
            system=system,
            stream=False if args.no_stream else None,
            tools=tools,
            confirm="all" if args.confirm else None,
            search=search,
            json=True if args.json else None,
            api=args.api,
            **_request_params(args),
        )
        if args.code:
            insert_answer_code(host, result, language)

    def _each(self, args: Any, template: str) -> None:
        """``%%glm --each FRAME --into NAME``: the cell over every row (see map_rows)."""
        if args.each is None:
            raise UsageError(f"--{_batch_options(args)[0]} goes with --each FRAME")
        if not args.into and not args.dry_run:
            raise UsageError("--each needs --into NAME: the variable the answered frame goes to")
        clash = [flag for flag, given in _NOT_WITH_EACH if getattr(args, given)]
        if clash:
            raise UsageError(f"{clash[0]} does not go with --each")
        if args.into is not None and not args.into.isidentifier():
            raise UsageError(f"--into needs a Python variable name, got {args.into!r}")
        namespace = self.host.namespace
        for name in (args.each, args.schema):
            if name is not None and name not in namespace:
                raise UsageError(f"no variable named {name!r} in the notebook")
        from glm_magics.batch.rows import map_rows

        result = map_rows(
            namespace[args.each],
            template,
            namespace[args.schema] if args.schema else None,
            column=args.column or "answer",
            concurrency=args.concurrency,
            rpm=args.rpm,
            tpm=args.tpm,
            store=args.store,
            client=self.session,
            dry_run=args.dry_run,
            rows_per_request=args.rows_per_request or 1,
            system=args.system,
            model=args.model,
            api=args.api,
            **_request_params(args),
        )
        if args.dry_run:
            from IPython.display import display

            display(result)
            return
        namespace[args.into] = result

    def _search_options(self, args: Any) -> SearchOptions | None:
        """Web search options from the cell's flags, or ``None``: the setting decides."""
        flags = (args.search_count, args.search_domain, args.search_recency, args.search_prompt)
        wanted = args.search or any(flag is not None for flag in flags)
        if not (wanted or (self.session.settings.search and args.no_search_results)):
            return None
        options = SearchOptions(
            count=args.search_count,
            domain=args.search_domain,
            recency=args.search_recency,
            prompt=args.search_prompt,
            results=not args.no_search_results,
        )
        options.tool()  # a ParameterError now for an option out of range
        return options


_BATCH_ONLY = (
    "into",
    "schema",
    "column",
    "concurrency",
    "rpm",
    "tpm",
    "store",
    "rows_per_request",
    "dry_run",
)
_NOT_WITH_EACH = (
    ("-d/--df", "df"),
    ("-c/--code", "code"),
    ("--tools", "tools"),
    ("--confirm", "confirm"),
    ("-o/--out", "out"),
    ("--new", "new"),
    ("--json", "json"),
    ("--search", "search"),
)


def _request_params(args: Any) -> dict[str, Any]:
    """The request parameters a cell's options give (``None``: the setting's)."""
    return {
        "temperature": args.temperature,
        "top_p": args.top_p,
        "max_tokens": args.max_tokens,
        "stop": args.stop,
        "do_sample": False if args.no_sample else None,
        "thinking": args.thinking,
    }


def _batch_options(args: Any) -> list[str]:
    """The ``--each`` options given (as their flag names)."""
    return [
        name.replace("_", "-") for name in _BATCH_ONLY if getattr(args, name) not in (None, False)
    ]


def _code_only(language: str) -> str:
    return (
        f"Answer with {language} code only: one or more fenced ```{language} blocks, "
        "with any explanation as comments inside the code."
    )


def _parse_options(magic: Any, line: str) -> Any:
    """Parse the options shell-style, so ``-s "Be brief"`` drops its quotes.

    (IPython's own ``parse_argstring`` keeps quotes in values on every platform.)
    """
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"could not read the options ({exc}): check the quotes") from None
    parser = magic.parser
    try:
        return parser.parse_args(argv)
    except UsageError as exc:
        message = str(exc)
        if message.startswith("unrecognized arguments: "):
            unknown = message.removeprefix("unrecognized arguments: ").split()[0]
            options = [o for action in parser._actions for o in action.option_strings]
            close = difflib.get_close_matches(unknown.split("=")[0], options, n=1, cutoff=0.75)
            hint = f": did you mean {close[0]}?" if close else ""
            message = f"unknown option {unknown}{hint}"
        raise UsageError(f"{message} (`%%glm?` lists every option)") from None
