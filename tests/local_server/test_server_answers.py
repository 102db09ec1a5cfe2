"""Answers that depend on the request: a responder, and the canned reply in JSON mode.

Plain httpx against a real :class:`LocalGLMServer`: what a test scripts per request
(``server.responder``) and what the canned :func:`default_reply` makes of a JSON
schema in the system prompt, as a client sees them on the wire.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from glm_magics.testing import LocalGLMServer, Reply
from tests.test_server_routes import ROUTES, Route

MODEL = "glm-4-7-flash"


def ask(http: httpx.Client, server: LocalGLMServer, prompt: str, **extra: Any) -> httpx.Response:
    messages = [{"role": "user", "content": prompt}]
    body = {"model": MODEL, "messages": messages, **extra}
    return http.post(server.base_url + "/chat/completions", json=body)


def text_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


# the responder ------------------------------------------------------------------


def echo_value(request: dict[str, Any]) -> Reply | None:
    """Answers ``value=…`` found in the last message; leaves other prompts to the default."""
    found = re.search(r"value=(\w+)", str(request["messages"][-1]["content"]))
    return Reply(text=f"got {found.group(1)}") if found else None


def test_the_responder_answers_each_request_from_its_prompt(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    server.responder = echo_value
    answers = [text_of(ask(http, server, f"Row {n}: value=v{n}")) for n in range(3)]
    assert answers == ["got v0", "got v1", "got v2"]


def test_queued_replies_win_over_the_responder(http: httpx.Client, server: LocalGLMServer) -> None:
    server.responder = echo_value
    server.queue(Reply(text="scripted"))
    assert text_of(ask(http, server, "value=a")) == "scripted"
    assert text_of(ask(http, server, "value=b")) == "got b"


def test_a_responder_that_declines_leaves_the_canned_reply(http: httpx.Client) -> None:
    with LocalGLMServer(responder=echo_value) as server:
        assert "local test server" in text_of(ask(http, server, "no marker here"))


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_the_responder_sees_every_route_as_chat_messages(
    http: httpx.Client, server: LocalGLMServer, route: Route
) -> None:
    seen: list[dict[str, Any]] = []

    def record(request: dict[str, Any]) -> Reply:
        seen.append(request)
        return Reply(text="ok")

    server.responder = record
    body = {"model": MODEL, **route.body}
    assert http.post(server.base_url + route.path, json=body).status_code == 200
    (request,) = seen
    assert request["messages"][-1] == {"role": "user", "content": "Hi"}


def test_a_responder_that_raises_answers_500_and_says_why(
    http: httpx.Client, server: LocalGLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(request: dict[str, Any]) -> Reply:
        raise ValueError("no row 7")

    server.responder = broken
    response = ask(http, server, "Hi")
    assert response.status_code == 500
    assert "ValueError: no row 7" in response.json()["error"]["message"]
    assert "Traceback" in capsys.readouterr().err


# the canned reply in JSON mode ----------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "number"},
        "count": {"type": "integer"},
        "in_stock": {"type": "boolean"},
        "size": {"type": "string", "enum": ["small", "large"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "maker": {"type": "object", "properties": {"city": {"type": "string"}}},
        "note": {"type": ["string", "null"]},
    },
    "required": ["name", "price"],
}
SYSTEM = (
    "You label products.\n"
    f"Answer with one JSON object that matches this JSON schema: {json.dumps(SCHEMA)}\n"
    "No prose."
)
ROW = "Product: Blue kettle, 1.7 litres, steel"
JSON_MODE = {"type": "json_object"}


def json_mode_body(route: Route, system: str, prompt: str) -> dict[str, Any]:
    """A JSON-mode request with a system prompt, in the route's own shape."""
    user = [{"role": "user", "content": prompt}]
    if route.api == "chat":
        messages = [{"role": "system", "content": system}, *user]
        return {"messages": messages, "response_format": JSON_MODE}
    if route.api == "responses":
        return {"instructions": system, "input": prompt, "text": {"format": JSON_MODE}}
    return {"system": system, "messages": user, "max_tokens": 100, "response_format": JSON_MODE}


def answer_text(route: Route, response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    if route.api == "chat":
        return str(body["choices"][0]["message"]["content"])
    if route.api == "responses":
        (message,) = [item for item in body["output"] if item["type"] == "message"]
        return str(message["content"][0]["text"])
    (text,) = [block["text"] for block in body["content"] if block["type"] == "text"]
    return str(text)


def json_answer(
    http: httpx.Client, server: LocalGLMServer, prompt: str, route: Route = ROUTES[0]
) -> Any:
    body = {"model": MODEL, **json_mode_body(route, SYSTEM, prompt)}
    return json.loads(answer_text(route, http.post(server.base_url + route.path, json=body)))


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.api)
def test_json_mode_with_a_schema_answers_every_property_with_its_type(
    http: httpx.Client, server: LocalGLMServer, route: Route
) -> None:
    answer = json_answer(http, server, ROW, route)
    assert set(answer) == set(SCHEMA["properties"])
    assert isinstance(answer["name"], str) and answer["name"] in ROW
    for number in ("price", "count"):
        assert isinstance(answer[number], int | float) and not isinstance(answer[number], bool)
    assert isinstance(answer["count"], int)
    assert isinstance(answer["in_stock"], bool)
    assert answer["size"] == "small"
    assert answer["tags"] == []
    assert isinstance(answer["maker"]["city"], str)
    assert isinstance(answer["note"], str)


def test_the_values_follow_the_prompt(http: httpx.Client, server: LocalGLMServer) -> None:
    assert json_answer(http, server, ROW) == json_answer(http, server, ROW)
    rows = [json_answer(http, server, f"Product number {n}") for n in range(6)]
    assert len({row["price"] for row in rows}) > 1
    assert [row["name"] for row in rows] == [f"Product number {n}" for n in range(6)]


@pytest.mark.parametrize(
    "system",
    ["You label products.", "JSON schema: {not json", 'JSON schema: {"type": "string"}'],
    ids=["no marker", "not JSON", "no properties"],
)
def test_without_an_object_schema_json_mode_answers_as_before(
    http: httpx.Client, server: LocalGLMServer, system: str
) -> None:
    body = {"model": MODEL, **json_mode_body(ROUTES[0], system, ROW)}
    answer = json.loads(
        answer_text(ROUTES[0], http.post(server.base_url + "/chat/completions", json=body))
    )
    assert answer == {"notice": "local test server, not the model", "you_asked": ROW}


def test_a_schema_outside_json_mode_changes_nothing(
    http: httpx.Client, server: LocalGLMServer
) -> None:
    body = {"model": MODEL, **json_mode_body(ROUTES[0], SYSTEM, ROW)}
    del body["response_format"]
    text = answer_text(ROUTES[0], http.post(server.base_url + "/chat/completions", json=body))
    assert "local test server" in text
