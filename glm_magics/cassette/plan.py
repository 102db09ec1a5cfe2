"""One request's fate in a cassette: replay an entry, or send and record, or a miss.

:meth:`Cassette.plan <glm_magics.cassette.cassette.Cassette.plan>` decides once per
request (its sequence number too); :meth:`Plan.respond` then gives the response each
try reads: the recorded one replayed, or the live one with its answer recorded as it
is read (:mod:`~glm_magics.cassette.record`) and written when it is over. Statuses a
retry may fix (408, 409, 429, 5xx) pass through unrecorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from glm_magics.cassette.entries import Entry, factor_common, normalise_answer
from glm_magics.cassette.record import Capture, RecordingStream
from glm_magics.cassette.replay import replayed_response
from glm_magics.errors import CassetteMissError
from glm_magics.results import Provenance
from glm_magics.wire.protocols import sent_parameters
from glm_magics.wire.stream import PROVENANCE_EXTENSION


class CassetteFile(Protocol):
    """What a plan needs of its :class:`~glm_magics.cassette.cassette.Cassette`."""

    path: Path
    pace: str

    def count(self, what: str) -> None: ...

    def miss_message(self, plan: Plan) -> str: ...

    def store(self, entry: Entry, secrets: Sequence[str] = ()) -> None: ...


__all__ = ["Plan"]

# Statuses that are an answer to the request (recorded); 408, 409, 429 and 5xx are
# passing troubles that a retry may fix (never recorded).
_PASSING = frozenset({408, 409, 429})


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


@dataclass
class Plan:
    """One request's fate: ``replay`` an entry, ``record`` the live answer, or a ``miss``."""

    cassette: CassetteFile
    endpoint: str
    body: Mapping[str, Any]
    normalised: dict[str, Any]
    key: str
    seq: int
    action: str
    entry: Entry | None = None
    secrets: Sequence[str] = ()

    @property
    def replays(self) -> bool:
        """Whether nothing will be sent (a replay or a miss)."""
        return self.action != "record"

    def respond(
        self, url: str, send: Callable[[], httpx.Response], stopped: Callable[[], bool]
    ) -> httpx.Response:
        """The response: replayed, or ``send()``'s with its answer being recorded.

        ``stopped`` tells whether the user stopped the request (a stopped recording is
        kept, marked unfinished; a broken one is not).
        """
        cassette = self.cassette
        if self.action == "miss":
            cassette.count("misses")
            raise CassetteMissError(cassette.miss_message(self))
        parameters = sent_parameters(self.body)
        name = cassette.path.name
        if self.action == "replay":
            assert self.entry is not None
            cassette.count("hits")
            provenance = Provenance(
                "replayed", self.entry.recorded, self.endpoint, parameters, name
            )
            return replayed_response(self.entry, url, cassette.pace, provenance)
        sent_at = time.perf_counter()
        response = send()
        status = response.status_code
        if status in _PASSING or status >= 500 or 300 <= status < 400:
            return response
        day = _today()
        kind = response.headers.get("content-type", "application/json").split(";")[0].strip()
        response.stream = RecordingStream(
            response.stream,  # type: ignore[arg-type]
            events=kind == "text/event-stream",
            sent_at=sent_at,
            stopped=stopped,
            on_done=lambda capture: self._keep(capture, status, kind, day),
        )
        response.extensions[PROVENANCE_EXTENSION] = Provenance(
            "recorded", day, self.endpoint, parameters, name
        )
        return response

    def _keep(self, capture: Capture, status: int, kind: str, day: str) -> None:
        # A GET (the models) has no body, and its ids are the answer: kept as they are.
        fixed = bool(self.body)
        events: list[dict[str, Any]] | None = None
        body: Any = None
        common: dict[str, Any] = {}
        if capture.events is not None:
            values = [event["data"] for event in capture.events]
            if fixed:
                values = normalise_answer(values, self.key, self.seq, day)
            model = _returned_model(values)
            common, values = factor_common(values)
            events = [
                {**event, "data": value}
                for event, value in zip(capture.events, values, strict=True)
            ]
        else:
            body = capture.body_value()
            if fixed:
                body = normalise_answer([body], self.key, self.seq, day)[0]
            model = _returned_model([body])
        entry = Entry(
            key=self.key,
            seq=self.seq,
            endpoint=self.endpoint,
            request=self.normalised,
            recorded=day,
            model=model,
            status=status,
            content_type=kind,
            events=events,
            common=common or None,
            body=body,
            complete=capture.complete,
        )
        self.cassette.store(entry, self.secrets)


def _returned_model(values: list[Any]) -> str:
    """The model id the service said it used, in any protocol's payloads."""
    for value in values:
        if not isinstance(value, dict):
            continue
        for holder in (value, value.get("response"), value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("model"), str):
                return str(holder["model"])
    return ""
