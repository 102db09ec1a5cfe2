"""The local server's three answer routes behave alike where they should.

Chat completions, Responses and Messages differ in their shapes but share one
server: the ranges it publishes at ``GET /v1/models/{id}`` are enforced on each,
and a reply's web search sources reach the client on each. Plain httpx against a
real :class:`LocalGLMServer`, so the raw bodies are checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from glm_magics.testing import LocalGLMServer, Reply

MODEL = "glm-4-7-flash"
NARROW = {
    "temperature": {"min": 0, "max": 0.5, "default": 0.3},
    "max_tokens": {"min": 1, "max": 1000, "default": 500},
}


SOURCES = [
    {
        "title": "Paris weather",
        "link": "https://example.org/paris",
        "content": "Sunny, 21 °C.",
        "media": "example.org",
        "publish_date": "2026-01-02",
        "refer": "ref_1",
    }
]


def sse_events(body: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """``(event name, data)`` for each event of an SSE body, split on the raw bytes."""
    events = []
    for block in re.split(rb"\r\n\r\n|\n\n|\r\r", body):
        fields = dict(
            line.decode().split(": ", 1) for line in re.split(rb"\r\n|\r|\n", block) if line
        )
        if fields.get("data", "[DONE]") != "[DONE]":
            events.append((fields.get("event"), json.loads(fields["data"])))
    return events


@dataclass(frozen=True)
class Route:
    """One answer route: its path, a minimal valid body, its output-limit field, and
    the first event of a stream with the key of the object it carries (``None``:
    the first event, whose payload is that object)."""

    api: str
    path: str
    body: dict[str, Any]
    max_tokens_field: str
    start_event: str | None
    start_object: str | None

    def post(self, server: LocalGLMServer, **changes: Any) -> httpx.Response:
        body = {"model": MODEL, **self.body, **changes}
        return httpx.post(server.base_url + self.path, json=body, timeout=5)

    def error_message(self, response: httpx.Response) -> str:
        """The error's message, after checking the body has this protocol's error shape."""
        body = response.json()
        error = body["error"]
        if self.api == "chat":
            assert set(error) == {"code", "message"}
            assert error["code"] == "1214"
        elif self.api == "responses":
            assert set(error) == {"message", "type", "param", "code"}
            assert (error["type"], error["code"]) == ("invalid_request_error", "1214")
        else:
            assert body["type"] == "error"
            assert set(error) == {"type", "message"}
            assert error["type"] == "invalid_request_error"
        return str(error["message"])

    def streamed_start(self, response: httpx.Response) -> dict[str, Any]:
        """The object the stream's first event carries (the chunk, response or message)."""
        name, data = sse_events(response.content)[0]
        assert name == self.start_event
        return data if self.start_object is None else dict(data[self.start_object])


HI = [{"role": "user", "content": "Hi"}]
ROUTES = [
    Route("chat", "/chat/completions", {"messages": HI}, "max_tokens", None, None),
    Route(
        "responses",
        "/responses",
        {"input": "Hi"},
        "max_output_tokens",
        "response.created",
        "response",
    ),
    Route(
        "messages",
        "/messages",
        {"messages": HI, "max_tokens": 100},
        "max_tokens",
        "message_start",
        "message",
    ),
]


@pytest.fixture
def narrow() -> Iterator[LocalGLMServer]:
    with LocalGLMServer(model_parameters=NARROW) as running:
        yield running


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_every_route_enforces_the_servers_temperature_range(
    narrow: LocalGLMServer, route: Route
) -> None:
    hot = route.post(narrow, temperature=0.8)  # inside the documented range, outside this one
    assert hot.status_code == 400
    assert route.error_message(hot) == (
        "Invalid parameter: 'temperature' must be between 0 and 0.5."
    )
    narrow.queue(Reply(text="Cool enough."))
    assert route.post(narrow, temperature=0.5).status_code == 200
    assert narrow.pending == 0


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_every_route_enforces_the_servers_max_tokens_range(
    narrow: LocalGLMServer, route: Route
) -> None:
    field = route.max_tokens_field
    long = route.post(narrow, **{field: 2000})
    assert long.status_code == 400
    assert route.error_message(long) == (
        f"Invalid parameter: '{field}' must be between 1 and 1000."
    )
    narrow.queue(Reply(text="Short enough."))
    assert route.post(narrow, **{field: 1000}).status_code == 200
    assert narrow.pending == 0


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_the_published_range_is_the_enforced_one(narrow: LocalGLMServer, route: Route) -> None:
    published = httpx.get(f"{narrow.base_url}/models/{MODEL}", timeout=5).json()["parameters"]
    assert published["temperature"] == NARROW["temperature"]
    assert published["top_p"]["min"] == 0.01  # not given: the documented range stays
    assert route.post(narrow, top_p=0).status_code == 400


@pytest.fixture
def server() -> Iterator[LocalGLMServer]:
    with LocalGLMServer() as running:
        yield running


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_every_route_streams_the_sources_once_at_the_start(
    server: LocalGLMServer, route: Route
) -> None:
    server.queue(Reply(text="Sunny [1].", web_search=SOURCES))
    response = route.post(server, stream=True)
    assert response.status_code == 200
    assert route.streamed_start(response)["web_search"] == SOURCES
    assert response.content.count(b'"web_search"') == 1


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_every_route_puts_the_sources_in_the_whole_body(
    server: LocalGLMServer, route: Route
) -> None:
    server.queue(Reply(text="Sunny [1].", web_search=SOURCES))
    body = route.post(server).json()
    assert body["web_search"] == SOURCES


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_no_sources_no_web_search_key(server: LocalGLMServer, route: Route) -> None:
    server.queue(Reply(text="No search."), Reply(text="No search."))
    assert b"web_search" not in route.post(server, stream=True).content
    assert "web_search" not in route.post(server).json()


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_the_default_reply_to_a_search_sends_stand_in_sources(
    server: LocalGLMServer, route: Route
) -> None:
    search = {"type": "web_search", "web_search": {"count": 2}}
    sources = route.streamed_start(route.post(server, stream=True, tools=[search]))["web_search"]
    assert [source["link"] for source in sources] == [
        "https://example.org/glm-magics-local-test/1",
        "https://example.org/glm-magics-local-test/2",
    ]
    assert route.post(server, tools=[search]).json()["web_search"] == sources
