"""Answers that depend on the request: a responder, and the canned reply in JSON mode.

Plain httpx against a real :class:`LocalGLMServer`: what a test scripts per request
(``server.responder``) and what the canned :func:`default_reply` makes of a JSON
schema in the system prompt, as a client sees them on the wire.
"""

from __future__ import annotations

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
