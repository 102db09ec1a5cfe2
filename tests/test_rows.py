"""``map_rows`` against the real local server: typed columns, failures, stores, resuming."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from glm_magics import GLMClient, map_rows
from glm_magics.batch.estimate import Estimate
from glm_magics.batch.progress import TextProgress
from glm_magics.errors import ParameterError
from glm_magics.testing import LocalGLMServer, RateLimit, Reply
from tests.conftest import Session, interrupt_after

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

REVIEWS = ["Loved it", "Broke in a day", "It is fine", "Best purchase", "Never again", "Meh"]


@pytest.fixture
def server() -> Iterator[LocalGLMServer]:
    with LocalGLMServer() as running:
        yield running


@pytest.fixture
def client(server: LocalGLMServer) -> Iterator[GLMClient]:
    with GLMClient(base_url=server.base_url, max_retries=1) as glm:
        yield glm


def review_of(body: dict[str, Any]) -> str:
    """The review a row's prompt carries ("Review: ..." in its question, re-asked or not)."""
    question = next(m["content"] for m in body["messages"] if m["role"] == "user")
    match = re.search(r"Review: (.*)", question)
    return match.group(1).strip() if match else question


def echo(body: dict[str, Any]) -> Reply:
    """Each row's answer says which review it read, so rows cannot be mixed up."""
    return Reply(text=f"about: {review_of(body)}")


def sentiment(body: dict[str, Any]) -> Reply:
    review = review_of(body)
    good = any(word in review for word in ("Loved", "Best", "fine"))
    label = "pos" if good else "neg"
    return Reply(text=json.dumps({"sentiment": label, "score": len(review) / 10}))


def posts(server: LocalGLMServer) -> list[Any]:
    return [request for request in server.requests if request.method == "POST"]


def test_every_row_gets_its_own_answer_in_order_with_the_index_kept(
    server: LocalGLMServer, client: GLMClient
) -> None:
    server.responder = echo
    frame = pd.DataFrame({"review": REVIEWS, "id": range(6)}, index=[f"r{n}" for n in range(6)])
    out = map_rows(frame, "Review: {review}", client=client, progress=False, temperature=0)
    assert list(out.index) == list(frame.index)
    assert list(out["answer"]) == [f"about: {review}" for review in REVIEWS]
    assert list(out["review"]) == REVIEWS  # the frame's own columns are untouched
    assert out["glm_error"].isna().all()
    assert list(out["glm_attempts"]) == [1] * 6 and (out["glm_tokens"] > 0).all()
    assert all(request.body["temperature"] == 0 for request in posts(server))
    assert "6 rows: 6 answered" in out.attrs["glm_magics"]["summary"]
    assert "answer" not in frame.columns  # a new frame; the input is not changed


def test_polars_in_polars_out_with_typed_columns(server: LocalGLMServer, client: GLMClient) -> None:
    server.responder = sentiment
    frame = pl.DataFrame({"review": REVIEWS})
    schema = {"sentiment": Literal["pos", "neg"], "score": float}
    out = map_rows(frame, "Review: {review}", schema, client=client, progress=False)
    assert isinstance(out, pl.DataFrame)
    assert out.schema["score"] == pl.Float64 and out.schema["sentiment"] == pl.String
    assert out.schema["glm_attempts"] == pl.Int64
    assert out["sentiment"].to_list() == ["pos", "neg", "pos", "pos", "neg", "neg"]
    sent = posts(server)[0].body
    assert sent["response_format"] == {"type": "json_object"}
    assert "JSON schema:" in sent["messages"][0]["content"]


@dataclasses.dataclass
class Label:
    """How a review reads."""

    sentiment: Literal["pos", "neg"]
    score: float


def test_an_answer_that_does_not_fit_is_asked_once_more_then_fails_that_row_only(
    server: LocalGLMServer, client: GLMClient
) -> None:
    asked: dict[str, int] = {}

    def flaky(body: dict[str, Any]) -> Reply:
        review = review_of(body)
        asked[review] = asked.get(review, 0) + 1
        if review == "It is fine" and len(body["messages"]) == 2:
            return Reply(text='{"sentiment": "neutral", "score": 0.5}')  # fixed when re-asked
        if review == "Meh":
            return Reply(text="I'd rather not say.")  # never fits
        return sentiment(body)

    server.responder = flaky
    frame = pd.DataFrame({"review": REVIEWS})
    out = map_rows(frame, "Review: {review}", Label, client=client, progress=False)
    assert out["score"].dtype == "float64"
    fine, meh = out.iloc[2], out.iloc[5]
    assert fine["sentiment"] == "pos" and fine["glm_attempts"] == 2 and fine["glm_error"] is None
    assert meh["glm_attempts"] == 2 and pd.isna(meh["score"])
    assert "did not fit the schema" in meh["glm_error"]
    assert out["glm_error"].notna().sum() == 1
    reask = [r for r in posts(server) if len(r.body["messages"]) == 4]
    assert "does not fit the JSON schema" in reask[0].body["messages"][-1]["content"]
    summary = out.attrs["glm_magics"]["summary"]
    assert "5 answered" in summary and "1 failed" in summary and "re-asked" in summary


def test_a_failing_row_never_sinks_the_batch(server: LocalGLMServer, client: GLMClient) -> None:
    def refuse_one(body: dict[str, Any]) -> Reply:
        if review_of(body) == "Never again":
            return Reply.error(400, "1214", "this row is malformed")
        return echo(body)

    server.responder = refuse_one
    out = map_rows(
        pd.DataFrame({"review": REVIEWS}), "Review: {review}", client=client, progress=False
    )
    errors = out["glm_error"].tolist()
    assert errors[4].startswith("BadRequestError: this row is malformed")
    assert [e for n, e in enumerate(errors) if n != 4] == [None] * 5
    assert "1 x BadRequestError" in out.attrs["glm_magics"]["summary"]


def test_an_error_every_row_would_meet_stops_the_batch(
    server: LocalGLMServer, client: GLMClient
) -> None:
    server.responder = lambda body: Reply.error(429, "1113", "Your balance is exhausted")
    frame = pd.DataFrame({"review": [f"quota {n}" for n in range(30)]})
    out = map_rows(frame, "Review: {review}", client=client, concurrency=2, progress=False)
    assert len(posts(server)) <= 4  # not one request per row
    assert out["glm_error"].str.startswith("QuotaExceededError").sum() >= 1
    summary = out.attrs["glm_magics"]["summary"]
    assert "not run: stopped (QuotaExceededError: Your balance is exhausted" in summary


def test_a_store_keeps_finished_rows_and_a_rerun_sends_only_what_is_missing(
    server: LocalGLMServer, client: GLMClient, tmp_path: Path
) -> None:
    server.responder = echo
    store = tmp_path / "labels.sqlite"
    frame = pd.DataFrame({"review": REVIEWS[:4]})
    first = map_rows(frame, "Review: {review}", client=client, store=store, progress=False)
    assert len(posts(server)) == 4
    longer = pd.DataFrame({"review": REVIEWS})
    second = map_rows(longer, "Review: {review}", client=client, store=store, progress=False)
    assert len(posts(server)) == 6  # only the two new rows were asked
    assert list(second["answer"][:4]) == list(first["answer"])
    assert "(4 from the store)" in second.attrs["glm_magics"]["summary"]
    map_rows(
        longer, "Review: {review}", client=client, store=store, progress=False, temperature=0.1
    )
    assert len(posts(server)) == 12  # another parameter is another question


def test_an_interrupt_keeps_every_finished_row_and_a_rerun_resumes(
    server: LocalGLMServer, client: GLMClient, tmp_path: Path
) -> None:
    server.responder = echo
    server.latency = 0.3
    store = tmp_path / "rows.sqlite"
    frame = pd.DataFrame({"review": [f"review {n}" for n in range(40)]})
    started = time.monotonic()
    with interrupt_after(1.0):
        partial = map_rows(
            frame, "Review: {review}", client=client, store=store, concurrency=4, progress=False
        )
    assert time.monotonic() - started < 3  # it ends promptly, well before 40 rows x 0.3 s / 4
    answered = partial["answer"].notna().sum()
    assert 0 < answered < 40
    assert (partial["glm_error"] == "stopped before this row was answered").sum() == 40 - answered
    assert partial.attrs["glm_magics"]["stopped"]
    sent = len(posts(server))
    server.latency = 0.0
    full = map_rows(frame, "Review: {review}", client=client, store=store, progress=False)
    assert full["glm_error"].isna().all()
    assert len(posts(server)) - sent == 40 - answered  # the finished rows were not asked again
    assert list(full["answer"]) == [f"about: review {n}" for n in range(40)]


def test_without_a_store_this_process_still_resumes(
    server: LocalGLMServer, client: GLMClient
) -> None:
    server.responder = echo
    frame = pd.DataFrame({"review": [f"unique {time.time()} {n}" for n in range(3)]})
    map_rows(frame, "Review: {review}", client=client, progress=False)
    map_rows(frame, "Review: {review}", client=client, progress=False)
    assert len(posts(server)) == 3


def test_a_dry_run_estimates_and_sends_nothing(server: LocalGLMServer, client: GLMClient) -> None:
    frame = pd.DataFrame({"review": REVIEWS * 10})
    estimate = map_rows(
        frame, "Review: {review}", {"score": float}, client=client, dry_run=True, rpm=30
    )
    assert isinstance(estimate, Estimate)
    assert (estimate.rows, estimate.requests) == (60, 60)
    assert estimate.prompt_tokens > 60 * 4 and estimate.output_tokens == 60 * 35
    assert estimate.minutes == pytest.approx(2.0)
    assert "assumed 35 an answer" in str(estimate) and "<table" in estimate._repr_html_()
    assert posts(server) == []


def test_a_service_limit_is_learnt_and_a_given_one_is_kept(server: LocalGLMServer) -> None:
    """40 requests/s allowed: a batch that does not know it draws a few 429s, then paces
    itself; told the limit, it draws none."""
    server.responder = echo
    server.rate_limit = RateLimit(requests_per_minute=2400)
    frame = pd.DataFrame({"review": [f"learn {n}" for n in range(80)]})
    with GLMClient(base_url=server.base_url) as learning:
        out = map_rows(frame, "Review: {review}", client=learning, concurrency=16, progress=False)
        assert out["glm_error"].isna().all()
        # A burst at the start, then the learnt pace: a handful of 429s (how many depends
        # on the machine's load), where a pool that never learns draws them for most rows.
        assert server.rejected < len(frame) // 2
        assert learning.limiter.learned_rpm is not None
    before = server.rejected
    told = pd.DataFrame({"review": [f"told {n}" for n in range(40)]})
    with GLMClient(base_url=server.base_url, api_key="another-key") as paced:
        out = map_rows(
            told, "Review: {review}", client=paced, rpm=2000, concurrency=16, progress=False
        )
        assert out["glm_error"].isna().all()
    assert server.rejected == before


def test_limits_the_model_description_publishes_are_kept_from_the_start(
    server: LocalGLMServer, client: GLMClient
) -> None:
    server.responder = echo
    server.rate_limit = RateLimit(requests_per_minute=1800, published=True)
    frame = pd.DataFrame({"review": [f"published {n}" for n in range(40)]})
    out = map_rows(frame, "Review: {review}", client=client, concurrency=16, progress=False)
    assert out["glm_error"].isna().all()
    assert client.limiter.rpm == 1800 and client.limiter.learned_rpm is None
    assert server.rejected == 0


def test_packed_rows_share_a_request_and_a_bad_pack_falls_back(
    server: LocalGLMServer, client: GLMClient
) -> None:
    def packed(body: dict[str, Any]) -> Reply:
        text = body["messages"][-1]["content"]
        items = re.findall(r"Item (\d+):\nReview: (.*)", text)
        if not items:
            return echo(body)
        if "Broke" in text:  # a pack the model miscounts: those rows go one by one
            return Reply(text=json.dumps({"answers": []}))
        answers = [{"item": int(n), "answer": f"about: {review}"} for n, review in items]
        return Reply(text=json.dumps({"answers": answers}))

    server.responder = packed
    frame = pd.DataFrame({"review": REVIEWS})
    out = map_rows(frame, "Review: {review}", client=client, rows_per_request=3, progress=False)
    assert list(out["answer"]) == [f"about: {review}" for review in REVIEWS]
    assert len(posts(server)) == 2 + 3  # two packs, the bad one's three rows again


def test_mistakes_are_said_before_anything_is_sent(
    server: LocalGLMServer, client: GLMClient
) -> None:
    frame = pd.DataFrame({"review": REVIEWS})
    with pytest.raises(ParameterError, match=r"not a column\. Did you mean \{review\}"):
        map_rows(frame, "Review: {reveiw}", client=client)
    with pytest.raises(ParameterError, match="refers to no column"):
        map_rows(frame, "Say hi", client=client)
    with pytest.raises(ParameterError, match="schema must be"):
        map_rows(frame, "Review: {review}", "not a schema", client=client)
    with pytest.raises(ParameterError, match="temperature must be between"):
        map_rows(frame, "Review: {review}", client=client, temperature=7)
    with pytest.raises(ParameterError, match="pandas or polars DataFrame"):
        map_rows([1, 2], "Review: {review}", client=client)
    with pytest.raises(ParameterError, match="already has a column 'review'"):
        map_rows(frame, "Review: {review}", {"review": str}, client=client, dry_run=False)
    assert posts(server) == []


def test_a_text_progress_line(server: LocalGLMServer, client: GLMClient) -> None:
    import io

    server.responder = echo
    stream = io.StringIO()
    map_rows(
        pd.DataFrame({"review": REVIEWS}),
        "Review: {review}",
        client=client,
        progress=TextProgress(stream),
    )
    written = stream.getvalue()
    assert "6/6" in written and "tokens" in written and "6 rows: 6 answered" in written


def test_each_in_a_real_shell(session: Session) -> None:
    session.server.responder = echo
    session.shell.user_ns["reviews"] = pd.DataFrame({"review": REVIEWS[:3]})
    try:
        session.cell("--each reviews --into labelled -t 0", "Review: {review}")
        labelled = session.shell.user_ns["labelled"]
        assert list(labelled["answer"]) == [f"about: {review}" for review in REVIEWS[:3]]
        with pytest.raises(Exception, match="--each needs --into"):
            session.cell("--each reviews", "Review: {review}")
        with pytest.raises(Exception, match="-c/--code does not go with --each"):
            session.cell("--each reviews --into x --code", "Review: {review}")
        with pytest.raises(Exception, match="no variable named 'missing'"):
            session.cell("--each missing --into x", "Review: {review}")
    finally:
        session.server.responder = None
