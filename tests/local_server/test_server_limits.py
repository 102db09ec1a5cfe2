"""The local server as a slow or busy service: latency, statuses, and rate limits.

Plain httpx against a real :class:`LocalGLMServer` over loopback. Every wait here is
a fraction of a second (small latencies, high rates), so the timing assertions
leave wide margins on either side.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from glm_magics.testing import LocalGLMServer, RateLimit, Reply
from glm_magics.testing.__main__ import main
from glm_magics.testing.rate_limit import RateLimiter
from tests.local_server.test_rate_limiter import Clock
from tests.test_server_routes import ROUTES, Route

CHAT = ROUTES[0]


def post(
    http: httpx.Client,
    server: LocalGLMServer,
    route: Route = CHAT,
    *,
    timeout: float = 5,
    **changes: Any,
) -> httpx.Response:
    body = {"model": "glm-4-7-flash", **route.body, **changes}
    return http.post(server.base_url + route.path, json=body, timeout=timeout)


def seconds_to_headers(
    http: httpx.Client, server: LocalGLMServer, route: Route = CHAT, **changes: Any
) -> float:
    """How long a streamed request waits for its status line (the body is read after)."""
    body = {"model": "glm-4-7-flash", **route.body, "stream": True, **changes}
    start = time.monotonic()
    with http.stream("POST", server.base_url + route.path, json=body) as response:
        waited = time.monotonic() - start
        response.read()
    assert response.status_code == 200
    return waited


# latency ----------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_latency_delays_the_status_line_on_every_route(
    http: httpx.Client, server: LocalGLMServer, route: Route
) -> None:
    server.latency = 0.2
    assert seconds_to_headers(http, server, route) >= 0.2


def test_ttft_waits_after_the_headers_and_latency_before_them(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.ttft = 0.3
    assert seconds_to_headers(http, server) < 0.2
    server.ttft, server.latency = 0.0, 0.3
    assert seconds_to_headers(http, server) >= 0.3


def test_a_reply_overrides_the_servers_latency(http: httpx.Client) -> None:
    with LocalGLMServer(latency=5.0) as server:
        server.queue(Reply(text="quick", latency=0.0), Reply(text="slow", latency=0.2))
        assert seconds_to_headers(http, server) < 0.2
        server.latency = 0.0
        assert seconds_to_headers(http, server) >= 0.2


def test_latency_delays_scripted_errors_too(http: httpx.Client, server: LocalGLMServer) -> None:
    server.queue(Reply.error(503).with_changes(latency=0.2))
    start = time.monotonic()
    response = post(http, server)
    assert response.status_code == 503
    assert time.monotonic() - start >= 0.2


def test_stop_ends_a_latency_wait_at_once(http: httpx.Client) -> None:
    server = LocalGLMServer(latency=30.0).start()
    failures: list[Exception] = []

    def ask() -> None:
        try:
            post(http, server)
        except httpx.HTTPError as error:
            failures.append(error)

    caller = threading.Thread(target=ask)
    caller.start()
    (record,) = server.wait_for_requests(1)
    start = time.monotonic()
    server.stop()
    caller.join(timeout=2)
    assert time.monotonic() - start < 0.5
    assert not caller.is_alive() and len(failures) == 1
    assert record.status is None


def test_a_client_that_gives_up_during_latency_is_seen_leaving(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.latency = 30.0
    with pytest.raises(httpx.ReadTimeout):
        post(http, server, timeout=0.2)
    record = server.wait_for_disconnect(timeout=2)
    assert record.client_disconnected and record.status is None


def test_the_servers_own_refusals_do_not_wait(http: httpx.Client, server: LocalGLMServer) -> None:
    server.latency = 30.0
    start = time.monotonic()
    assert post(http, server, temperature=7).status_code == 400
    assert time.monotonic() - start < 1.0


# statuses -----------------------------------------------------------------------


def test_every_request_records_the_status_it_got(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.queue(Reply(text="fine"), Reply.error(503))
    assert post(http, server).status_code == 200
    assert post(http, server).status_code == 503
    assert post(http, server, temperature=7).status_code == 400
    assert http.get(server.base_url + "/models").status_code == 200
    assert http.post(server.base_url + "/nowhere").status_code == 404
    assert [record.status for record in server.requests] == [200, 503, 400, 200, 404]


# rate limits ------------------------------------------------------------------------


def refusal_message(route: Route, response: httpx.Response) -> str:
    """The message of a rate-limit refusal, after checking its status, code and shape."""
    assert response.status_code == 429
    body = response.json()
    error = body["error"]
    if route.api == "chat":
        assert set(error) == {"code", "message"} and error["code"] == "1302"
    elif route.api == "responses":
        assert (error["type"], error["code"], error["param"]) == ("rate_limit_error", "1302", None)
    else:
        assert body["type"] == "error"
        assert set(error) == {"type", "message"} and error["type"] == "rate_limit_error"
    return str(error["message"])


def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_a_request_over_the_limit_gets_429_1302_in_the_routes_shape(
    http: httpx.Client, server: LocalGLMServer, route: Route
) -> None:
    server.rate_limit = RateLimit(requests_per_minute=60)
    assert [post(http, server, route).status_code for _ in range(2)] == [200, 200]
    refused = post(http, server, route, stream=True)
    assert refused.headers["content-type"] == "application/json"
    assert "60 requests per minute" in refusal_message(route, refused)
    assert refused.headers["retry-after"] == "1"
    assert 900 < int(refused.headers["retry-after-ms"]) <= 1000
    assert [record.status for record in server.requests] == [200, 200, 429]
    assert server.rejected == 1


def test_an_evenly_paced_client_is_never_refused_and_a_burst_is(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    clock = Clock()
    server.limiter = RateLimiter(clock)
    server.rate_limit = RateLimit(requests_per_minute=600)
    start = clock.now
    for n in range(60):  # six seconds at the limit, each request 40 ms early or late
        clock.now = start + n / 10 + (0.04 if n % 2 else -0.04)
        assert post(http, server).status_code == 200, n
    clock.now += 2
    burst = [post(http, server).status_code for _ in range(15)]
    assert burst == [200] * 11 + [429] * 4
    assert server.rejected == 4


def test_a_burst_on_the_real_clock_is_cut_after_a_seconds_worth(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.rate_limit = RateLimit(requests_per_minute=600)
    statuses = [post(http, server).status_code for _ in range(30)]
    assert statuses[:11] == [200] * 11
    assert statuses.count(429) >= 10
    assert server.rejected == statuses.count(429)


def test_waiting_the_announced_milliseconds_lets_the_next_request_through(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.rate_limit = RateLimit(requests_per_minute=120)  # one every 0.5 s, three at once
    assert [post(http, server).status_code for _ in range(3)] == [200] * 3
    first = post(http, server)
    wait = int(first.headers["retry-after-ms"]) / 1000
    assert 0.4 < wait <= 0.5
    time.sleep(wait / 2)
    halfway = post(http, server)
    assert halfway.status_code == 429
    rest = int(halfway.headers["retry-after-ms"]) / 1000
    assert wait / 2 - 0.05 < rest <= wait / 2
    time.sleep(rest)
    assert post(http, server).status_code == 200


def test_tokens_per_minute_count_the_prompt_and_the_completion(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.rate_limit = RateLimit(tokens_per_minute=600)  # ten a second
    server.queue(Reply(text=" word" * 40))
    usage = post(http, server, messages=[{"role": "user", "content": "x" * 80}]).json()["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (20, 40)
    refused = post(http, server)
    assert "600 tokens per minute" in refusal_message(CHAT, refused)
    owed = (20 + 40) / 10 - 1.0  # seconds, less the one second that may be owed
    assert owed - 0.1 < int(refused.headers["retry-after-ms"]) / 1000 <= owed
    assert refused.headers["retry-after"] == "5"


def test_concurrent_answers_beyond_the_limit_are_refused(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.rate_limit = RateLimit(concurrent=2, busy_retry_after=0.2)
    server.latency = 0.3
    answers: list[int] = []
    callers = [
        threading.Thread(target=lambda: answers.append(post(http, server).status_code))
        for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    wait_until(lambda: server.limiter.in_flight == 2)
    refused = post(http, server)
    assert "2 requests at once" in refusal_message(CHAT, refused)
    assert (refused.headers["retry-after"], refused.headers["retry-after-ms"]) == ("1", "200")
    for caller in callers:
        caller.join(timeout=2)
    assert answers == [200, 200]
    wait_until(lambda: server.limiter.in_flight == 0)
    server.latency = 0.0
    assert post(http, server).status_code == 200


def test_a_client_that_leaves_gives_its_place_back(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.rate_limit = RateLimit(concurrent=1)
    server.queue(Reply(text="never sent", latency=30))
    with pytest.raises(httpx.ReadTimeout):
        post(http, server, timeout=0.2)
    server.wait_for_disconnect(timeout=2)
    wait_until(lambda: server.limiter.in_flight == 0)
    assert post(http, server).status_code == 200


def test_published_limits_go_on_every_answer_and_the_model_detail(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.rate_limit = RateLimit(requests_per_minute=600, tokens_per_minute=60_000, published=True)
    whole = post(http, server)
    assert whole.headers["x-ratelimit-limit-requests"] == "600"
    assert whole.headers["x-ratelimit-remaining-requests"] == "10"
    assert whole.headers["x-ratelimit-limit-tokens"] == "60000"
    assert 0 < int(whole.headers["x-ratelimit-remaining-tokens"]) < 1000
    streamed = post(http, server, ROUTES[2], stream=True)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert int(streamed.headers["x-ratelimit-remaining-requests"]) <= 10
    detail = http.get(server.base_url + "/models/glm-4-7-flash").json()
    assert detail["rate_limits"] == {"requests_per_minute": 600, "tokens_per_minute": 60_000}
    server.rate_limit = RateLimit(requests_per_minute=600)
    assert not [name for name in post(http, server).headers if name.startswith("x-ratelimit")]
    assert "rate_limits" not in http.get(server.base_url + "/models/glm-4-7-flash").json()


def test_only_answers_count_against_the_limit(http: httpx.Client, server: LocalGLMServer) -> None:
    server.rate_limit = RateLimit(requests_per_minute=60)
    for _ in range(5):
        assert http.get(server.base_url + "/models").status_code == 200
        assert http.get(server.base_url + "/models/glm-4-7-flash").status_code == 200
        assert post(http, server, temperature=7).status_code == 400
    assert [post(http, server).status_code for _ in range(3)] == [200, 200, 429]


def test_the_share_refused_and_a_fresh_start(http: httpx.Client) -> None:
    with LocalGLMServer(rate_limit=RateLimit(requests_per_minute=60)) as server:
        statuses = [post(http, server).status_code for _ in range(10)]
        assert server.rejected == statuses.count(429) == 8
        assert server.rejected / len(server.requests) == 0.8
        server.clear()
        assert server.rejected == 0
        assert post(http, server).status_code == 200


# from a terminal ----------------------------------------------------------------------


def test_the_command_line_sets_the_limits_and_the_latency(http: httpx.Client) -> None:
    flags = ["--rpm", "60", "--tpm", "100000", "--concurrent", "4", "--latency", "0.05"]
    command = [sys.executable, "-m", "glm_magics.testing", "--port", "0", *flags]
    with subprocess.Popen(
        [*command, "--publish-limits"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().split(" on ")[1].split()[0]
        body = {"model": "glm-4-7-flash", "messages": [{"role": "user", "content": "Hi"}]}
        start = time.monotonic()
        answers = [http.post(base_url + "/chat/completions", json=body) for _ in range(3)]
        assert time.monotonic() - start >= 0.1  # two answers, 50 ms each
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[0].headers["x-ratelimit-limit-tokens"] == "100000"
        detail = http.get(base_url + "/models/glm-4-7-flash").json()
        assert detail["rate_limits"] == {"requests_per_minute": 60, "tokens_per_minute": 100000}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0


@pytest.mark.parametrize("flag", ["--rpm", "--tpm", "--concurrent"])
def test_the_command_line_wants_positive_limits(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([flag, "0"])
    assert f"{flag} must be positive" in capsys.readouterr().err
