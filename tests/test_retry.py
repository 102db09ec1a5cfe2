"""Backoff, jitter and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime

from glm_magics.errors import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    QuotaExceededError,
    RateLimitError,
    status_error,
)
from glm_magics.wire.retry import RetryPolicy, describe_failure, is_retryable, parse_retry_after


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=3.0, jitter=0.25)
    assert [policy.delay(n, rng=lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(2, rng=lambda: 1.0) == 0.75


def test_retry_after_wins_and_too_long_is_not_waited_for() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay(1, retry_after=2.0) == 2.0
    assert policy.delay(1, retry_after=600.0) is None


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None
    assert parse_retry_after(None) is None


def test_what_is_retried() -> None:
    assert is_retryable(status_error(429, "slow", "1302"))
    assert is_retryable(status_error(503, "busy", None))
    assert is_retryable(status_error(408, "timeout", None))
    assert is_retryable(status_error(409, "conflict", None))
    assert is_retryable(APIConnectionError("down"))
    assert not is_retryable(status_error(400, "bad", "1214"))
    assert not is_retryable(status_error(429, "arrears", "1113"))
    assert not is_retryable(status_error(401, "key", "1002"))


def test_status_error_classes_and_descriptions() -> None:
    assert isinstance(status_error(429, "m", "1302"), RateLimitError)
    assert isinstance(status_error(429, "m", "1113"), QuotaExceededError)
    assert isinstance(status_error(502, "m", None), InternalServerError)
    assert isinstance(status_error(400, "m", None), BadRequestError)
    assert describe_failure(status_error(429, "m", "1302")) == "rate limited (1302)"
    assert describe_failure(status_error(503, "m", None)) == "server error 503"
