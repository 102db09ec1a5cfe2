"""What the notebook did: the cell running now and the errors of earlier cells.

``%%glm`` can then give the model context, as in ``%%glm Why? {Err[-1]}``.
:class:`NotebookState` listens to IPython's ``pre_run_cell`` and ``post_run_cell``
events, and nothing else::

    state = NotebookState(shell)
    state.install()
    shell.run_cell("1/0", store_history=True)
    print(state.err[-1])        # Error in cell [1]: the source and traceback

Why events and not ``shell.set_custom_exc``: IPython keeps a single custom exception
handler, so taking it would silently disable the user's own handler or another
extension's. ``post_run_cell`` receives the ``ExecutionResult`` whatever happened,
and IPython fills ``error_in_exec`` even when a custom handler dealt with the error,
so every error is seen and nobody else's handler is replaced.

What counts as an error: anything raised while the cell ran (``error_in_exec``) and
anything that stopped it from running (``error_before_exec``: syntax and indentation
errors, rejected input), ``SystemExit`` included since ``argparse`` raises it for a
bad command line. ``KeyboardInterrupt`` and ``bdb.BdbQuit`` are skipped: they are the
user stopping a cell or a debugger, not something to explain, and keeping them would
push the real error away from ``Err[-1]``.

Tracebacks are plain text that reads the same on every machine
(:mod:`~glm_magics.notebook.tracebacks`: the cells' frames kept, a package's frames
summarised), only the end kept when long, since the last frames and the message
matter most.
"""

from __future__ import annotations

import bdb
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glm_magics.notebook.tracebacks import plain_traceback, strip_ansi

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["CellError", "CellInfo", "ErrList", "NotebookState", "strip_ansi"]

_SKIPPED = (KeyboardInterrupt, bdb.BdbQuit)


@dataclass(frozen=True)
class CellInfo:
    """The cell being run: its source as typed, the frontend's cell id, its number.

    ``cell_id`` comes from ipykernel (the notebook's cell id) and is None in a plain
    IPython shell; ``execution_count`` is the ``n`` of ``In[n]``, or None when the
    cell is not stored in the history (``store_history=False``).
    """

    raw_cell: str
    cell_id: str | None
    execution_count: int | None


@dataclass(frozen=True)
class CellError:
    """One failed cell: where it was, what it said, and its plain-text traceback.

    ``str()`` gives the block a prompt should contain::

        Error in cell [7]:
        <source>

        <traceback>
    """

    execution_count: int | None
    cell_id: str | None
    source: str
    ename: str
    evalue: str
    traceback: str

    def __str__(self) -> str:
        where = "a cell" if self.execution_count is None else f"cell [{self.execution_count}]"
        return f"Error in {where}:\n{self.source}\n\n{self.traceback}"


class ErrList:
    """A live, read-only view of the captured errors, indexed like ``Out``.

    ``Err[n]`` with ``n >= 0`` is the error of the cell numbered ``n`` (``KeyError``
    if that cell did not fail or is no longer kept); ``Err[-1]`` is the latest error,
    ``Err[-2]`` the one before (``IndexError`` past the oldest). ``str(Err)`` lists
    the kept errors, one line each.
    """

    def __init__(self, errors: list[CellError]) -> None:
        self._errors = errors

    def __getitem__(self, key: int) -> CellError:
        if not isinstance(key, int) or isinstance(key, bool):
            raise TypeError(f"Err is indexed by a cell number or -1, -2, ...; got {key!r}")
        if key < 0:
            return self._errors[key]
        for error in reversed(self._errors):
            if error.execution_count == key:
                return error
        raise KeyError(key)

    def __len__(self) -> int:
        return len(self._errors)

    def __iter__(self) -> Iterator[CellError]:
        return iter(list(self._errors))

    def __str__(self) -> str:
        if not self._errors:
            return "No errors so far."
        lines = []
        for error in self._errors:
            where = "[?]" if error.execution_count is None else f"[{error.execution_count}]"
            message = next((line for line in error.evalue.splitlines() if line.strip()), "")
            lines.append(f"{where} {error.ename}" + (f": {message}" if message else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Err: {len(self._errors)} error(s)>"


def _keep_end(text: str, limit: int) -> str:
    """The last ``limit`` characters of ``text``, starting on a whole line if one is near."""
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    newline = tail.find("\n")
    if 0 <= newline < max(limit // 10, 1):
        tail = tail[newline + 1 :]
    return f"…[{len(text) - len(tail):,} earlier characters cut]\n{tail}"


def _message(exc: BaseException) -> str:
    try:
        return strip_ansi(str(exc))
    except Exception:
        return "<the message could not be printed>"


class NotebookState:
    """Follows a shell's cells: :attr:`current` and a bounded list of :attr:`errors`.

    ``errors`` holds at most ``max_errors`` :class:`CellError` s, oldest first;
    ``err`` is the :class:`ErrList` view to offer as ``Err``. Each traceback keeps its
    last ``max_traceback_chars`` characters (plus a one-line marker when cut).
    """

    def __init__(
        self,
        shell: InteractiveShell,
        *,
        max_errors: int = 20,
        max_traceback_chars: int = 8000,
    ) -> None:
        if max_errors < 1:
            raise ValueError(f"max_errors must be 1 or more, got {max_errors}")
        if max_traceback_chars < 1:
            raise ValueError(f"max_traceback_chars must be 1 or more, got {max_traceback_chars}")
        self.shell = shell
        self.max_errors = max_errors
        self.max_traceback_chars = max_traceback_chars
        self.errors: list[CellError] = []
        self.err = ErrList(self.errors)
        self._running: list[tuple[Any, CellInfo]] = []
        self._installed = False

    @property
    def current(self) -> CellInfo | None:
        """The cell executing right now (the innermost, if cells nest), else None."""
        return self._running[-1][1] if self._running else None

    def last_error(self) -> CellError | None:
        """The most recent error, or None if no cell has failed since install."""
        return self.errors[-1] if self.errors else None

    def install(self) -> None:
        """Start listening to the shell's cell events; calling it again does nothing."""
        if self._installed:
            return
        self.shell.events.register("pre_run_cell", self._pre_run_cell)
        self.shell.events.register("post_run_cell", self._post_run_cell)
        self._installed = True

    def uninstall(self) -> None:
        """Stop listening; the errors captured so far are kept."""
        if not self._installed:
            return
        for event, callback in (
            ("pre_run_cell", self._pre_run_cell),
            ("post_run_cell", self._post_run_cell),
        ):
            with contextlib.suppress(ValueError):  # already removed by someone else
                self.shell.events.unregister(event, callback)
        self._running.clear()
        self._installed = False

    def _pre_run_cell(self, info: Any) -> None:
        count = None
        if getattr(info, "store_history", False):
            # The displayhook keys Out[n] by prompt_count, so it is the running cell's
            # n on every IPython version, whereas shell.execution_count is n on older
            # versions and already n + 1 since ipython/ipython#15088.
            count = getattr(self.shell.displayhook, "prompt_count", None)
        cell = CellInfo(
            raw_cell=str(getattr(info, "raw_cell", "") or ""),
            cell_id=getattr(info, "cell_id", None),
            execution_count=count if isinstance(count, int) else None,
        )
        self._running.append((info, cell))

    def _post_run_cell(self, result: Any) -> None:
        info = getattr(result, "info", None)
        for index in range(len(self._running) - 1, -1, -1):
            if self._running[index][0] is info:
                del self._running[index:]
                break
        if result is None:
            return
        exc = result.error_before_exec
        if exc is None:
            exc = result.error_in_exec
        if exc is None or isinstance(exc, _SKIPPED):
            return
        stored = getattr(info, "store_history", False)
        self.errors.append(
            CellError(
                execution_count=result.execution_count if stored else None,
                cell_id=getattr(info, "cell_id", None),
                source=str(getattr(info, "raw_cell", "") or ""),
                ename=type(exc).__name__,
                evalue=_message(exc),
                traceback=_keep_end(plain_traceback(exc), self.max_traceback_chars),
            )
        )
        del self.errors[: -self.max_errors]
