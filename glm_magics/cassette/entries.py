"""One recorded answer, and how a request and an answer are normalised for the file.

A cassette is JSON lines: a header line, then one :class:`Entry` per line. An entry is
keyed by a hash of the *normalised* request (its endpoint and body: model, messages,
parameters, tools, response format; never the host, the headers or the key), plus a
sequence number for an identical request asked again. It keeps the normalised request
(so a miss can name what differs), what came back (the server-sent events with the
seconds at which each arrived, or the whole body), the status, the model id the
service returned and the day it was recorded.

Normalising makes re-recording the same answers change nothing: the ids a service
invents on every call (``id``, ``request_id``, tool-call ids...) become ids derived
from the entry's key, and ``created``/``created_at`` the recording day. In a request,
ids are numbered by first appearance, so a follow-up that sends back a tool call's id
matches whether that id came live or from the cassette.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "FORMAT",
    "Entry",
    "asked_part",
    "factor_common",
    "header_line",
    "normalise_answer",
    "normalise_request",
    "question_of",
    "request_key",
]

FORMAT = 1
"""The file format's version, in the header line."""

_REQUEST_IDS = frozenset({"id", "tool_call_id", "call_id", "tool_use_id"})
_ANSWER_IDS = frozenset({"id", "request_id", "system_fingerprint", "call_id", "item_id"})
_ANSWER_TIMES = frozenset({"created", "created_at"})
_PREFIX = re.compile(r"\A[A-Za-z]+[_-]")


def header_line() -> str:
    """The first line of a cassette file."""
    return json.dumps({"glm_magics_cassette": FORMAT})


def normalise_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` with every id-like string numbered by first appearance."""
    seen: dict[str, str] = {}

    def rename(value: str) -> str:
        return seen.setdefault(value, f"id-{len(seen) + 1}")

    normalised: dict[str, Any] = _walk(copy.deepcopy(dict(body)), _REQUEST_IDS, rename, None)
    return normalised


def request_key(endpoint: str, normalised: Mapping[str, Any]) -> str:
    """The hash of a normalised request and its endpoint (16 hex digits)."""
    text = json.dumps(
        {"endpoint": endpoint, "body": normalised},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def normalise_answer(values: list[Any], key: str, seq: int, day: str) -> list[Any]:
    """``values`` (event payloads or a body) with the service's volatile fields fixed.

    Each distinct id becomes ``<its prefix><key>-<seq>-<n>`` (``call_``, ``chatcmpl-``,
    ``msg_``... kept), the same id the same everywhere in the entry; times become the
    recording day's midnight (UTC).
    """
    seen: dict[str, str] = {}
    stamp = calendar.timegm(date.fromisoformat(day).timetuple())

    def rename(value: str) -> str:
        if value not in seen:
            prefix = _PREFIX.match(value)
            seen[value] = f"{prefix.group(0) if prefix else ''}{key[:8]}-{seq}-{len(seen) + 1}"
        return seen[value]

    return [_walk(value, _ANSWER_IDS, rename, stamp) for value in values]


def factor_common(payloads: list[Any]) -> tuple[dict[str, Any], list[Any]]:
    """The fields every dict payload repeats with the same value, and the payloads without
    them (a stream's chunks all carry the same ``id``, ``created``, ``model``...)."""
    dicts = [payload for payload in payloads if isinstance(payload, dict)]
    if len(dicts) < 2:
        return {}, payloads
    common = dict(dicts[0])
    for payload in dicts[1:]:
        common = {k: v for k, v in common.items() if k in payload and payload[k] == v}
    if not common:
        return {}, payloads
    rest = [
        {k: v for k, v in p.items() if k not in common} if isinstance(p, dict) else p
        for p in payloads
    ]
    return common, rest


def _walk(value: Any, ids: frozenset[str], rename: Any, stamp: int | None) -> Any:
    if isinstance(value, dict):
        for name, item in value.items():
            if name in ids and isinstance(item, str) and item:
                value[name] = rename(item)
            elif stamp is not None and name in _ANSWER_TIMES and isinstance(item, int | float):
                value[name] = stamp
            else:
                value[name] = _walk(item, ids, rename, stamp)
    elif isinstance(value, list):
        return [_walk(item, ids, rename, stamp) for item in value]
    return value


# What a composed prompt puts between attached context (DataFrame summaries) and the
# question (glm_magics.context.prompt.CONTEXT_SEPARATOR; a layer this one cannot import).
_CONTEXT_RULE = "\n\n---\n\n"


def asked_part(text: str) -> str:
    """The question in a user message, after any attached context."""
    return text.rsplit(_CONTEXT_RULE, 1)[-1]


def question_of(request: Mapping[str, Any]) -> str:
    """The last user message's text in a request of any protocol ("" if none)."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        given = request.get("input")
        messages = given if isinstance(given, list) else []
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [str(part.get("text", "")) for part in content if isinstance(part, Mapping)]
        return "\n".join(part for part in parts if part)
    return ""


@dataclass
class Entry:
    """One recorded request and its answer (see the module docstring)."""

    key: str
    seq: int
    endpoint: str
    request: dict[str, Any]
    recorded: str
    """The day it was recorded, ``YYYY-MM-DD``."""
    model: str
    status: int
    content_type: str
    events: list[dict[str, Any]] | None = None
    """Server-sent events: ``{"t": seconds, "event": name (if any), "data": payload}``."""
    common: dict[str, Any] | None = None
    """Fields every event's payload repeats (``id``, ``model``...), stored once."""
    body: Any = None
    """A whole body: its JSON value, or its text when it is not JSON."""
    complete: bool = True
    """False when the recording was stopped before the answer finished."""

    @property
    def duration(self) -> float:
        """Seconds from sending the request to the last event."""
        return float(self.events[-1]["t"]) if self.events else 0.0

    @property
    def question(self) -> str:
        """The question this entry answers (the last user message, context left out)."""
        return asked_part(question_of(self.request))

    def same_answer(self, other: Entry) -> bool:
        """Whether ``other`` recorded the same answer (timings and day aside)."""

        def untimed(entry: Entry) -> Any:
            events = [{k: v for k, v in e.items() if k != "t"} for e in entry.events or ()]
            return (
                entry.model,
                entry.status,
                entry.content_type,
                entry.common,
                events,
                entry.body,
                entry.complete,
            )

        return bool(untimed(self) == untimed(other))

    def to_json(self) -> dict[str, Any]:
        """The entry as one JSON object (the order is the file's)."""
        data: dict[str, Any] = {
            "key": self.key,
            "seq": self.seq,
            "endpoint": self.endpoint,
            "recorded": self.recorded,
            "model": self.model,
            "status": self.status,
            "content_type": self.content_type,
            "complete": self.complete,
            "request": self.request,
        }
        if self.events is not None:
            if self.common:
                data["common"] = self.common
            data["events"] = self.events
        else:
            data["body"] = self.body
        return data

    def line(self) -> str:
        """The entry's line in the file (without the newline)."""
        return json.dumps(self.to_json(), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        """Read one line's object; ``KeyError``/``TypeError``/``ValueError`` if malformed."""
        events = data.get("events")
        if events is not None and not isinstance(events, list):
            raise TypeError("events must be a list")
        return cls(
            key=str(data["key"]),
            seq=int(data["seq"]),
            endpoint=str(data["endpoint"]),
            request=dict(data["request"]),
            recorded=str(data.get("recorded", "")),
            model=str(data.get("model", "")),
            status=int(data.get("status", 200)),
            content_type=str(data.get("content_type", "application/json")),
            events=events,
            common=dict(data["common"]) if data.get("common") else None,
            body=data.get("body"),
            complete=bool(data.get("complete", True)),
        )
