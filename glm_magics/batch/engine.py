"""Running the rows: a pool of workers, each row asked, checked, re-asked once, stored.

The pace is the service's rate limiter's (every request waits its turn there, see
:mod:`~glm_magics.wire.limits`); the pool only decides how many rows are in hand.
A row whose answer does not fit the schema is asked once more, with the reason; a
row that fails anyway gets a one-line reason and the others go on, unless the error
is one every row would meet (a wrong key, an exhausted quota, an unknown model):
then the batch stops and says why. 429s are waited
out inside each request (the one retry loop, given a longer patience here than a
cell has). :meth:`BatchRun.stop` (or Ctrl-C in the thread that runs it) closes every
request in flight at once and keeps every finished row.

With ``rows_per_request=N`` a request carries N rows and asks for a JSON array of N
answers in order; a reply of the wrong length or order, or an entry that does not fit,
sends those rows again one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from glm_magics.batch.schema import RowSchema, SchemaMismatch
from glm_magics.batch.store import RowStore, StoredRow
from glm_magics.core.client import GLMClient
from glm_magics.errors import (
    APIStatusError,
    AuthenticationError,
    GLMError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
)
from glm_magics.events import RetryScheduled
from glm_magics.results import ChatResult, parse_json_answer
from glm_magics.wire.retry import RetryPolicy
from glm_magics.wire.stream import ChatStream

__all__ = ["BatchRequest", "BatchRun", "RowOutcome", "RowTask"]

#: A batch waits out more 429s per request than a cell does: the limiter learns the pace.
BATCH_RETRIES = RetryPolicy(max_retries=8)


@dataclass(frozen=True)
class RowTask:
    """One row to answer: its place in the frame, its store key, its prompt."""

    position: int
    key: str
    prompt: str


@dataclass
class RowOutcome:
    """How one row ended: its values, or why it failed; asks made and tokens spent."""

    position: int
    values: dict[str, Any] | None
    error: str | None = None
    attempts: int = 0
    tokens: int = 0
    resumed: bool = False


@dataclass
class BatchRequest:
    """What every row's request carries besides its prompt."""

    client: GLMClient
    model: str
    api: str
    system: str
    params: dict[str, Any]
    schema: RowSchema
    rows_per_request: int = 1
    policy: RetryPolicy = field(default_factory=lambda: BATCH_RETRIES)


#: Errors every other row would meet too: the batch stops rather than ask each row.
_FATAL = (AuthenticationError, PermissionDeniedError, NotFoundError, QuotaExceededError)


class _Stopped(Exception):
    """The batch was stopped while this row's request was in flight."""


class BatchRun:
    """Answers ``tasks`` with ``concurrency`` workers; :meth:`run` blocks until done."""

    def __init__(
        self,
        request: BatchRequest,
        tasks: Sequence[RowTask],
        *,
        store: RowStore,
        concurrency: int,
        on_done: Callable[[RowOutcome], None],
    ) -> None:
        self.request = request
        self.tasks = list(tasks)
        self.store = store
        self.concurrency = max(1, concurrency)
        self.on_done = on_done
        self.retries = 0
        """Requests sent again after a 429, a 5xx or a broken connection."""
        self.reasked = 0
        """Rows asked once more because the answer did not fit the schema."""
        self.stopped = False
        self.stopped_because: str | None = None
        """Why the batch stopped by itself (an error every row would meet), if it did."""
        self._keys = {task.position: task.key for task in self.tasks}
        self._stop = threading.Event()
        self._active: set[ChatStream] = set()
        self._lock = threading.Lock()

    def run(self) -> list[RowOutcome]:
        """Answer every task (or until stopped); the finished rows' outcomes."""
        size = max(1, self.request.rows_per_request)
        packs = [self.tasks[i : i + size] for i in range(0, len(self.tasks), size)]
        outcomes: list[RowOutcome] = []
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="glm-row")
        pending: set[Future[list[RowOutcome]]] = {pool.submit(self._answer, p) for p in packs}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                outcomes += [outcome for future in done for outcome in future.result()]
        except KeyboardInterrupt:
            self.stop()  # requests in flight are closed; the rows not started never start
            for future in pending:
                future.cancel()
            finished, _ = wait(pending)
            outcomes += [o for f in finished if not f.cancelled() for o in f.result()]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return outcomes

    def stop(self, because: str | None = None) -> None:
        """End the batch now, from any thread: requests in flight are closed."""
        if because is not None and self.stopped_because is None:
            self.stopped_because = because
        self.stopped = True
        self._stop.set()
        with self._lock:
            active = list(self._active)
        for chat_stream in active:
            chat_stream.close()

    # -- one worker's job ------------------------------------------------------------

    def _answer(self, pack: list[RowTask]) -> list[RowOutcome]:
        """The rows of ``pack`` that were answered, or failed, before any stop."""
        outcomes: list[RowOutcome] = []
        try:
            again = pack
            if len(pack) > 1:
                outcomes, again = self._answer_pack(pack)
            for task in again:
                outcomes.append(self._answer_row(task))
        except _Stopped:
            pass
        for outcome in outcomes:
            self._finished(outcome)
        return outcomes

    def _answer_row(self, task: RowTask) -> RowOutcome:
        messages = self._messages(task.prompt)
        attempts, tokens = 0, 0
        try:
            for _ in range(2):  # the first ask, and one re-ask with the reason
                attempts += 1
                result = self._ask(messages)
                tokens += result.usage.total_tokens
                try:
                    values = self.request.schema.read(result.text)
                except SchemaMismatch as mismatch:
                    if attempts == 2:
                        reason = f"the answer did not fit the schema: {mismatch}"
                        return RowOutcome(task.position, None, reason, attempts, tokens)
                    with self._lock:
                        self.reasked += 1
                    messages = [*messages, *self._reask(result, mismatch)]
                    continue
                return RowOutcome(task.position, values, None, attempts, tokens)
        except GLMError as exc:
            reason = self._reason(exc)
            if isinstance(exc, _FATAL):  # every row would meet it: stop asking
                self.stop(because=reason)
            return RowOutcome(task.position, None, reason, attempts, tokens)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer_pack(self, pack: list[RowTask]) -> tuple[list[RowOutcome], list[RowTask]]:
        """Several rows in one request; the rows it could not answer go back one by one."""
        schema = self.request.schema
        items = "\n\n".join(f"Item {n}:\n{task.prompt}" for n, task in enumerate(pack, 1))
        prompt = (
            f"Answer each of the {len(pack)} items below on its own. Reply with one JSON "
            f'object {{"answers": [...]}} holding {len(pack)} answers in order, each an '
            'object with "item" (its number) and '
            + ("the fields the schema asks for." if schema.json_schema else '"answer" (text).')
            + f"\n\n{items}"
        )
        try:
            result = self._ask(self._messages(prompt, packed=True))
        except GLMError:
            return [], pack  # each row gets its own request, and its own reason
        try:
            answers = parse_json_answer(result.text).get("answers")
        except (GLMError, AttributeError):
            return [], pack
        if not isinstance(answers, list) or len(answers) != len(pack):
            return [], pack
        share = result.usage.total_tokens // len(pack)
        outcomes, again = [], []
        for number, (task, entry) in enumerate(zip(pack, answers, strict=True), 1):
            if not isinstance(entry, dict) or entry.get("item") != number:
                again.append(task)
                continue
            body = {k: v for k, v in entry.items() if k != "item"}
            try:
                values = schema.values_of(body if schema.json_schema else body.get("answer"))
            except SchemaMismatch:
                again.append(task)
                continue
            outcomes.append(RowOutcome(task.position, values, None, 1, share))
        return outcomes, again

    def _messages(self, prompt: str, *, packed: bool = False) -> list[dict[str, Any]]:
        system = self.request.system
        if packed and self.request.schema.json_schema is None:
            system = "\n\n".join(part for part in (system, "Answer in JSON.") if part)
        head = [{"role": "system", "content": system}] if system else []
        return [*head, {"role": "user", "content": prompt}]

    @staticmethod
    def _reask(result: ChatResult, mismatch: SchemaMismatch) -> list[dict[str, Any]]:
        return [
            {"role": "assistant", "content": result.text},
            {
                "role": "user",
                "content": f"That answer does not fit the JSON schema ({mismatch}). Answer "
                "again with only the corrected JSON object.",
            },
        ]

    def _ask(self, messages: list[dict[str, Any]]) -> ChatResult:
        request = self.request
        params = dict(request.params)
        if request.schema.json_schema is not None or request.rows_per_request > 1:
            params["response_format"] = "json_object"
        client = request.client
        prepared = client.prepare(messages, request.model, request.api, stream=False, **params)
        chat_stream = client.open(prepared, request.api, policy=request.policy)
        with self._lock:
            if self._stop.is_set():
                raise _Stopped
            self._active.add(chat_stream)
        try:
            for event in chat_stream:
                if isinstance(event, RetryScheduled):
                    with self._lock:
                        self.retries += 1
        finally:
            with self._lock:
                self._active.discard(chat_stream)
        result = chat_stream.result
        if result.interrupted or self._stop.is_set():
            raise _Stopped
        return result

    def _finished(self, outcome: RowOutcome) -> None:
        if outcome.values is not None and outcome.error is None:
            stored = StoredRow(outcome.values, outcome.attempts, outcome.tokens)
            self.store.put(self._keys[outcome.position], stored)
        self.on_done(outcome)

    def _reason(self, error: GLMError) -> str:
        """One line for ``glm_error``: the error's kind and what the service said."""
        if isinstance(error, APIStatusError):
            label = f"HTTP {error.status_code}" + (f", code {error.code}" if error.code else "")
            said = error.service_message.strip() or "no details given"
            text = f"{said} ({label})"
        else:
            lines = str(error).strip().splitlines()
            text = lines[0] if lines else ""
        return f"{type(error).__name__}: {self.request.client.scrub(text)}"
