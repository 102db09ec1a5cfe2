"""The rate limiter's arithmetic, on a clock the test moves: no sockets, no sleeping."""

from __future__ import annotations

import pytest

from glm_magics.testing import RateLimit
from glm_magics.testing.rate_limit import RateLimiter


class Clock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def burst(limiter: RateLimiter, limit: RateLimit, tokens: int = 1) -> int:
    """How many requests pass at one instant (each released at once)."""
    passed = 0
    while limiter.admit(limit, tokens).allowed:
        limiter.release()
        passed += 1
        assert passed < 10_000
    return passed


@pytest.mark.parametrize(("per_minute", "at_once"), [(60, 2), (600, 11), (6000, 101), (30, 1)])
def test_a_burst_gets_about_one_seconds_worth(clock: Clock, per_minute: int, at_once: int) -> None:
    assert burst(RateLimiter(clock), RateLimit(requests_per_minute=per_minute)) == at_once


@pytest.mark.parametrize("jitter", [0.0, 0.2, 0.45])
def test_a_client_paced_at_the_limit_is_never_refused(clock: Clock, jitter: float) -> None:
    limiter, limit = RateLimiter(clock), RateLimit(requests_per_minute=60)
    start = clock.now
    for n in range(200):  # a schedule of one a second, each sent early or late
        clock.now = start + n + (jitter if n % 2 else -jitter)
        assert limiter.admit(limit, 1).allowed, n
        limiter.release()
    assert limiter.rejected == 0


def test_the_announced_wait_is_exact(clock: Clock) -> None:
    limiter, limit = RateLimiter(clock), RateLimit(requests_per_minute=600)
    burst(limiter, limit)
    refusal = limiter.admit(limit, 1)
    assert not refusal.allowed and refusal.retry_after == pytest.approx(0.1)
    assert refusal.headers == {"Retry-After": "1", "retry-after-ms": "100"}
    clock.now += refusal.retry_after - 0.001
    assert not limiter.admit(limit, 1).allowed
    clock.now += 0.001
    assert limiter.admit(limit, 1).allowed
    assert limiter.rejected == 3  # the end of the burst, and the early one


def test_a_refused_request_spends_nothing(clock: Clock) -> None:
    limiter, limit = RateLimiter(clock), RateLimit(requests_per_minute=60)
    burst(limiter, limit)
    first = limiter.admit(limit, 1).retry_after
    for _ in range(50):
        assert limiter.admit(limit, 1).retry_after == first


def test_tokens_count_the_prompt_then_the_completion(clock: Clock) -> None:
    limiter, limit = RateLimiter(clock), RateLimit(tokens_per_minute=600)  # 10 a second
    assert limiter.admit(limit, 30).allowed  # bigger than a second's worth: nothing was owed
    limiter.charge(20)
    refusal = limiter.admit(limit, 1)
    assert refusal.retry_after == pytest.approx(5.0 - 1.0)  # 50 tokens owed, one second free
    assert "600 tokens per minute" in refusal.message
    clock.now += 4.0
    assert limiter.admit(limit, 1).allowed


def test_concurrent_answers_hold_their_place_until_released(clock: Clock) -> None:
    limiter, limit = RateLimiter(clock), RateLimit(concurrent=2, busy_retry_after=0.25)
    assert limiter.admit(limit, 1).allowed and limiter.admit(limit, 1).allowed
    refusal = limiter.admit(limit, 1)
    assert not refusal.allowed and refusal.retry_after == 0.25
    assert "2 requests at once" in refusal.message
    assert refusal.headers["Retry-After"] == "1" and refusal.headers["retry-after-ms"] == "250"
    limiter.release()
    assert limiter.admit(limit, 1).allowed
    assert (limiter.in_flight, limiter.rejected) == (2, 1)


def test_the_longest_wait_is_announced_with_every_reason(clock: Clock) -> None:
    limiter = RateLimiter(clock)
    limit = RateLimit(requests_per_minute=60, tokens_per_minute=60, concurrent=1)
    assert limiter.admit(limit, 120).allowed  # two minutes of tokens, in flight
    refusal = limiter.admit(limit, 1)
    assert refusal.retry_after == pytest.approx(119.0)
    assert refusal.headers["Retry-After"] == "119"
    assert "(60 tokens per minute and 1 request at once)" in refusal.message  # not requests


def test_a_new_limit_starts_afresh_and_an_equal_one_does_not(clock: Clock) -> None:
    limiter = RateLimiter(clock)
    burst(limiter, RateLimit(requests_per_minute=60))
    assert not limiter.admit(RateLimit(requests_per_minute=60), 1).allowed
    assert limiter.admit(RateLimit(requests_per_minute=61), 1).allowed
    limiter.reset()
    assert limiter.rejected == 0
    assert limiter.admit(RateLimit(requests_per_minute=61), 1).allowed


def test_no_limit_admits_everything_and_still_counts_answers_in_flight(clock: Clock) -> None:
    limiter = RateLimiter(clock)
    for _ in range(3):
        assert limiter.admit(None, 10**6) == limiter.admit(None, 1)
    assert limiter.in_flight == 6
    limiter.admit(RateLimit(concurrent=6), 1)
    assert limiter.rejected == 1


def test_published_headers_say_what_is_left(clock: Clock) -> None:
    limiter = RateLimiter(clock)
    limit = RateLimit(requests_per_minute=600, tokens_per_minute=60_000, published=True)
    headers = limiter.admit(limit, 250).headers
    assert headers == {
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "10",  # eleven pass at once, this was one
        "x-ratelimit-limit-tokens": "60000",
        "x-ratelimit-remaining-tokens": "750",  # a second's worth is 1000
    }
    assert (
        "x-ratelimit-limit-tokens"
        not in limiter.admit(RateLimit(requests_per_minute=600, published=True), 1).headers
    )
    assert limiter.admit(RateLimit(requests_per_minute=600), 1).headers == {}


def test_the_model_detail_lists_only_published_limits() -> None:
    assert RateLimit(requests_per_minute=600, published=True).model_fields() == {
        "rate_limits": {"requests_per_minute": 600}
    }
    assert RateLimit(1.5, 90_000, published=True).model_fields() == {
        "rate_limits": {"requests_per_minute": 1.5, "tokens_per_minute": 90_000}
    }
    assert RateLimit(requests_per_minute=600).model_fields() == {}
    assert RateLimit(concurrent=3, published=True).model_fields() == {}


@pytest.mark.parametrize(
    "changes",
    [
        {"requests_per_minute": 0},
        {"tokens_per_minute": -5},
        {"concurrent": 0},
        {"busy_retry_after": 0},
    ],
)
def test_limits_must_be_positive(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        RateLimit(**changes)  # type: ignore[arg-type]
