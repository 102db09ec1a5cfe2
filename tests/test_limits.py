"""The rate limiter: even spacing, requests in flight, 429 pauses, learning a limit."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from glm_magics.wire.limits import Limits, RateLimiter, limiter_for, reset_limiters


def starts(limiter: RateLimiter, count: int, tokens: int = 0) -> list[float]:
    """When each of ``count`` requests was let through (released at once)."""
    times = []
    for _ in range(count):
        permit = limiter.acquire(tokens)
        assert permit is not None
        times.append(time.monotonic())
        permit.release()
    return times


def test_requests_are_spaced_evenly_without_a_burst() -> None:
    limiter = RateLimiter(Limits(requests_per_minute=1200))  # one every 50 ms
    times = starts(limiter, 6)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 0.045 for gap in gaps), gaps


def test_tokens_per_minute_space_large_requests_further() -> None:
    limiter = RateLimiter(Limits(tokens_per_minute=60_000))  # 1,000 tokens a second
    times = starts(limiter, 3, tokens=44)  # 44 + the answer's allowance of 256 = 300
    assert times[2] - times[0] >= 0.55


def test_requests_in_flight_are_capped() -> None:
    limiter = RateLimiter(Limits(concurrency=2))
    first, second = limiter.acquire(), limiter.acquire()
    assert first is not None and second is not None
    let_in: list[float] = []

    def third() -> None:
        limiter.acquire()
        let_in.append(time.monotonic())

    waiter = threading.Thread(target=third)
    waiter.start()
    time.sleep(0.2)
    assert waiter.is_alive()  # the third waits for a place
    released = time.monotonic()
    first.release()
    waiter.join(5)
    assert let_in and let_in[0] >= released


def test_a_429_pauses_everyone_for_the_retry_after() -> None:
    limiter = RateLimiter(Limits(requests_per_minute=6000))
    limiter.rate_limited_by_service(0.3)
    started = time.monotonic()
    assert limiter.acquire() is not None
    assert time.monotonic() - started >= 0.28
    assert limiter.rate_limited == 1


def test_an_unknown_limit_is_found_with_a_slow_start_then_kept_under() -> None:
    clock = [100.0]
    limiter = RateLimiter(clock=lambda: clock[0])
    start = limiter.rpm
    assert start is not None and start > 0  # a slow start begins at a modest pace
    for _ in range(10):  # 10 successes in half a second: about 1,300 a minute got through
        clock[0] += 0.05
        limiter.succeeded()
    through = 10 * 60 / 0.45
    assert limiter.rpm is not None and start < limiter.rpm <= 3.2 * through  # never far ahead
    in_flight = limiter.acquire()
    assert in_flight is not None
    in_flight.release()
    clock[0] += 0.01
    limiter.rate_limited_by_service(None)
    cut = limiter.rpm
    assert cut == pytest.approx(0.9 * 10 * 60 / 0.46)  # a little under what got through
    limiter.rate_limited_by_service(None, sent_at=in_flight.granted_at)  # sent before the cut
    assert limiter.rpm == cut  # ... so it cuts nothing more
    clock[0] += 10.0
    limiter.succeeded()  # from now on it rises slowly, with time: 1 % a second
    assert limiter.rpm == pytest.approx(cut * 1.1)
    limiter.rate_limited_by_service(0.25)  # a precise Retry-After: one request in 0.25 s
    assert limiter.rpm == pytest.approx(0.9 * 240)


def test_a_limit_the_service_publishes_is_taken_as_known() -> None:
    limiter = RateLimiter(Limits(concurrency=4))
    limiter.learned_rpm = 30.0
    limiter.publish({"x-ratelimit-limit-requests": "120", "x-ratelimit-limit-tokens": "90000"})
    assert limiter.limits == Limits(120, 90000, 4)
    assert limiter.rpm == 120 and limiter.learned_rpm is None
    limiter.publish({"x-ratelimit-limit-requests": "junk"})
    assert limiter.rpm == 120
    defaults = RateLimiter(Limits(requests_per_minute=50, concurrency=4))  # a preset's guess
    defaults.published(600, None)
    assert defaults.rpm == 600  # what the service says beats the guess...
    told = RateLimiter()
    told.configure(Limits(requests_per_minute=30))
    told.published(600, 1000)
    assert told.rpm == 30 and told.limits.tokens_per_minute == 1000  # ... not what you said


def test_waiting_for_a_turn_ends_when_aborted() -> None:
    limiter = RateLimiter(Limits(concurrency=1))
    held = limiter.acquire()
    abort = threading.Event()
    threading.Timer(0.1, abort.set).start()
    assert limiter.acquire(abort=abort) is None
    assert held is not None
    held.release()


def test_one_limiter_per_service_and_key_never_keeping_the_key() -> None:
    reset_limiters()
    first = limiter_for("http://svc/v1", "sk-secret-1", defaults=Limits(concurrency=3))
    assert limiter_for("http://svc/v1", "sk-secret-1") is first
    assert limiter_for("http://svc/v1", "sk-secret-2") is not first
    assert limiter_for("http://other/v1", "sk-secret-1") is not first
    assert first.limits.concurrency == 3
    assert "sk-secret" not in repr(first)


@pytest.mark.parametrize(
    ("status", "learns"), [(429, True), (500, False)], ids=["rate-limited", "server-error"]
)
def test_the_stream_tells_its_limiter(status: int, learns: bool) -> None:
    """A request through the client reports a 429 (not other failures) to the limiter."""
    from glm_magics import GLMClient
    from glm_magics.testing import LocalGLMServer, Reply

    reset_limiters()
    with LocalGLMServer() as server, GLMClient(base_url=server.base_url, max_retries=1) as client:
        server.queue(Reply.error(status, "1302", "slow down", retry_after=0), Reply(text="ok"))
        assert client.chat([{"role": "user", "content": "hi"}]).text == "ok"
        assert client.limiter.rate_limited == (1 if learns else 0)
        assert client.limiter.requests == 2
