"""Tool calls that wait for a person: which ones, what the person sees, how they answer.

A function that acts (deletes, sends, writes, pays) is marked when registered,
``@tool(confirm=True)``; the ``confirm`` choice says which calls wait for approval:

* ``"marked"`` (the default): calls to marked functions;
* ``"all"``: every function call;
* ``"none"``: none (for tools you trust with whatever the model reads).

Before such a call runs, an :data:`Approver` is given an :class:`ApprovalRequest`
(the call exactly, with long values cut, and what untrusted text the request
carried) and answers ``True`` (run it), ``False`` (the person declined) or ``None``
(nobody could be asked). Only ``True`` runs the function. :class:`StdinApprover`
is the approver a notebook cell or a terminal uses: the kernel's input request in
Jupyter, the terminal's prompt in IPython or a script::

    session.ask("Tidy the sales table.", approve=lambda request: request.name != "drop_table")
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from glm_magics.results import ToolCall

__all__ = [
    "CONFIRM_CHOICES",
    "ApprovalRequest",
    "Approver",
    "ConfirmPolicy",
    "StdinApprover",
    "ask_on_stdin",
    "confirm_policy",
]

ConfirmPolicy = Literal["marked", "all", "none"]
CONFIRM_CHOICES: tuple[ConfirmPolicy, ...] = ("marked", "all", "none")

_VALUE_CHARS = 300  # each argument's shown form is cut here, with a note
_RUN = ("run", "r", "yes", "y")
_SKIP = ("skip", "s", "no", "n", "")
_ATTEMPTS = 3


def confirm_policy(value: object) -> ConfirmPolicy:
    """``value`` as a confirm choice: ``"marked"``, ``"all"`` or ``"none"`` (``True`` is
    ``"all"``, ``False`` is ``"none"``); ``ValueError`` saying the choices otherwise."""
    if value is True:
        return "all"
    if value is False:
        return "none"
    if isinstance(value, str) and value.strip().lower() in CONFIRM_CHOICES:
        chosen: ConfirmPolicy = value.strip().lower()  # type: ignore[assignment]
        return chosen
    raise ValueError(
        f"confirm must be 'marked' (calls to @tool(confirm=True) functions wait for "
        f"approval), 'all' or 'none', not {value!r}"
    )


@dataclass(frozen=True)
class ApprovalRequest:
    """One call waiting for approval.

    ``call`` is what the model sent; ``arguments`` the parsed arguments (already
    checked against the function's signature); ``untrusted`` names the untrusted
    text the request carried (``"web search results"``, ``"DataFrame values"``,
    ``"Out[3]"``...), empty when there was none.
    """

    call: ToolCall
    arguments: dict[str, Any]
    untrusted: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The function the model wants to call."""
        return self.call.name

    def shown(self) -> str:
        """The call as a person should read it: one argument a line, each value's
        ``repr`` (so control and invisible characters show as escapes), long values
        cut with a note of their length::

            drop_table(
                name='sales',
            )
        """
        if not self.arguments:
            return f"{self.name}()"
        lines = [f"{self.name}("]
        for key, value in self.arguments.items():
            shown_key = key if key.isidentifier() else repr(key)
            lines.append(f"    {shown_key}={_shown_value(value)},")
        lines.append(")")
        return "\n".join(lines)

    def untrusted_note(self) -> str | None:
        """One line saying why to look twice, when the request carried untrusted text."""
        if not self.untrusted:
            return None
        carried = _listing(self.untrusted)
        return (
            f"This request carried text nobody checked ({carried}): instructions hidden "
            "in it may have asked for this call. Look twice."
        )

    def question(self) -> str:
        """The one-line prompt an input box shows."""
        return f"Run {self.name}? Type run or skip (Enter skips): "


Approver = Callable[[ApprovalRequest], "bool | None"]
"""Answers an :class:`ApprovalRequest`: ``True`` run, ``False`` declined, ``None`` nobody
could be asked."""


class StdinApprover:
    """Asks on standard input: the kernel's input request in Jupyter (JupyterLab,
    Notebook 7, VS Code), the prompt in a terminal.

    ``show_call``: print the call and the untrusted note first (leave it off when a
    view already shows them, as the magics' do). ``run`` (or ``y``) runs the call;
    ``skip``, ``n`` or an empty line declines it; an unclear answer is asked again,
    then counts as declined. ``None`` (nobody could answer) when input is not
    possible: not the main thread, a notebook run without input (nbclient,
    papermill), stdin closed or captured. An interrupt propagates.
    """

    def __init__(self, *, show_call: bool = True) -> None:
        self.show_call = show_call

    def __repr__(self) -> str:
        return f"StdinApprover(show_call={self.show_call})"

    def __call__(self, request: ApprovalRequest) -> bool | None:
        if threading.current_thread() is not threading.main_thread():
            return None
        if self.show_call:
            note = request.untrusted_note()
            print(f"The model asks to run:\n{request.shown()}" + (f"\n{note}" if note else ""))
        for _ in range(_ATTEMPTS):
            try:
                answer = builtins.input(request.question())
            except EOFError:  # stdin closed: end the prompt's line
                print()
                return None
            except (OSError, RuntimeError, NotImplementedError):
                # NotImplementedError: IPython's StdinNotImplementedError, a run without input
                return None
            word = answer.strip().lower()
            if word in _RUN:
                return True
            if word in _SKIP:
                return False
        return False


ask_on_stdin: Approver = StdinApprover()
"""The default approver: prints the call, then asks on standard input."""


def _shown_value(value: Any) -> str:
    text = repr(value)
    if len(text) <= _VALUE_CHARS:
        return text
    return f"{text[:_VALUE_CHARS]}…  # cut: {len(text):,} characters in all"


def _listing(items: tuple[str, ...]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
