"""``map_rows``: the model over every row of a DataFrame, into typed columns.

::

    from glm_magics import map_rows

    labelled = map_rows(reviews, "Sentiment of this review: {review}",
                        schema={"sentiment": Literal["pos", "neg", "mixed"], "score": float},
                        store="reviews.sqlite")

Every request waits its turn at the service's rate limiter, shared with every other
request in the process; a failing row gets a reason in ``glm_error`` and the rest
finish; with ``store=`` each finished row is written as it completes and a rerun
sends only what is missing (without it, this process remembers the rows it finished).
Ctrl-C (or a panel's Stop) ends it promptly and returns what is done.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from glm_magics.batch.engine import BatchRequest, BatchRun, RowOutcome, RowTask
from glm_magics.batch.estimate import Estimate
from glm_magics.batch.frames import (
    BOOKKEEPING,
    check_new_columns,
    frame_library,
    frame_rows,
    with_columns,
)
from glm_magics.batch.progress import Counts, choose_progress
from glm_magics.batch.schema import RowSchema
from glm_magics.batch.store import RowStore, StoredRow, open_store, row_key
from glm_magics.batch.template import RowTemplate
from glm_magics.core.client import GLMClient
from glm_magics.core.clients import model_schema
from glm_magics.core.session import Session, default_session
from glm_magics.core.settings import Settings
from glm_magics.errors import ParameterError
from glm_magics.tokens import estimate_tokens
from glm_magics.wire.limits import Limits, RateLimiter
from glm_magics.wire.params import build_params
from glm_magics.wire.web_search import SEARCH_COST_USD

__all__ = ["map_rows"]

_STOPPED = "stopped before this row was answered"
_log = logging.getLogger("glm_magics")


def map_rows(
    frame: Any,
    template: str,
    schema: object = None,
    *,
    column: str = "answer",
    concurrency: int | None = None,
    rpm: float | None = None,
    tpm: float | None = None,
    store: str | Path | RowStore | None = None,
    client: GLMClient | Session | None = None,
    progress: object = None,
    dry_run: bool = False,
    rows_per_request: int = 1,
    system: str | None = None,
    model: str | None = None,
    api: str | None = None,
    **params: Any,
) -> Any:
    """Ask ``template`` for every row of ``frame``; the frame with the answers added.

    ``frame`` is a pandas or polars DataFrame (and comes back as the same kind, same
    rows, order and index). ``template`` names columns as ``{column}``. ``schema``:
    ``None`` for one text column called ``column``, or a dataclass, a TypedDict or a
    ``{"name": type}`` dict for typed columns. Added besides: ``glm_error`` (``None``
    or why the row failed), ``glm_attempts`` (asks) and ``glm_tokens``.

    ``concurrency``, ``rpm`` and ``tpm`` set the service's limits for this process
    (``None``: what the service published, else the preset's defaults). ``store`` is
    an SQLite file to keep finished rows in. ``client``: a session (its settings apply)
    or a client; ``None``: the notebook's session, else one from the environment.
    ``progress``: ``None`` for a widget in a notebook, a line on a terminal, nothing
    elsewhere (``False``: nothing). ``dry_run=True`` returns an :class:`Estimate` and
    sends nothing. ``rows_per_request=N`` asks N rows per request. ``params``
    (``temperature=0``, ``max_tokens=64``, ``thinking=False``...) as for ``%%glm``.
    """
    library = frame_library(frame)
    columns, rows = frame_rows(frame, library)
    row_schema = RowSchema.of(schema, column)
    check_new_columns(columns, [*row_schema.columns, *BOOKKEEPING])
    row_template = RowTemplate(template, columns)
    if not isinstance(rows_per_request, int) or not 1 <= rows_per_request <= 100:
        raise ParameterError(f"rows_per_request must be 1 to 100, got {rows_per_request!r}")
    session = client if isinstance(client, Session) else None
    if client is None:
        session = default_session()
    glm = session.client if session is not None else client
    if not isinstance(glm, GLMClient):
        raise ParameterError(f"client must be a GLMClient or a Session, got {client!r}")
    settings = session.settings if session is not None else Settings()
    request = _request(glm, settings, row_schema, system, model, api, rows_per_request, params)
    published = session.model_schema(request.model) if session else model_schema(glm, request.model)
    published.check(request.params)  # the model's published ranges, before anything is sent
    limiter = glm.limiter
    _configure(limiter, concurrency, rpm, tpm)
    workers = concurrency or limiter.limits.concurrency or 8

    identity = {
        "model": request.model,
        "api": request.api,
        "system": request.system,
        "params": request.params,
        "schema": row_schema.describe(),
    }
    prompts = [row_template.render(row) for row in rows]
    tasks = [RowTask(n, row_key(prompt, identity), prompt) for n, prompt in enumerate(prompts)]
    row_store = open_store(store)
    stored = row_store.get_many([task.key for task in tasks])
    waiting = [task for task in tasks if task.key not in stored]
    if dry_run:
        return _estimate(request, limiter, rows, waiting, len(tasks) - len(waiting), params)

    counts = Counts(total=len(tasks), resumed=len(tasks) - len(waiting))
    view = choose_progress(progress, len(tasks))
    outcomes: dict[int, RowOutcome] = {}

    def done(outcome: RowOutcome) -> None:
        outcomes[outcome.position] = outcome
        counts.done += 1
        counts.failed += outcome.error is not None
        counts.tokens += outcome.tokens
        if view is not None:
            view.update(counts)

    run = BatchRun(request, waiting, store=row_store, concurrency=workers, on_done=done)
    run.run()
    summary = _summary(counts, outcomes.values(), run, len(waiting))
    if view is not None:
        view.update(counts, final=True)
        view.finish(summary)
    _log.info("map_rows: %s", summary)
    result = _result_frame(frame, library, row_schema, tasks, stored, outcomes)
    if library == "pandas":
        result.attrs["glm_magics"] = {"summary": summary, "stopped": run.stopped}
    return result


def _request(
    client: GLMClient,
    settings: Settings,
    schema: RowSchema,
    system: str | None,
    model: str | None,
    api: str | None,
    rows_per_request: int,
    params: dict[str, Any],
) -> BatchRequest:
    """What every row's request carries: the settings, overridden by the call's arguments."""
    request_params = settings.request_params()
    request_params.update({name: value for name, value in params.items() if value is not None})
    build_params(request_params)  # a mistake is said now, before any row is asked
    base = settings.system if system is None else system
    parts = [part for part in (base, schema.instructions()) if part]
    return BatchRequest(
        client=client,
        model=model or settings.model or client.model,
        api=api or settings.api,
        system="\n\n".join(parts),
        params={name: value for name, value in request_params.items() if value is not None},
        schema=schema,
        rows_per_request=rows_per_request,
    )


def _configure(
    limiter: RateLimiter, concurrency: int | None, rpm: float | None, tpm: float | None
) -> None:
    """The limits given for this call become the service's (for the whole process)."""
    for name, value in (("concurrency", concurrency), ("rpm", rpm), ("tpm", tpm)):
        if value is not None and (isinstance(value, bool) or not value > 0):
            raise ParameterError(f"{name} must be a positive number, got {value!r}")
    if concurrency is None and rpm is None and tpm is None:
        return
    known = limiter.limits
    limiter.configure(
        Limits(
            requests_per_minute=rpm if rpm is not None else known.requests_per_minute,
            tokens_per_minute=tpm if tpm is not None else known.tokens_per_minute,
            concurrency=int(concurrency) if concurrency is not None else known.concurrency,
        )
    )


def _estimate(
    request: BatchRequest,
    limiter: RateLimiter,
    rows: list[Any],
    waiting: list[RowTask],
    stored: int,
    params: dict[str, Any],
) -> Estimate:
    size = request.rows_per_request
    requests = -(-len(waiting) // size)
    system_tokens = estimate_tokens(request.system) + 4
    prompt_tokens = sum(estimate_tokens(task.prompt) + 4 for task in waiting)
    prompt_tokens += system_tokens * requests
    per_row = _assumed_answer(request)
    max_tokens = request.params.get("max_tokens")
    if max_tokens is not None:
        per_row = min(per_row, int(max_tokens))
    output = per_row * len(waiting)
    minutes: list[float] = []
    rpm, tpm = limiter.rpm, limiter.limits.tokens_per_minute
    if rpm:
        minutes.append(requests / rpm)
    if tpm:
        minutes.append((prompt_tokens + output) / tpm)
    shown = [f"{rpm:g} requests/min" if rpm else "", f"{tpm:g} tokens/min" if tpm else ""]
    searching = any(t.get("type") == "web_search" for t in params.get("tools") or [])
    thinking = request.params.get("thinking") is not False
    reasoning = "; reasoning adds more unless thinking=False" if thinking else ""
    return Estimate(
        rows=len(rows),
        stored=stored,
        requests=requests,
        prompt_tokens=prompt_tokens,
        output_tokens=output,
        output_assumption=f"assumed {per_row} an answer{reasoning}",
        minutes=max(minutes) if minutes else None,
        limits=", ".join(part for part in shown if part) or "no known limit",
        search_cost=requests * SEARCH_COST_USD if searching else None,
    )


def _assumed_answer(request: BatchRequest) -> int:
    """Tokens assumed for one answer: a few per field of a schema, a paragraph of text."""
    schema = request.schema
    return 150 if schema.json_schema is None else 20 + 15 * len(schema.fields)


def _summary(counts: Counts, outcomes: Any, run: BatchRun, asked: int) -> str:
    failures = Counter(outcome.error for outcome in outcomes if outcome.error is not None)
    answered = counts.done - counts.failed
    parts = [f"{counts.total:,} rows: {answered + counts.resumed:,} answered"]
    if counts.resumed:
        parts[-1] += f" ({counts.resumed:,} from the store)"
    if failures:
        grouped = "; ".join(f"{n} x {reason}" for reason, n in failures.most_common(3))
        more = len(failures) - 3
        parts.append(f"{counts.failed:,} failed ({grouped}{f'; +{more} more' if more > 0 else ''})")
    not_run = asked - counts.done
    if not_run:
        why = f" ({run.stopped_because})" if run.stopped_because else ""
        parts.append(f"{not_run:,} not run: stopped{why}, rerun to resume")
    parts.append(f"{counts.tokens:,} tokens")
    if run.retries or run.reasked:
        parts.append(f"{run.retries} retried, {run.reasked} re-asked")
    return "; ".join(parts)


def _result_frame(
    frame: Any,
    library: str,
    schema: RowSchema,
    tasks: list[RowTask],
    stored: dict[str, StoredRow],
    outcomes: dict[int, RowOutcome],
) -> Any:
    names = schema.columns
    values: dict[str, list[Any]] = {name: [] for name in [*names, *BOOKKEEPING]}
    for task in tasks:
        kept = stored.get(task.key)
        outcome = outcomes.get(task.position)
        if kept is not None:
            answer, error, attempts, tokens = kept.values, None, kept.attempts, kept.tokens
        elif outcome is not None:
            answer, error = outcome.values or {}, outcome.error
            attempts, tokens = outcome.attempts, outcome.tokens
        else:
            answer, error, attempts, tokens = {}, _STOPPED, 0, 0
        for name in names:
            values[name].append(answer.get(name))
        values["glm_error"].append(error)
        values["glm_attempts"].append(attempts)
        values["glm_tokens"].append(tokens)
    kinds = {**schema.kinds(), "glm_error": "text", "glm_attempts": "int", "glm_tokens": "int"}
    return with_columns(frame, library, values, kinds)
