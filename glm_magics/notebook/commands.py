"""The ``%glm`` line commands: help, config, key, models, history, reset, context, fix...

``%glm WORD ...`` runs a command when WORD is one; anything else on the line is a
one-line question. A single word that looks like a mistyped command (``%glm histroy``)
is not sent: it gets "unknown command: did you mean ``%glm history``?"; to ask one
word that looks like a command, end it with ``?`` or quote it (``%glm "history"``), and
a quoted line is always a question. :class:`LineCommands` works on a
:class:`~glm_magics.notebook.host.NotebookHost` and its session, nothing else. The
session's errors are left to the magic, which shows them as one line.
"""

from __future__ import annotations

import dataclasses
import difflib
import getpass
import shlex
from typing import TYPE_CHECKING

from IPython.core.error import StdinNotImplementedError, UsageError

from glm_magics.core.settings import REQUEST_PARAMS, SETTINGS, unknown_setting
from glm_magics.notebook.host import NotebookHost
from glm_magics.wire.keys import API_KEY_ENV, Secret

if TYPE_CHECKING:
    from glm_magics.cassette import Cassette
    from glm_magics.results import ChatResult

__all__ = ["COMMANDS", "HELP", "LineCommands"]

COMMANDS = (
    "help",
    "config",
    "key",
    "models",
    "history",
    "reset",
    "fix",
    "panel",
    "usage",
    "cassette",
)

HELP = """\
%%glm [options]       send the cell to the model; the answer streams below it
%glm PROMPT           ask a one-line question (with the current settings); a word
                      that looks like a command is asked with a ? or in quotes
%glm config           show the effective settings (the key only as set / not set)
%glm config NAME [NAME ...]
                      show these settings
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
%glm usage            this session's requests, tokens, tool calls (run and
                      declined), web searches and their cost
%glm config confirm_tools=marked|all|none
                      which tool calls wait for your run/skip: those of
                      @tool(confirm=True) functions (default), all, none
%glm cassette PATH [mode=auto|record|replay] [pace=fast|recorded|instant]
                      record answers into PATH and replay them (a lesson offline);
                      `%glm cassette` shows what it holds, `%glm cassette off` stops
%glm config preset=NAME
                      where the model runs: empiriolabs (default), zai, vllm,
                      sglang, ollama, llamacpp (sets base_url and model)
%glm help             this text; `%%glm?` lists every option of the cell magic
"""

_FIX = (
    "This notebook cell raised an error. Explain the cause in a few sentences, then "
    "give a corrected version of the whole cell in a single ```python block.\n\n"
    "Cell:\n```python\n{source}\n```\n\nError:\n```\n{traceback}\n```"
)


class LineCommands:
    """What ``%glm WORD ...`` does; :meth:`run` takes the whole line."""

    def __init__(self, host: NotebookHost) -> None:
        self.host = host
        self.session = host.session

    def run(self, line: str) -> None:
        """Run a command, or ask the line as a question."""
        words = line.split()
        if not words:
            raise UsageError("%glm needs a command or a question; see `%glm help`")
        command, rest = words[0], words[1:]
        try:
            assignments = shlex.split(line)[1:] if command == "config" else rest
        except ValueError:
            assignments = rest
        text = line.strip()
        if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
            self.ask_line(text[1:-1].strip() or text)  # quoted: always a question
        elif command == "config" and all("=" in word for word in assignments):
            self.config(line.split(None, 1)[1] if rest else "")
        elif command == "config" and not any("=" in word for word in assignments):
            self.show_settings(assignments)
        elif command == "config":
            raise UsageError(
                "`%glm config` takes NAME=VALUE pairs to change settings, or names to show"
            )
        elif command.startswith("-"):
            raise UsageError(
                f"options go with the cell magic: `%%glm {command}` on the first line and "
                "the question below it; `%glm` takes a command or a question"
            )
        elif command in COMMANDS and not rest:
            getattr(self, command)()
        elif command == "context":
            self.context(rest)
        elif command == "cassette":
            self.cassette(line.split(None, 1)[1] if rest else "")
        elif not rest and not text.endswith("?") and (close := _close_command(command)):
            raise UsageError(
                f"unknown command `{command}`: did you mean `%glm {close}`? Nothing was "
                f'sent; to ask it as a question, add a ? or quote it: `%glm "{command}"`'
            )
        else:
            self.ask_line(text)

    def ask_line(self, text: str) -> ChatResult | None:
        """``%glm PROMPT``: a one-line question with the session's settings."""
        host = self.host
        return host.ask(host.compose(text), turn_key=host.turn_key(None, text))

    # -- the commands -------------------------------------------------------------

    def help(self) -> None:
        """``%glm help``."""
        print(HELP, end="")

    def config(self, assignments: str = "") -> None:
        """``%glm config`` lists the settings; ``%glm config NAME=VALUE ...`` sets some."""
        settings = self.session.settings
        if not assignments:
            print(self._listing())
            return
        try:
            text = self._expanded(assignments)
            pairs = [item.split("=", 1) for item in shlex.split(text)]
        except ValueError as exc:
            raise UsageError(f"could not read the settings ({exc})") from None
        changed = []
        for raw_name, raw in pairs:
            name = raw_name.strip().replace("-", "_")
            if name == "api_key":
                raise UsageError("use `%glm key` so the key is not written into the notebook")
            if name not in SETTINGS:
                raise UsageError(unknown_setting(name))
            setattr(settings, name, settings.parse(name, raw))
            changed.append(f"{raw_name.strip()} = {getattr(settings, name)!r}")
        print("; ".join(changed))

    def show_settings(self, names: list[str]) -> None:
        """``%glm config NAME ...``: these settings, as the listing shows them."""
        wanted = [name.replace("-", "_") for name in names]
        for name in wanted:
            if name not in SETTINGS and name != "api_key":
                raise UsageError(unknown_setting(name))
        rows = {row.split(None, 1)[0]: row for row in self._listing().splitlines()}
        print("\n".join(rows[name] for name in wanted))

    def _expanded(self, text: str) -> str:
        """``{references}`` in the values, as in a question."""
        return self.session.compose(text, namespace=self.host.references()).text

    def _listing(self) -> str:
        session = self.session
        client = session.client  # a bad $GLM_BASE_URL is reported here
        source = session.key_source()
        where = {"session": "session (%glm key)"}.get(source or "", source)
        lines = [
            f"api_key          {'set, from ' + str(where) if source else 'not set'}",
            f"base_url         {client.base_url}",
            f"model            {session.model}",
        ]
        lines += [
            f"{name:<16} {_shown(getattr(session.settings, name), name)}"
            for name in sorted(SETTINGS)
            if name not in ("model", "base_url")
        ]
        return "\n".join(lines)

    def key(self) -> None:
        """``%glm key``: type the key at a hidden prompt; kept in memory only."""
        try:
            value = getpass.getpass("GLM API key (kept in memory only): ")
        except (StdinNotImplementedError, EOFError, OSError):
            raise UsageError(
                f"this frontend cannot ask for input: set {API_KEY_ENV} before starting Jupyter"
            ) from None
        if not value.strip():
            raise UsageError("no key entered; nothing changed")
        self.session.api_key = Secret(value)
        print("API key set for this session.")

    def models(self) -> None:
        """``%glm models``: the service's models, the current one starred."""
        from glm_magics.wire.presets import MODEL_NOTES

        models = self.session.models()
        current = self.session.model
        print(f"Models at {self.session.client.base_url} (* the current one):")
        width = max((len(model_id) for model_id in models), default=0)
        for model_id in models:
            note = MODEL_NOTES.get(model_id, "")
            line = f"{'* ' if model_id == current else '  '}{model_id:<{width}}  {note}"
            print(line.rstrip())

    def history(self) -> None:
        """``%glm history``: the conversation's turns with token estimates."""
        conversation = self.session.conversation
        if not len(conversation):
            print("The conversation is empty.")
            return
        total = 0
        for number, turn in enumerate(conversation, 1):
            tokens = conversation.turn_tokens(turn)
            total += tokens
            text = " ".join(turn.question.split())
            cut = text if len(text) <= 70 else text[:69] + "…"
            flag = " (interrupted)" if turn.interrupted else ""
            flag += " (+ DataFrame context)" if turn.has_context else ""
            print(f"{number:>3}. ~{tokens:,} tokens{flag}  {cut}")
        print(f"     ~{total:,} tokens in {len(conversation)} turns")

    def reset(self) -> None:
        """``%glm reset``: a new conversation."""
        count = len(self.session.conversation)
        self.session.reset()
        print(f"Conversation cleared ({count} turns).")

    def context(self, words: list[str]) -> None:
        """``%glm context NAME[,NAME] [rows=N]``: the DataFrame summary ``-d`` would send."""
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
        frames = self.host.frames(",".join(names))
        try:
            summaries = self.session.frame_context(frames, rows)
        except ValueError as exc:  # rows out of range
            raise UsageError(str(exc)) from None
        for summary in summaries:
            print(summary.text)
            print(f"\n[~{summary.tokens:,} tokens]\n")

    def cassette(self, words: str = "") -> None:
        """``%glm cassette [PATH [mode=...] [pace=...] | off]``: record and replay answers."""
        session = self.session
        if not words.strip():
            current = session.client.active_cassette()
            if current is None:
                print(
                    "No cassette: answers come from the service. `%glm cassette PATH` "
                    "records them into PATH and replays them."
                )
            else:
                print(current.describe())
            return
        try:
            parts = shlex.split(words)
        except ValueError as exc:
            raise UsageError(
                f"could not read the cassette's path ({exc}): check the quotes"
            ) from None
        if parts == ["off"]:
            session.cassette = False
            print("Cassette off: answers come from the service.")
            return
        options = {"mode": "auto", "pace": "fast"}
        for word in parts[1:]:
            name, _, value = word.partition("=")
            if name not in options or not value:
                raise UsageError(
                    f"unknown option {word!r}: `%glm cassette PATH [mode=auto|record|replay] "
                    "[pace=fast|recorded|instant]`"
                )
            options[name] = value
        from glm_magics.cassette import Cassette

        cassette = Cassette(parts[0], options["mode"], pace=options["pace"])
        session.cassette = cassette
        print(_cassette_line(cassette))

    def usage(self) -> None:
        """``%glm usage``: this session's requests, tokens, tool calls and searches."""
        print(self.session.usage.report())

    def panel(self) -> None:
        """``%glm panel``: show the control panel."""
        from IPython.display import display

        if self.host.open_panel is None:
            raise UsageError("the control panel is not available here: load the extension")
        display(self.host.open_panel())  # type: ignore[no-untyped-call]

    def fix(self) -> None:
        """``%glm fix``: explain the last error and insert a corrected cell below."""
        state = self.host.state
        error = state.last_error() if state is not None else None
        if error is None:
            raise UsageError("no error to fix: run the failing cell first, then `%glm fix`")
        prompt = _FIX.format(source=error.source.rstrip(), traceback=error.traceback.rstrip())
        host = self.host
        composed = dataclasses.replace(self.session.compose(prompt), untrusted=("the last error",))
        result = host.ask(composed, turn_key=host.turn_key(None, "%glm fix"))
        insert_answer_code(host, result, "python")


_MODES = {
    "auto": "replays what is recorded, asks and records the rest",
    "record": "asks the service and records every answer",
    "replay": "replays only; nothing is sent",
}


def _close_command(word: str) -> str | None:
    """The command ``word`` looks like a typo of (or a start of), if any."""
    word = word.lower()
    known = [*COMMANDS, "context"]
    if word in known:
        return word
    starts = [command for command in known if len(word) >= 3 and command.startswith(word)]
    close = starts or difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    return close[0] if close else None


def _shown(value: object, name: str) -> str:
    """A setting's value as the listing shows it; unset request parameters say so."""
    if value is None and name in REQUEST_PARAMS:
        return "None (not sent: the service's default applies)"
    return repr(value)


def _cassette_line(cassette: Cassette) -> str:
    """What ``%glm cassette PATH`` says: the file, its answers, the mode in force."""
    from glm_magics.cassette import cassette_from_env

    if cassette_from_env() is False:
        return f"Cassette {cassette.path}: not used, $GLM_CASSETTE=off asks the service every time."
    mode = cassette.mode
    forced = " (set by $GLM_CASSETTE_MODE)" if cassette.forced else ""
    count = sum(1 for entry in cassette.entries() if entry.request)  # not the model GETs
    held = f"{count} answer{'s' if count != 1 else ''}" if count else "no answers yet"
    return f"Cassette {cassette.path} ({held}): mode {mode}{forced}, {_MODES[mode]}."


def insert_answer_code(host: NotebookHost, result: ChatResult | None, language: str) -> None:
    """Insert a finished answer's code as new cells below the running cell, and say so."""
    if result is None or result.finish_reason not in ("stop", "length") or result.interrupted:
        return
    inserted = host.insert_code(result, language)
    if not inserted.shown:
        print(inserted.message)
