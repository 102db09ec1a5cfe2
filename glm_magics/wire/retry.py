"""When and how long to wait before sending a failed request again.

Retries happen only before any part of an answer has arrived: once text was
shown, a second request would show a different answer under the first.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from glm_magics.errors import (
    RATE_LIMIT_CODES,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    InStreamError,
    QuotaExceededError,
)

__all__ = ["RetryPolicy", "describe_failure", "is_retryable", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``Retry-After`` from the service wins.

    ``max_retries=3`` means up to four attempts in all. A ``Retry-After`` longer
    than ``max_retry_after`` is not waited for: the error is raised at once and
    says how long the service asked to wait.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def delay(
        self,
        retry_number: int,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before retry ``retry_number`` (1-based); ``None``: do not retry."""
        if retry_after is not None:
            return None if retry_after > self.max_retry_after else max(0.0, float(retry_after))
        base = min(self.max_delay, self.initial_delay * 2.0 ** (retry_number - 1))
        return base * (1.0 - self.jitter * rng())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_retryable(error: APIError) -> bool:
    """Whether sending the same request again may succeed."""
    if isinstance(error, QuotaExceededError):
        return False
    if isinstance(error, APIStatusError):
        return error.status_code in RETRYABLE_STATUS or error.status_code >= 500
    if isinstance(error, InStreamError):
        return error.code in RATE_LIMIT_CODES
    return isinstance(error, APIConnectionError)


def describe_failure(error: APIError) -> str:
    """A few words for the retry notice, e.g. ``rate limited (1302)``."""
    if isinstance(error, APIStatusError):
        code = f" ({error.code})" if error.code else ""
        if error.status_code == 429:
            return f"rate limited{code}"
        if error.status_code >= 500:
            return f"server error {error.status_code}{code}"
        return f"HTTP {error.status_code}{code}"
    if isinstance(error, InStreamError):
        return f"rate limited ({error.code})"
    if isinstance(error, APITimeoutError):
        return "timed out"
    return "connection failed"
