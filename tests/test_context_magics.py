"""Notebook context through the magics: DataFrames, {references}, errors, re-runs."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

from glm_magics.testing import Reply
from glm_magics.tokens import estimate_tokens
from tests.conftest import Session


def sent_prompt(session: Session) -> str:
    content: str = session.server.requests[-1].body["messages"][-1]["content"]
    return content


@pytest.fixture
def frames(session: Session) -> Any:
    ns = session.shell.user_ns
    ns["sales"] = pd.DataFrame(
        {
            "region": ["north", "south", "north", "east"],
            "units": [10, 20, 30, 40],
            "when": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]),
        }
    )
    ns["secret"] = pd.DataFrame(
        {
            "name": ["SENTINEL-ALPHA-91", "SENTINEL-BRAVO-92", "SENTINEL-ALPHA-91"],
            "kind": pd.Categorical(["SENTINEL-CAT-93", "SENTINEL-CAT-93", "SENTINEL-DOG-94"]),
            "score": [1.5, 2.5, 3.5],
        },
        index=pd.Index(["SENTINEL-IDX-95", "SENTINEL-IDX-96", "SENTINEL-IDX-97"]),
    )
    ns["wide"] = pd.DataFrame([[i * j for i in range(3000)] for j in range(3)],
                              columns=[f"feature_{i}" for i in range(3000)])  # fmt: skip
    yield ns
    for name in ("sales", "secret", "wide"):
        ns.pop(name, None)


def test_dataframe_summary_is_sent_with_the_prompt(session: Session, frames: Any) -> None:
    session.cell("-d sales", "Which region sells most?")
    prompt = sent_prompt(session)
    assert "sales" in prompt and "4 rows" in prompt
    for column in ("region", "units", "when"):
        assert column in prompt
    assert prompt.endswith("Which region sells most?")


def test_summary_is_deterministic(session: Session, frames: Any) -> None:
    session.cell("-d sales --new", "same")
    first = sent_prompt(session)
    session.cell("-d sales --new", "same")
    assert sent_prompt(session) == first


def test_rows_zero_sends_no_cell_value(session: Session, frames: Any) -> None:
    session.cell("-d secret --rows 0 --new", "Describe the data")
    body = str(session.server.requests[-1].body)
    assert "SENTINEL" not in body
    assert "name" in body and "score" in body  # the schema is still there
    session.cell("-d secret --rows 5 --new", "Describe the data")
    assert "SENTINEL-ALPHA-91" in str(session.server.requests[-1].body)  # the check can fail


def test_rows_setting_lives_in_config(session: Session, frames: Any) -> None:
    session.line("config rows=0")
    try:
        session.cell("-d secret --new", "x")
        assert "SENTINEL" not in str(session.server.requests[-1].body)
    finally:
        session.magics.session.settings.rows = 5


def test_budget_respected_on_3000_columns(session: Session, frames: Any) -> None:
    session.cell("-d wide --new", "What is in it?")
    summary = sent_prompt(session).split("\n\n---\n\n")[0]
    assert estimate_tokens(summary) <= session.magics.session.settings.df_budget
    assert "3,000 columns" in summary


def test_context_preview_and_misuse(
    session: Session, frames: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session.line("context sales rows=0")
    out = capsys.readouterr().out
    assert "region" in out and "tokens]" in out
    with pytest.raises(UsageError, match="no variable named 'nope'"):
        session.line("context nope")
    session.shell.user_ns["number"] = 3
    with pytest.raises(UsageError, match="not a pandas or polars"):
        session.cell("-d number", "x")
    assert session.server.requests == []


def test_references_are_expanded_once_and_code_braces_survive(session: Session) -> None:
    ns = session.shell.user_ns
    ns["target"] = "revenue"
    ns["tricky"] = "{target} and {{x}}"
    ns["items"] = [1, 2, 3]
    session.cell(
        "", 'Plot {target} from {items[1]}; note {tricky}; code: d = {"a": 1}; {{literal}}'
    )
    assert sent_prompt(session) == (
        'Plot revenue from 2; note {target} and {{x}}; code: d = {"a": 1}; {literal}'
    )
    session.shell.run_cell("21 * 2")
    session.line("What is {Out[-1]} doubled")
    assert "{Out[-1]}" in sent_prompt(session) or "42" in sent_prompt(session)


def test_errors_are_captured_alongside_another_custom_handler(session: Session) -> None:
    seen: list[str] = []

    def handler(shell: Any, etype: Any, value: Any, tb: Any, tb_offset: Any = None) -> None:
        seen.append(str(value))

    session.shell.set_custom_exc((ZeroDivisionError,), handler)
    try:
        session.shell.run_cell("def f():\n    return 1 / 0\nf()")
    finally:
        session.shell.set_custom_exc((), None)
    assert seen == ["division by zero"]  # the other handler still ran
    session.cell("", "Why? {Err[-1]}")
    prompt = sent_prompt(session)
    assert "ZeroDivisionError" in prompt and "return 1 / 0" in prompt
    assert "\x1b[" not in prompt
    session.server.queue(
        Reply(text="Divide by a non-zero.\n\n```python\ndef f():\n    return 1\n```")
    )
    session.shell.rl_next_input = None
    session.line("fix")
    prompt = sent_prompt(session)
    assert "corrected version" in prompt and "return 1 / 0" in prompt
    assert session.shell.rl_next_input.endswith("def f():\n    return 1")  # offered, not run


def test_fix_without_an_error_says_so(session: Session) -> None:
    if session.magics.host.state is not None:
        session.magics.host.state.errors.clear()
    with pytest.raises(UsageError, match="no error to fix"):
        session.line("fix")


def test_rerunning_a_cell_replaces_its_exchange(session: Session) -> None:
    session.server.queue(Reply(text="A1"), Reply(text="B1"), Reply(text="A2"))
    session.shell.run_cell("%%glm\nquestion A")
    session.shell.run_cell("%%glm\nquestion B")
    session.shell.run_cell("%%glm\nquestion A")  # re-run of the first cell
    messages = session.server.requests[-1].body["messages"]
    assert messages == [{"role": "user", "content": "question A"}]  # only what came before it
    turns = session.magics.session.conversation.turns
    assert [t.assistant["content"] for t in turns] == ["A2", "B1"]
    session.line("history")


def test_token_estimates_are_calibrated_by_the_service(session: Session) -> None:
    usage = {"prompt_tokens": 400, "completion_tokens": 5, "total_tokens": 405}
    session.server.queue(Reply(text="ok", usage=usage))
    session.cell("--new", "x" * 400)  # estimated ~104 tokens, counted 400
    assert session.magics.session.conversation.scale > 2
    session.magics.session.conversation.scale = 1.0


def test_long_values_are_cut_and_the_cell_says_so(session: Session) -> None:
    session.shell.user_ns["big"] = "x" * 10_000
    session.cell("", "Summarize {big}")
    assert "cut: 4,000 of 10,000 characters" in sent_prompt(session)
    assert "{big} cut to 4,000 of 10,000 characters" in session.publisher.all_text()


def test_history_shows_the_question_not_the_attached_summary(
    session: Session, frames: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session.cell("-d sales --new", "Which region sells most?")
    session.line("history")
    out = capsys.readouterr().out
    assert "Which region sells most? (" not in out
    assert "(+ DataFrame context)  Which region sells most?" in out


@pytest.mark.parametrize(
    "failing",
    [
        "totals = {'north': 3}\ntotals['south'] + 1",  # KeyError
        "import math\nvalue = math.sqrt(-1)",  # ValueError
        "for x in range(3)\n    print(x)",  # does not even parse
        "```\nrun()\n```",  # a fence in the cell: the quote must not break the answer
    ],
)
def test_fix_on_the_demo_server_inserts_a_cell_that_runs(session: Session, failing: str) -> None:
    """The bundled server cannot fix code, but the cell it offers must run."""
    import contextlib
    import io

    session.shell.run_cell(failing)
    session.shell.rl_next_input = None
    session.line("fix")  # no reply queued: the demo answer
    offered = session.shell.rl_next_input
    assert offered and "local test server cannot fix code" in offered
    compile(offered, "<offered>", "exec")  # it parses...
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(offered, {})  # ...and runs, here in a scratch namespace (the test's own check)
    assert "Error" in printed.getvalue()


def test_code_on_the_demo_server_is_runnable_and_the_quote_is_the_question(
    session: Session,
) -> None:
    import pandas as pd

    session.shell.user_ns["sales"] = pd.DataFrame({"region": ["n", "s"], "total": [3, 4]})
    session.shell.rl_next_input = None
    session.cell("-d sales --code", "Sum the totals by region")
    offered = session.shell.rl_next_input
    assert offered and "```" not in offered and "…" not in offered
    exec(compile(offered, "<offered>", "exec"), {})
    last = session.magics.session.last_result
    assert last is not None
    answer = last.text
    assert "> Sum the totals by region" in answer
    assert "DataFrame `sales`" not in answer  # the summary went to the model, not the quote
