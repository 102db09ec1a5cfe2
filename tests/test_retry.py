"""Backoff, jitter and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from glm_magics import GLMClient
from glm_magics.errors import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    QuotaExceededError,
    RateLimitError,
    status_error,
)
from glm_magics.testing import LocalGLMServer, Reply
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


def test_a_codeless_429_that_says_quota_is_not_retried() -> None:
    """The Messages protocol's error bodies carry a type, not Z.ai's code."""
    for message in (
        "Insufficient balance or no resource package. Please recharge.",
        "The daily call limit of this API has been reached",
        "Your credit balance is too low",
    ):
        assert isinstance(status_error(429, message, None), QuotaExceededError), message
        assert not is_retryable(status_error(429, message, None))
    busy = status_error(429, "High concurrency usage of this API, please reduce concurrency", None)
    assert isinstance(busy, RateLimitError) and is_retryable(busy)
    assert not isinstance(status_error(400, "recharge", None), QuotaExceededError)


def test_a_messages_quota_error_is_sent_once_and_a_busy_one_is_retried(
    server: LocalGLMServer,
) -> None:
    quota = "Insufficient balance or no resource package. Please recharge."
    server.queue(Reply.error(429, "1113", quota))
    with GLMClient(base_url=server.base_url, max_retries=3) as client:
        with pytest.raises(QuotaExceededError, match="Please recharge"):
            client.chat([{"role": "user", "content": "Hi"}], api="messages")
        assert len(server.requests) == 1
        server.queue(Reply.error(429, "1302", "High concurrency", retry_after=0.01))
        assert client.chat([{"role": "user", "content": "Hi"}], api="messages").text
        assert len(server.requests) == 3
