"""The local server's three answer routes behave alike where they should.

Chat completions, Responses and Messages differ in their shapes but share one
server: the ranges it publishes at ``GET /v1/models/{id}`` are enforced on each.
Plain httpx against a real :class:`LocalGLMServer`, so the raw bodies are checked.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Route:
    """One answer route: its path, a minimal valid body and its output-limit field."""

    api: str
    path: str
    body: dict[str, Any]
    max_tokens_field: str

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


ROUTES = [
    Route(
        "chat", "/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}, "max_tokens"
    ),
    Route("responses", "/responses", {"input": "Hi"}, "max_output_tokens"),
    Route(
        "messages",
        "/messages",
        {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100},
        "max_tokens",
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
