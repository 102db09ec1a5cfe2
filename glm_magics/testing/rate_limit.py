"""Rate limits like the hosted service's: requests and tokens per minute, answers at once.

::

    server.rate_limit = RateLimit(requests_per_minute=600, tokens_per_minute=60_000)
    ...  # a client that goes faster gets 429 with code 1302 and a Retry-After
    server.rejected / len(server.requests)  # the share of requests refused

Each per-minute limit is a generic cell rate algorithm (GCRA), the token bucket
written as one number: the time ``due`` at which everything spent so far is paid
back at the limit's rate. Spending ``n`` units moves ``due`` on by ``n / rate``; a
request passes while no more than :data:`BURST_SECONDS` is owed (``due - now``).
So a client that spaces its requests evenly at the limit never owes more than
one interval and is never refused, even with up to a second of jitter; a client
that bursts gets about a second's worth at once (``rate + 1`` requests) and is
then refused; and the wait a refusal announces, ``due - BURST_SECONDS - now``, is
exact: a request sent after it passes. Refused requests spend nothing.

Tokens are spent twice: the request's estimated prompt tokens when it is admitted,
the reply's completion tokens as soon as the reply is chosen. A request larger
than a second's worth of tokens still passes when nothing is owed, then makes the
next ones wait. ``concurrent`` counts the answers being written, from admission
until the response is complete or the client has gone.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BURST_SECONDS", "RATE_LIMIT_CODE", "Admission", "RateLimit", "RateLimiter"]

BURST_SECONDS = 1.0
"""How much of a limit may be owed at once: about a second's worth of burst."""

_TOLERANCE = 1e-6
"""Seconds of float rounding forgiven: ``due`` sums many ``1 / rate`` steps."""

RATE_LIMIT_CODE = "1302"
"""The business code of the service's 429 (``Reply.error(429)`` uses it too)."""


@dataclass(frozen=True)
class RateLimit:
    """The limits a :class:`~glm_magics.testing.LocalGLMServer` enforces; ``None`` disables one.

    ``requests_per_minute`` and ``tokens_per_minute`` (estimated prompt tokens plus
    completion tokens) are rates with about one second of burst; ``concurrent`` is
    how many answers may be in progress at once. A refusal caused only by
    ``concurrent`` cannot know when an answer will end, so it asks the client to
    wait ``busy_retry_after`` seconds. ``published=True`` adds OpenAI's
    ``x-ratelimit-*`` headers to every answer and the limits to
    ``GET /v1/models/{id}``.
    """

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    concurrent: int | None = None
    busy_retry_after: float = 1.0
    published: bool = False

    def __post_init__(self) -> None:
        for name in ("requests_per_minute", "tokens_per_minute", "concurrent"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive (or None for no limit), not {value}")
        if not self.busy_retry_after > 0:
            raise ValueError(f"busy_retry_after must be positive, not {self.busy_retry_after}")

    def model_fields(self) -> dict[str, Any]:
        """``{"rate_limits": {...}}`` for the model detail when published, else ``{}``."""
        limits = {
            "requests_per_minute": _whole(self.requests_per_minute),
            "tokens_per_minute": _whole(self.tokens_per_minute),
        }
        shown = {name: value for name, value in limits.items() if value is not None}
        return {"rate_limits": shown} if self.published and shown else {}


@dataclass(frozen=True)
class Admission:
    """The limiter's answer to one request.

    ``headers`` go on the response: the published ``x-ratelimit-*`` ones, and on a
    refusal ``Retry-After`` (whole seconds, at least 1) and ``retry-after-ms`` (the
    exact wait, which clients prefer). ``message`` says which limit refused.
    """

    allowed: bool
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    message: str = ""


@dataclass
class _Cell:
    """One per-minute limit as GCRA: ``due`` is when all that was spent is paid back."""

    per_minute: float
    due: float = -math.inf

    def owed(self, now: float) -> float:
        return max(0.0, self.due - now)

    def wait(self, now: float) -> float:
        """Seconds until a request would pass (0: it passes now)."""
        wait = self.owed(now) - BURST_SECONDS
        return wait if wait > _TOLERANCE else 0.0

    def spend(self, units: float, now: float) -> None:
        self.due = max(self.due, now) + units * 60.0 / self.per_minute

    def remaining(self, now: float, requests: bool) -> int:
        """What may still be spent at once: requests that would pass, or tokens."""
        spare = (BURST_SECONDS + _TOLERANCE - self.owed(now)) * self.per_minute / 60.0
        if spare < 0:
            return 0
        return math.floor(spare) + (1 if requests else 0)


class RateLimiter:
    """The state behind one server's :class:`RateLimit`: spending, answers in flight, refusals.

    Thread-safe; the handler calls :meth:`admit` for each answer request, then
    :meth:`charge` with the completion tokens and :meth:`release` once the answer
    is over (admitted requests only). A different ``RateLimit`` than the last one
    starts from nothing spent. ``clock`` is for tests of the arithmetic.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limit: RateLimit | None = None
        self._requests: _Cell | None = None
        self._tokens: _Cell | None = None
        self._in_flight = 0
        self._rejected = 0

    @property
    def rejected(self) -> int:
        """How many requests this limiter refused."""
        with self._lock:
            return self._rejected

    @property
    def in_flight(self) -> int:
        """How many admitted answers are still in progress."""
        with self._lock:
            return self._in_flight

    def admit(self, limit: RateLimit | None, prompt_tokens: int) -> Admission:
        """Admit a request of ``prompt_tokens`` (and spend for it), or refuse it."""
        with self._lock:
            self._follow(limit)
            now = self._clock()
            if limit is None:
                self._in_flight += 1
                return Admission(True)
            reasons: list[tuple[float, str]] = []
            if self._requests is not None and (wait := self._requests.wait(now)) > 0:
                reasons.append((wait, f"{_whole(limit.requests_per_minute)} requests per minute"))
            if self._tokens is not None and (wait := self._tokens.wait(now)) > 0:
                reasons.append((wait, f"{_whole(limit.tokens_per_minute)} tokens per minute"))
            if limit.concurrent is not None and self._in_flight >= limit.concurrent:
                what = "request" if limit.concurrent == 1 else "requests"
                reasons.append((limit.busy_retry_after, f"{limit.concurrent} {what} at once"))
            if reasons:
                self._rejected += 1
                wait = max(seconds for seconds, _ in reasons)
                limits = " and ".join(reason for _, reason in reasons)
                message = f"Rate limit reached ({limits}): retry in {wait:.3f} s."
                headers = {**self._published(limit, now), **_retry_headers(wait)}
                return Admission(False, headers, wait, message)
            if self._requests is not None:
                self._requests.spend(1, now)
            if self._tokens is not None:
                self._tokens.spend(prompt_tokens, now)
            self._in_flight += 1
            return Admission(True, self._published(limit, now))

    def charge(self, completion_tokens: int) -> None:
        """Spend an admitted request's completion tokens."""
        with self._lock:
            if self._tokens is not None:
                self._tokens.spend(completion_tokens, self._clock())

    def release(self) -> None:
        """An admitted answer is over (written, failed, or abandoned by the client)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def reset(self) -> None:
        """Forget what was spent and refused (answers in flight still count)."""
        with self._lock:
            self._limit = self._requests = self._tokens = None
            self._rejected = 0

    def _follow(self, limit: RateLimit | None) -> None:
        if limit == self._limit:
            return
        self._limit = limit
        rpm = limit.requests_per_minute if limit is not None else None
        tpm = limit.tokens_per_minute if limit is not None else None
        self._requests = _Cell(rpm) if rpm is not None else None
        self._tokens = _Cell(tpm) if tpm is not None else None

    def _published(self, limit: RateLimit, now: float) -> dict[str, str]:
        if not limit.published:
            return {}
        headers = {}
        for kind, cell in (("requests", self._requests), ("tokens", self._tokens)):
            if cell is not None:
                headers[f"x-ratelimit-limit-{kind}"] = str(_whole(cell.per_minute))
                remaining = cell.remaining(now, requests=kind == "requests")
                headers[f"x-ratelimit-remaining-{kind}"] = str(remaining)
        return headers


def _retry_headers(wait: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds (rounded up, at least 1) and the milliseconds
    (rounded up, but for the rounding error the limit forgives anyway)."""
    return {
        "Retry-After": str(max(1, math.ceil(wait - _TOLERANCE))),
        "retry-after-ms": str(max(1, math.ceil((wait - _TOLERANCE) * 1000))),
    }


def _whole(value: float | None) -> float | int | None:
    """``600.0`` as ``600``, for headers and JSON."""
    return int(value) if value is not None and float(value).is_integer() else value
