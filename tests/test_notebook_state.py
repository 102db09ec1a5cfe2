"""NotebookState in a real InteractiveShell: errors captured from events, handlers left alone."""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from glm_magics.context.references import expand, namespace_resolver
from glm_magics.notebook.state import CellInfo, NotebookState, strip_ansi


@pytest.fixture
def shell() -> Any:
    return InteractiveShell.instance()


@pytest.fixture
def state(shell: Any) -> Iterator[NotebookState]:
    notebook = NotebookState(shell)
    notebook.install()
    try:
        yield notebook
    finally:
        notebook.uninstall()


def run(shell: Any, source: str, **kwargs: Any) -> Any:
    """Run a cell the way ipykernel does: stored in the history, so it gets an In[n]."""
    kwargs.setdefault("store_history", True)
    return shell.run_cell(source, **kwargs)


def test_an_error_is_captured_with_its_source_and_a_plain_traceback(
    shell: Any, state: NotebookState
) -> None:
    source = "def fail():\n    raise ValueError('\\x1b[31mred\\x1b[0m alert')\nfail()"
    result = run(shell, source)
    error = state.last_error()
    assert error is not None
    assert error.execution_count == result.execution_count
    assert error.source == source
    assert (error.ename, error.evalue) == ("ValueError", "red alert")
    assert "\x1b" not in error.traceback
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert "raise ValueError(" in error.traceback
    assert "in fail" in error.traceback
    assert error.traceback.endswith("ValueError: red alert")
    assert "interactiveshell.py" not in error.traceback  # IPython's own frames are left out
    assert state.errors == [error]


def test_a_syntax_error_counts_and_shows_only_the_offending_line(
    shell: Any, state: NotebookState
) -> None:
    result = run(shell, "x = (1,\n")
    assert result.error_before_exec is not None
    error = state.last_error()
    assert error is not None
    assert error.ename == "SyntaxError"
    assert error.execution_count == result.execution_count
    assert "Traceback" not in error.traceback
    assert "x = (1," in error.traceback
    assert error.traceback.splitlines()[-1].startswith("SyntaxError:")


def test_successful_cells_and_interrupts_are_not_errors(shell: Any, state: NotebookState) -> None:
    run(shell, "ok = 1 + 1")
    run(shell, "raise KeyboardInterrupt")
    assert state.errors == []
    assert state.last_error() is None


def test_err_is_indexed_like_out(shell: Any, state: NotebookState) -> None:
    first = run(shell, "1 / 0").execution_count
    run(shell, "fine = True")
    second = run(shell, "[][3]").execution_count
    err = state.err

    assert err[-1].ename == "IndexError"
    assert err[-2].ename == "ZeroDivisionError"
    assert err[first].ename == "ZeroDivisionError"
    assert err[second] is err[-1]
    assert len(err) == 2
    assert [e.ename for e in err] == ["ZeroDivisionError", "IndexError"]
    with pytest.raises(KeyError):
        err[first + 1]  # that cell succeeded
    with pytest.raises(IndexError):
        err[-3]
    with pytest.raises(TypeError):
        err["1"]  # type: ignore[index]

    block = str(err[-1])
    assert block.startswith(f"Error in cell [{second}]:\n[][3]\n\nTraceback")
    assert block.endswith("IndexError: list index out of range")
    assert str(err) == (
        f"[{first}] ZeroDivisionError: division by zero\n"
        f"[{second}] IndexError: list index out of range"
    )


def test_err_in_a_prompt(shell: Any, state: NotebookState) -> None:
    count = run(shell, "int('abc')").execution_count
    resolve = namespace_resolver(ChainMap({"Err": state.err}, shell.user_ns))
    done = expand("Why? {Err[-1]} ({Err[-1].ename}, {Err[-5]})", resolve)
    assert done.text.startswith(f"Why? Error in cell [{count}]:\nint('abc')\n\nTraceback")
    assert done.text.endswith(
        "invalid literal for int() with base 10: 'abc' (ValueError, {Err[-5]})"
    )
    assert done.references == ["Err[-1]", "Err[-1].ename"]


def test_a_custom_exception_handler_keeps_working(shell: Any, state: NotebookState) -> None:
    handled: list[BaseException] = []

    def handler(self: Any, etype: Any, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        handled.append(value)
        return ["handled by the user"]

    shell.set_custom_exc((ValueError,), handler)
    try:
        result = run(shell, "raise ValueError('mine')")
        run(shell, "1 / 0")
        assert shell.custom_exceptions == (ValueError,)  # nobody replaced it
    finally:
        shell.set_custom_exc((), None)

    assert [str(value) for value in handled] == ["mine"]
    # IPython still reports the handled error to post_run_cell, so it is captured too.
    assert isinstance(result.error_in_exec, ValueError)
    assert [(e.ename, e.evalue) for e in state.errors] == [
        ("ValueError", "mine"),
        ("ZeroDivisionError", "division by zero"),
    ]


def test_the_list_of_errors_is_bounded_oldest_dropped(shell: Any) -> None:
    state = NotebookState(shell, max_errors=3)
    state.install()
    try:
        for number in range(5):
            run(shell, f"raise RuntimeError('failure {number}')")
    finally:
        state.uninstall()
    assert [e.evalue for e in state.errors] == ["failure 2", "failure 3", "failure 4"]
    assert len(state.err) == 3


def test_long_tracebacks_keep_their_end(shell: Any) -> None:
    state = NotebookState(shell, max_traceback_chars=300)
    state.install()
    try:
        run(shell, "def deep(n):\n    return deep(n - 1) if n else 1 / 0\ndeep(40)")
    finally:
        state.uninstall()
    error = state.last_error()
    assert error is not None
    marker, rest = error.traceback.split("\n", 1)
    assert re.fullmatch(r"…\[[\d,]+ earlier characters cut\]", marker)
    assert len(rest) <= 300
    assert rest.endswith("ZeroDivisionError: division by zero")


def test_current_is_the_running_cell(shell: Any, state: NotebookState) -> None:
    seen: list[CellInfo | None] = []
    shell.user_ns["_record_current"] = lambda: seen.append(state.current)
    try:
        stored = run(shell, "_record_current()", cell_id="cell-abc")
        run(shell, "_record_current()", store_history=False)
    finally:
        del shell.user_ns["_record_current"]
    assert seen == [
        CellInfo("_record_current()", "cell-abc", stored.execution_count),
        CellInfo("_record_current()", None, None),
    ]
    assert state.current is None


def test_cells_outside_the_history_have_no_number(shell: Any, state: NotebookState) -> None:
    run(shell, "1 / 0", store_history=False, cell_id="cell-xyz")
    error = state.last_error()
    assert error is not None
    assert (error.execution_count, error.cell_id) == (None, "cell-xyz")
    assert str(error).startswith("Error in a cell:\n1 / 0\n\n")


def test_install_is_idempotent_and_uninstall_removes_the_callbacks(shell: Any) -> None:
    state = NotebookState(shell)
    callbacks = shell.events.callbacks
    before = {event: list(callbacks[event]) for event in ("pre_run_cell", "post_run_cell")}

    state.install()
    state.install()
    for event in before:
        assert len(callbacks[event]) == len(before[event]) + 1
    run(shell, "1 / 0")
    assert len(state.errors) == 1

    state.uninstall()
    state.uninstall()
    for event in before:
        assert callbacks[event] == before[event]
    run(shell, "1 / 0")
    assert len(state.errors) == 1


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_errors"):
        NotebookState(InteractiveShell.instance(), max_errors=0)
    with pytest.raises(ValueError, match="max_traceback_chars"):
        NotebookState(InteractiveShell.instance(), max_traceback_chars=0)


def test_strip_ansi() -> None:
    coloured = "\x1b[31;1mError\x1b[0m \x1b]8;;https://x.org\x1b\\link\x1b]8;;\x1b\\ \x1b(Bdone"
    assert strip_ansi(coloured) == "Error link done"
    assert strip_ansi("plain \x1b") == "plain "
