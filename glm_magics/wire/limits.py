"""One rate limiter per service and key, shared by every request in the process.

A batch over 5,000 rows, a ``%%glm`` cell and the control panel all send through
the same :class:`RateLimiter` when they talk to the same service with the same key
(:func:`limiter_for`). It keeps three limits, any of which may be unknown:

* requests per minute, kept by spacing requests evenly (each one waits its turn at
  ``60 / rpm`` seconds after the previous one: no burst);
* tokens per minute, the same way, each request costing its estimated prompt plus an
  allowance for the answer, corrected by the usage the service reports;
* requests in flight (``concurrency``).

A 429 pauses everyone until the ``Retry-After`` the service asked for. When no
requests-per-minute limit is known, the limiter learns one, the way TCP finds a
network's pace: it starts at a modest rate and raises it quickly with each success
(a slow start, so that it never has a crowd of requests in flight when the first 429
comes), then, at each 429, sets the pace a little under the rate that was getting
through (or that a precise ``Retry-After`` implies) and raises it slowly with time.
A long batch so draws a handful of 429s rather than one per row. A limit the service
publishes (``x-ratelimit-limit-requests`` and friends) is taken as known::

    limiter = limiter_for("https://api.empiriolabs.ai/v1", key)
    limiter.configure(Limits(requests_per_minute=50, concurrency=4))
    with limiter.acquire(tokens=600, abort=stop_event) as permit:
        ...  # send the request; permit.used(tokens=812) when the usage is known
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import TracebackType

__all__ = ["Limits", "Permit", "RateLimiter", "limiter_for", "reset_limiters"]

_START_RPM = 1200.0  # the pace a slow start begins at
_START_GROWTH = 1.2  # each success multiplies it by this, until the first 429
_AHEAD = 3.0  # ... but never past this many times the rate that gets through
_CUT = 0.9  # a 429 sets the pace this far under the rate that was getting through
_RECOVERY = 0.01  # after that, the pace rises by this share a second
_WINDOW = 5.0  # seconds of successes the rate that got through is measured over
_ANSWER_ALLOWANCE = 256  # tokens counted for an answer before its usage is known


@dataclass(frozen=True)
class Limits:
    """What a service allows: ``None`` for a limit that is not known (or not wanted)."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    concurrency: int | None = None


class Permit:
    """One request's place: release it (``with`` does) when the answer has ended."""

    def __init__(self, limiter: RateLimiter, tokens: int, granted_at: float) -> None:
        self._limiter = limiter
        self._tokens = tokens
        self._released = False
        self.granted_at = granted_at
        """When the request was let through (on the limiter's clock)."""

    def used(self, tokens: int) -> None:
        """The tokens the service counted: corrects the token budget both ways."""
        self._limiter._correct(tokens - self._tokens)
        self._tokens = tokens

    def release(self) -> None:
        """Free the place in flight (idempotent)."""
        if not self._released:
            self._released = True
            self._limiter._release()

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class RateLimiter:
    """Paces one service's requests; thread-safe; see the module docstring.

    ``clock`` and ``sleep`` are injectable for tests (``sleep(seconds, abort)`` returns
    ``True`` when ``abort`` was set).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or Limits()
        """The limits in force: given (a preset's defaults), published, or configured."""
        self._configured: set[str] = set()
        self.learned_rpm: float | None = _START_RPM
        """The requests-per-minute pace found so far, when no limit is known."""
        self._slow_start = True
        self._recovered_at = clock()
        self._cut_at = float("-inf")
        self._clock = clock
        self._changed = threading.Condition()
        self._next_request = 0.0  # the earliest time the next request may start
        self._next_tokens = 0.0  # the same for the token budget
        self._in_flight = 0
        self._paused_until = 0.0
        self._successes: deque[float] = deque()
        self.requests = 0
        """Requests let through so far."""
        self.rate_limited = 0
        """429s reported so far."""

    def __repr__(self) -> str:
        limits = self.limits
        learned = f", learned {self.learned_rpm:.0f}/min" if self.learned_rpm else ""
        return (
            f"<RateLimiter rpm={limits.requests_per_minute} tpm={limits.tokens_per_minute} "
            f"concurrency={limits.concurrency}{learned}: {self.requests} requests, "
            f"{self.rate_limited} rate-limited>"
        )

    @property
    def rpm(self) -> float | None:
        """The requests-per-minute pace in force: the known limit, else the learned one."""
        return self.limits.requests_per_minute or self.learned_rpm

    def configure(self, limits: Limits) -> None:
        """Set the limits the user knows (a service's published ones no longer replace
        them; a known ``requests_per_minute`` replaces a learned one)."""
        with self._changed:
            self.limits = limits
            self._configured = {
                name
                for name in ("requests_per_minute", "tokens_per_minute", "concurrency")
                if getattr(limits, name) is not None
            }
            if limits.requests_per_minute:
                self.learned_rpm = None
            elif self.learned_rpm is None:  # no longer known: find it again
                self.learned_rpm, self._slow_start = _START_RPM, True
            self._changed.notify_all()

    def publish(self, headers: Mapping[str, str]) -> None:
        """Take the limits a service states in its answer's headers (``x-ratelimit-*``)."""
        self.published(
            _number(headers.get("x-ratelimit-limit-requests")),
            _number(headers.get("x-ratelimit-limit-tokens")),
        )

    def published(self, rpm: float | None, tpm: float | None) -> None:
        """Limits the service states (headers, its model description): they replace the
        defaults, not what the user configured."""
        if rpm is None and tpm is None:
            return
        with self._changed:
            changes: dict[str, float] = {}
            if rpm is not None and "requests_per_minute" not in self._configured:
                changes["requests_per_minute"] = rpm
            if tpm is not None and "tokens_per_minute" not in self._configured:
                changes["tokens_per_minute"] = tpm
            if not changes:
                return
            self.limits = replace(self.limits, **changes)  # type: ignore[arg-type]
            if self.limits.requests_per_minute:
                self.learned_rpm = None
            self._changed.notify_all()

    def acquire(self, tokens: int = 0, *, abort: threading.Event | None = None) -> Permit | None:
        """Wait for this request's turn; ``None`` when ``abort`` was set meanwhile.

        ``tokens`` is the request's estimated prompt; an allowance for the answer is
        added until :meth:`Permit.used` says what it was.
        """
        cost = tokens + _ANSWER_ALLOWANCE
        with self._changed:
            while True:
                if abort is not None and abort.is_set():
                    return None
                now = self._clock()
                concurrency = self.limits.concurrency
                wait = max(
                    self._paused_until - now,
                    self._next_request - now if self.rpm else 0.0,
                    self._next_tokens - now if self.limits.tokens_per_minute else 0.0,
                )
                full = concurrency is not None and self._in_flight >= concurrency
                if wait <= 0 and not full:
                    break
                self._changed.wait(timeout=min(max(wait, 0.0), 0.05) if wait > 0 else 0.05)
            self._in_flight += 1
            self.requests += 1
            rpm, tpm = self.rpm, self.limits.tokens_per_minute
            if rpm:
                self._next_request = max(now, self._next_request) + 60.0 / rpm
            if tpm:
                self._next_tokens = max(now, self._next_tokens) + cost * 60.0 / tpm
        return Permit(self, cost, now)

    def rate_limited_by_service(
        self, retry_after: float | None, *, sent_at: float | None = None
    ) -> None:
        """A 429: everyone waits ``retry_after`` seconds, and an unknown limit is learnt.

        The pace becomes a little under the lowest of: the rate of recent successes,
        the pace so far, and the rate a sub-second ``Retry-After`` implies. A request
        ``sent_at`` before the last cut was already in flight then: it cuts nothing more.
        """
        with self._changed:
            now = self._clock()
            self.rate_limited += 1
            if retry_after is not None and retry_after > 0:
                self._paused_until = max(self._paused_until, now + retry_after)
            stale = sent_at is not None and sent_at < self._cut_at
            if not self.limits.requests_per_minute and not stale:
                hint = 60.0 / retry_after if retry_after and retry_after < 1.0 else None
                candidates = [
                    rate for rate in (self._recent_rpm(now), self.learned_rpm, hint) if rate
                ]
                self.learned_rpm = max(1.0, _CUT * min(candidates)) if candidates else 60.0
                self._slow_start = False
                self._recovered_at = self._cut_at = now
            self._changed.notify_all()

    def succeeded(self) -> None:
        """An answer came back: a pace being learnt rises (fast in the slow start)."""
        with self._changed:
            now = self._clock()
            self._successes.append(now)
            self._drop_old(now)
            if self.limits.requests_per_minute or self.learned_rpm is None:
                return
            if self._slow_start:  # faster, but never far ahead of what actually gets through
                ceiling = _AHEAD * (self._recent_rpm(now, window=1.0) or _START_RPM)
                self.learned_rpm = max(
                    self.learned_rpm, min(self.learned_rpm * _START_GROWTH, ceiling)
                )
            else:
                self.learned_rpm *= 1.0 + _RECOVERY * max(0.0, now - self._recovered_at)
            self._recovered_at = now

    def _recent_rpm(self, now: float, window: float = _WINDOW) -> float | None:
        """Successes per minute over the last ``window`` seconds; ``None`` before two."""
        self._drop_old(now)
        recent = [moment for moment in self._successes if moment >= now - window]
        if len(recent) < 2:
            return None
        span = max(now - recent[0], min(window, 0.25))
        return len(recent) * 60.0 / span

    def _drop_old(self, now: float) -> None:
        while self._successes and self._successes[0] < now - _WINDOW:
            self._successes.popleft()

    def _correct(self, tokens: int) -> None:
        tpm = self.limits.tokens_per_minute
        if not tpm or not tokens:
            return
        with self._changed:
            self._next_tokens += tokens * 60.0 / tpm

    def _release(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number > 0 else None


_limiters: dict[tuple[str, str], RateLimiter] = {}
_registry = threading.Lock()


def limiter_for(base_url: str, key: str | None, *, defaults: Limits | None = None) -> RateLimiter:
    """The process's limiter for a service (``base_url``) and a key (hashed, never kept).

    ``defaults`` configures a limiter made now; an existing one keeps its limits.
    """
    import hashlib  # here, not at import: %load_ext stays quick

    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""
    with _registry:
        limiter = _limiters.get((base_url, fingerprint))
        if limiter is None:
            limiter = _limiters[(base_url, fingerprint)] = RateLimiter(defaults)
        return limiter


def reset_limiters() -> None:
    """Forget every limiter (tests; a new process starts this way)."""
    with _registry:
        _limiters.clear()
