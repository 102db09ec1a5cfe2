"""The local server as a slow or busy service: latency, statuses, and rate limits.

Plain httpx against a real :class:`LocalGLMServer` over loopback. Every wait here is
a fraction of a second (small latencies, high rates), so the timing assertions
leave wide margins on either side.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from glm_magics.testing import LocalGLMServer, Reply
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
