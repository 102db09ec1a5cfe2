"""The ``%glm`` line commands: help, config, key, models, history, reset, context, fix.

A mixin of :class:`~glm_magics.magics.GLMMagics`, kept apart so each module stays
about one thing: this one is what ``%glm WORD`` does.
"""

from __future__ import annotations

import getpass
import shlex
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError, UsageError
from traitlets import TraitError

from glm_magics.config import API_KEY_ENV, Secret, settings
from glm_magics.errors import ConfigurationError, GLMError

if TYPE_CHECKING:
    from glm_magics.client import GLMClient
    from glm_magics.conversation import Conversation
    from glm_magics.results import ChatResult
    from glm_magics.usage import SessionUsage

__all__ = ["LineCommands"]


_COMMANDS = ("help", "config", "key", "models", "history", "reset", "fix", "panel", "usage")

_HELP = """\
%%glm [options]       send the cell to the model; the answer streams below it
%glm PROMPT           ask a one-line question (default settings)
%glm config           show the effective settings (the key only as set / not set)
%glm config NAME=VALUE [NAME=VALUE ...]
                      change settings for this session, e.g. temperature=0.2
%glm key              type the API key (hidden; kept in memory only)
%glm models           list the models the service offers
%glm history          list the conversation's turns with token estimates
%glm reset            start a new conversation
%glm context NAME[,NAME] [rows=N]
                      preview the DataFrame summary `%%glm -d NAME` would send
%glm fix              explain the last error and propose a corrected cell
%glm panel            show the control panel (prompt box, settings, Stop, Insert code)
%glm usage            this session's requests, tokens, web searches and their cost
%glm config preset=NAME
                      where the model runs: empiriolabs (default), zai, vllm,
                      sglang, ollama, llamacpp (sets base_url and model)
%glm help             this text; `%%glm?` lists every option of the cell magic
"""


class LineCommands:
    """``%glm WORD ...``; everything else on a ``%glm`` line is a one-line question."""

    conversation: Conversation
    shell: Any
    usage: SessionUsage

    if TYPE_CHECKING:

        def client(self) -> GLMClient: ...
        def _ask_line(self, prompt: str) -> ChatResult: ...
        def _ask_fix(self, prompt: str) -> ChatResult: ...
        def _show_panel(self) -> None: ...
        def _expand(self, text: str) -> str: ...
        def _frame_context(self, names: str, rows: int | None) -> list[Any]: ...
        def trait_names(self, **metadata: Any) -> list[str]: ...
        def traits(self, **metadata: Any) -> dict[str, Any]: ...

    def _line(self, line: str) -> None:
        words = line.split()
        if not words:
            raise UsageError("%glm needs a command or a question; see `%glm help`")
        command, rest = words[0], words[1:]
        try:
            assignments = shlex.split(line)[1:] if command == "config" else rest
        except ValueError:
            assignments = rest
        if command == "config" and all("=" in word for word in assignments):
            self._config(self._expand(line.split(None, 1)[1]) if rest else "")
        elif command in _COMMANDS and not rest:
            getattr(self, f"_cmd_{command}")()
        elif command == "context" and rest:
            self._cmd_context(rest)
        else:
            self._ask_line(line.strip())

    # -- line commands ----------------------------------------------------------

    def _cmd_help(self) -> None:
        print(_HELP, end="")

    def _cmd_config(self) -> None:
        self._config("")

    def _config(self, assignments: str) -> None:
        names = sorted(self.trait_names(config=True))
        if not assignments:
            client = self.client()
            try:
                key_env = client.key_env  # a bad $GLM_BASE_URL is reported here
                key = settings.resolve_api_key(env=key_env)
            except ConfigurationError as exc:
                raise UsageError(str(exc)) from None
            source = "session (%glm key)" if settings.api_key else f"${key_env}"
            lines = [
                f"api_key          {'set, from ' + source if key else 'not set'}",
                f"base_url         {client.base_url}",
                f"model            {client.model}",
            ]
            lines += [
                f"{name:<16} {getattr(self, name)!r}"
                for name in names
                if name not in ("model", "base_url")
            ]
            print("\n".join(lines))
            return
        try:
            pairs = [item.split("=", 1) for item in shlex.split(assignments)]
        except ValueError as exc:
            raise UsageError(f"could not read the settings ({exc})") from None
        for name, raw in pairs:
            name = name.strip().replace("-", "_")
            if name == "api_key":
                raise UsageError("use `%glm key` so the key is not written into the notebook")
            if name not in names:
                raise UsageError(f"unknown setting {name!r}; settings: {', '.join(names)}")
            trait = self.traits()[name]
            try:
                if raw.strip().lower() in ("", "none") and trait.allow_none:
                    value = None
                else:
                    value = trait.from_string(raw)
                setattr(self, name, value)
            except (TraitError, ValueError) as exc:
                raise UsageError(f"{name}: {exc}") from None
        print(
            "; ".join(
                f"{n.strip()} = {getattr(self, n.strip().replace('-', '_'))!r}" for n, _ in pairs
            )
        )

    def _cmd_key(self) -> None:
        try:
            value = getpass.getpass("GLM API key (kept in memory only): ")
        except (StdinNotImplementedError, EOFError, OSError):
            raise UsageError(
                f"this frontend cannot ask for input: set {API_KEY_ENV} before starting Jupyter"
            ) from None
        if not value.strip():
            raise UsageError("no key entered; nothing changed")
        try:
            settings.api_key = Secret(value)
        except ConfigurationError as exc:
            raise UsageError(str(exc)) from None
        print("API key set for this session.")

    def _cmd_models(self) -> None:
        try:
            models = self.client().models()
        except GLMError as exc:
            raise UsageError(str(exc)) from None
        current = self.client().model
        for model_id in models:
            print(("* " if model_id == current else "  ") + model_id)

    def _cmd_history(self) -> None:
        if not len(self.conversation):
            print("The conversation is empty.")
            return
        total = 0
        for number, turn in enumerate(self.conversation, 1):
            total += self.conversation.turn_tokens(turn)
            text = " ".join(turn.question.split())
            cut = text if len(text) <= 70 else text[:69] + "…"
            flag = " (interrupted)" if turn.interrupted else ""
            flag += " (+ DataFrame context)" if turn.has_context else ""
            print(f"{number:>3}. ~{self.conversation.turn_tokens(turn):,} tokens{flag}  {cut}")
        print(f"     ~{total:,} tokens in {len(self.conversation)} turns")

    def _cmd_reset(self) -> None:
        count = len(self.conversation)
        self.conversation.reset()
        print(f"Conversation cleared ({count} turns).")

    def _cmd_context(self, words: list[str]) -> None:
        rows: int | None = None
        names = []
        for word in words:
            if word.startswith("rows="):
                try:
                    rows = int(word[5:])
                except ValueError:
                    raise UsageError(f"rows must be a whole number, got {word[5:]!r}") from None
            else:
                names.append(word)
        for summary in self._frame_context(",".join(names), rows):
            print(summary.text)
            print(f"\n[~{summary.tokens:,} tokens]\n")

    def _cmd_usage(self) -> None:
        print(self.usage.report())

    def _cmd_panel(self) -> None:
        self._show_panel()

    def _cmd_fix(self) -> None:
        state = getattr(self, "state", None)
        error = state.last_error() if state is not None else None
        if error is None:
            raise UsageError("no error to fix: run the failing cell first, then `%glm fix`")
        self._ask_fix(
            "This notebook cell raised an error. Explain the cause in a few sentences, then "
            "give a corrected version of the whole cell in a single ```python block.\n\n"
            f"Cell:\n```python\n{error.source.rstrip()}\n```\n\n"
            f"Error:\n```\n{error.traceback.rstrip()}\n```"
        )
