"""The local GLM test server, driven over loopback with plain httpx.

The recorded Z.ai traffic pins the wire format: a Reply built from a recording's
pieces must stream back the recorded bytes exactly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import glm_magics.testing as testing
from glm_magics.testing import LocalGLMServer, RecordedRequest, Reply, ToolCallSpec, tokenize

# tests/fixtures/recorded/ (see its README.md for where the recordings come from).
ZAI = Path(__file__).resolve().parent / "fixtures/recorded/zai-glm-4.7-flash"
STREAM_CASES = sorted(p.name.removesuffix(".response.sse") for p in ZAI.glob("*.response.sse"))
PROMPT = {"model": "glm-4-7-flash", "messages": [{"role": "user", "content": "Say hi"}]}
KEY = "sk-local-SECRET-7d1f"


@pytest.fixture
def server() -> Iterator[LocalGLMServer]:
    with LocalGLMServer() as running:
        yield running


@pytest.fixture
def client(server: LocalGLMServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5) as http:
        yield http


def payloads(body: bytes) -> list[str]:
    """The ``data:`` payloads of an SSE body (split on raw bytes, like a real client)."""
    lines = re.split(rb"\r\n|\r|\n", body)
    return [line[5:].strip().decode() for line in lines if line.startswith(b"data:")]


def chunks(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(p) for p in payloads(body) if p != "[DONE]"]


def deltas(body: bytes, key: str) -> str:
    return "".join(c["choices"][0]["delta"].get(key, "") for c in chunks(body) if c.get("choices"))


def post(client: httpx.Client, *, stream: bool = True, **extra: Any) -> httpx.Response:
    return client.post("/chat/completions", json={**PROMPT, "stream": stream, **extra})


def reply_from_recording(path: Path) -> Reply:
    """Rebuild a Reply from a recorded stream, independently of the library's parser."""
    reasoning: list[str] = []
    text: list[str] = []
    calls: list[ToolCallSpec] = []
    all_chunks = chunks(path.read_bytes())
    for chunk in all_chunks:
        choice = chunk["choices"][0]
        delta = choice["delta"]
        if "finish_reason" in choice:
            finish, usage = choice["finish_reason"], chunk["usage"]
        elif "tool_calls" in delta:
            for call in delta["tool_calls"]:
                function = call["function"]
                calls.append(ToolCallSpec(function["name"], function["arguments"], call["id"]))
        elif "reasoning_content" in delta:
            reasoning.append(delta["reasoning_content"])
        else:
            text.append(delta["content"])
    first = all_chunks[0]
    return Reply(
        reasoning_pieces=reasoning,
        text_pieces=text,
        tool_calls=calls,
        finish_reason=finish,
        usage=usage,
        id=first["id"],
        created=first["created"],
        model=first["model"],
    )


# -- the wire format, pinned by the recordings ------------------------------------


@pytest.mark.parametrize("case", STREAM_CASES)
def test_stream_reproduces_recording_byte_for_byte(
    server: LocalGLMServer, client: httpx.Client, case: str
) -> None:
    recorded = (ZAI / f"{case}.response.sse").read_bytes()
    request = json.loads((ZAI / f"{case}.request.json").read_bytes())
    reply = reply_from_recording(ZAI / f"{case}.response.sse")
    assert Reply.from_recorded(ZAI / f"{case}.response.sse", verbatim=False) == reply
    server.queue(reply)
    response = client.post("/chat/completions", json=request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == recorded


def test_non_stream_reproduces_recording_byte_for_byte(
    server: LocalGLMServer, client: httpx.Client
) -> None:
    recorded = (ZAI / "tool-turn0.response.json").read_bytes()
    expected = json.loads(recorded)
    message = expected["choices"][0]["message"]
    call = message["tool_calls"][0]
    server.queue(
        Reply(
            text=message["content"],
            reasoning=message["reasoning_content"],
            tool_calls=[
                ToolCallSpec(call["function"]["name"], call["function"]["arguments"], call["id"])
            ],
            usage=expected["usage"],
            id=expected["id"],
            created=expected["created"],
        )
    )
    request = (ZAI / "tool-turn0.request.json").read_bytes()
    response = client.post("/chat/completions", content=request)
    assert response.headers["content-type"] == "application/json"
    assert response.content == recorded


def test_generated_tool_call_ids_are_stable(server: LocalGLMServer, client: httpx.Client) -> None:
    call = ToolCallSpec("weather", '{"location":"Rome"}')
    server.queue(Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    first, second = (post(client, stream=False).json() for _ in range(2))
    ids = [body["choices"][0]["message"]["tool_calls"][0]["id"] for body in (first, second)]
    assert ids[0] == ids[1]
    assert re.fullmatch(r"call_[0-9a-f]{24}", ids[0])
    assert first["id"] != second["id"]


def test_non_stream_has_the_recorded_keys(server: LocalGLMServer, client: httpx.Client) -> None:
    expected = json.loads((ZAI / "simple-turn0.response.json").read_bytes())
    server.queue(Reply(text="Olá!", reasoning="Portuguese."))
    body = post(client, stream=False).json()
    assert list(body) == list(expected)
    assert list(body["usage"]) == list(expected["usage"])
    assert body["choices"][0].keys() == expected["choices"][0].keys()
    assert body["choices"][0]["message"] == {
        "content": "Olá!",
        "reasoning_content": "Portuguese.",
        "role": "assistant",
    }
    assert body["id"] == body["request_id"]
    assert body["model"] == "glm-4-7-flash"


@pytest.mark.parametrize("name", ["simple-stream-turn0.response.sse", "tool-turn0.response.json"])
def test_raw_body_replays_file_verbatim(
    server: LocalGLMServer, client: httpx.Client, name: str
) -> None:
    server.queue(Reply.from_recorded(ZAI / name))
    response = post(client, stream=name.endswith(".sse"))
    assert response.content == (ZAI / name).read_bytes()
    kind = "text/event-stream" if name.endswith(".sse") else "application/json"
    assert response.headers["content-type"].startswith(kind)


def test_computed_usage_and_stream_shape(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="Hi there.", reasoning="Greet them."))
    body = post(client).content
    assert body.endswith(b"data: [DONE]\n\n")
    parsed = chunks(body)
    assert list(parsed[0]) == ["id", "created", "object", "model", "choices"]
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "reasoning_content": "Greet"}
    assert deltas(body, "reasoning_content") == "Greet them."
    assert deltas(body, "content") == "Hi there."
    finish = parsed[-1]
    assert finish["choices"][0] == {
        "index": 0,
        "finish_reason": "stop",
        "delta": {"role": "assistant", "content": ""},
    }
    assert finish["usage"] == {
        "prompt_tokens": 2,
        "completion_tokens": 6,
        "total_tokens": 8,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    assert len({c["id"] for c in parsed}) == 1


def test_tokenizer_pieces_join_back_and_look_like_glm() -> None:
    assert tokenize("Hi there.\n\nIt's 2026!") == [
        "Hi",
        " there",
        ".\n\n",
        "It",
        "'s",
        " ",
        "202",
        "6",
        "!",
    ]
    for path in ZAI.glob("*.response.json"):
        message = json.loads(path.read_bytes())["choices"][0]["message"]
        for text in (message["content"], message["reasoning_content"]):
            assert "".join(tokenize(text)) == text
    assert "".join(tokenize("a_b\u2028c\r\n\t 🙂  x")) == "a_b\u2028c\r\n\t 🙂  x"


def test_chunk_size_groups_pieces(server: LocalGLMServer, client: httpx.Client) -> None:
    server.chunk_size = 3
    server.queue(Reply(text="one two three four five"))
    body = post(client).content
    texts = [c["choices"][0]["delta"]["content"] for c in chunks(body)[:-1]]
    assert texts == ["one two three", " four five"]


# -- faults ---------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_http_error_with_retry_after(
    server: LocalGLMServer, client: httpx.Client, stream: bool
) -> None:
    server.queue(Reply.error(429, message="Too many requests", retry_after=2))
    response = post(client, stream=stream)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": "1302", "message": "Too many requests"}}


def test_plain_status_gets_zai_defaults(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(status=503))
    response = post(client)
    assert response.status_code == 503
    assert "retry-after" not in response.headers
    assert response.json() == {"error": {"code": "1305", "message": "Service Unavailable"}}


def test_disconnect_after_truncates_the_body(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a b c d e f g", disconnect_after=3))
    received: list[bytes] = []

    def read_all(response: httpx.Response) -> None:
        received.extend(response.iter_bytes())

    with (
        client.stream("POST", "/chat/completions", json={**PROMPT, "stream": True}) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        read_all(response)
    assert len(payloads(b"".join(received))) == 3


def test_malformed_line_then_the_stream_goes_on(
    server: LocalGLMServer, client: httpx.Client
) -> None:
    server.queue(Reply(text="a b c", malformed_after=1))
    found = payloads(post(client).content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(found[1])
    assert found[-1] == "[DONE]"
    assert "".join(json.loads(p)["choices"][0]["delta"]["content"] for p in found[2:-1]) == " b c"


def test_stall_then_stop_returns_quickly(server: LocalGLMServer) -> None:
    server.queue(Reply(text="a b c", stall_after=1, stall_seconds=30))
    first_event, outcome = threading.Event(), []

    def consume() -> None:
        with httpx.Client(timeout=10) as http:
            try:
                url = server.base_url + "/chat/completions"
                with http.stream("POST", url, json={**PROMPT, "stream": True}) as response:
                    for _ in response.iter_bytes():
                        first_event.set()
            except httpx.HTTPError as error:
                outcome.append(error)

    thread = threading.Thread(target=consume)
    thread.start()
    assert first_event.wait(5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome[0], httpx.RemoteProtocolError)
    assert not server.requests[0].client_disconnected


def test_stream_error_event_ends_the_stream(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a b c", stream_error=("1301", "unsafe content"), stream_error_after=2))
    response = post(client)
    assert response.status_code == 200
    found = payloads(response.content)
    assert len(found) == 3
    assert json.loads(found[-1]) == {"error": {"code": "1301", "message": "unsafe content"}}


@pytest.mark.parametrize("reason", ["sensitive", "length"])
def test_cut_short_finish_reasons(
    server: LocalGLMServer, client: httpx.Client, reason: str
) -> None:
    server.queue(Reply(text="partial", finish_reason=reason))
    assert chunks(post(client).content)[-1]["choices"][0]["finish_reason"] == reason


def test_done_false_ends_after_the_finish_chunk(
    server: LocalGLMServer, client: httpx.Client
) -> None:
    server.queue(Reply(text="x", done=False))
    found = payloads(post(client).content)
    assert "[DONE]" not in found
    assert json.loads(found[-1])["choices"][0]["finish_reason"] == "stop"


def test_ttft_and_pacing(server: LocalGLMServer, client: httpx.Client) -> None:
    server.ttft, server.tokens_per_second = 0.15, 100.0
    server.queue(Reply(text=" a" * 10), Reply(text=" a" * 10, ttft=0, tokens_per_second=0))
    started = time.monotonic()
    post(client)
    paced = time.monotonic() - started
    assert paced >= 0.15 + 0.08  # the first token waited, then 9 more at 100 per second
    started = time.monotonic()
    post(client)
    assert time.monotonic() - started < paced  # the overrides turned both off


# -- wire variants ----------------------------------------------------------------


def test_reasoning_field_variant(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a", reasoning="think", reasoning_field="reasoning"))
    body = post(client).content
    assert deltas(body, "reasoning") == "think"
    assert b"reasoning_content" not in body


def test_null_finish_reason_variant(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a b", null_finish_reason=True))
    parsed = chunks(post(client).content)
    assert all(list(c["choices"][0]) == ["index", "finish_reason", "delta"] for c in parsed)
    assert [c["choices"][0]["finish_reason"] for c in parsed] == [None, None, "stop"]


def test_separate_usage_variant(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a", separate_usage=True))
    parsed = chunks(post(client).content)
    assert "usage" not in parsed[-2]
    assert parsed[-2]["choices"][0]["finish_reason"] == "stop"
    assert parsed[-1]["choices"] == []
    assert parsed[-1]["usage"]["completion_tokens"] == 1


def test_comments_and_crlf_variant(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a b", comments=True, line_ending="\r\n"))
    body = post(client).content
    assert body.startswith(b": keep-alive\r\n\r\ndata: {")
    assert body.count(b": keep-alive\r\n\r\n") == 4
    assert b"\n\n" not in body.replace(b"\r\n", b"")
    assert deltas(body, "content") == "a b"
    assert payloads(body)[-1] == "[DONE]"


@pytest.mark.parametrize(("requested", "override"), [(True, None), (False, True)])
def test_tool_stream_fragments_reassemble(
    server: LocalGLMServer, client: httpx.Client, requested: bool, override: bool | None
) -> None:
    arguments = '{"location":"Florence, Italy","unit":"celsius"}'
    calls = [ToolCallSpec("weather", arguments), ToolCallSpec("clock", '{"tz":"CET"}', "call_2")]
    server.queue(Reply(text="Checking.", tool_calls=calls, tool_stream=override))
    parsed = chunks(post(client, tool_stream=requested).content)
    fragments = [f for c in parsed for f in c["choices"][0]["delta"].get("tool_calls", [])]
    assert len(fragments) > 4
    joined: dict[int, dict[str, str]] = {}
    for fragment in fragments:
        if fragment["index"] not in joined:
            assert fragment["type"] == "function"
            assert fragment["id"].startswith("call_")
            joined[fragment["index"]] = {"name": fragment["function"]["name"], "arguments": ""}
        else:
            assert "id" not in fragment
            assert "name" not in fragment["function"]
        joined[fragment["index"]]["arguments"] += fragment["function"]["arguments"]
    assert joined == {
        0: {"name": "weather", "arguments": arguments},
        1: {"name": "clock", "arguments": '{"tz":"CET"}'},
    }
    assert parsed[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_call_is_one_delta_without_tool_stream(
    server: LocalGLMServer, client: httpx.Client
) -> None:
    server.queue(Reply(tool_calls=[ToolCallSpec("weather", '{"location":"Rome"}', "call_1")]))
    parsed = chunks(post(client).content)
    assert parsed[0]["choices"][0]["delta"] == {
        "tool_calls": [
            {
                "id": "call_1",
                "index": 0,
                "type": "function",
                "function": {"name": "weather", "arguments": '{"location":"Rome"}'},
            }
        ]
    }


# -- default reply ------------------------------------------------------------------


def test_default_reply_is_deterministic_and_honest(client: httpx.Client) -> None:
    ask: dict[str, Any] = {
        "messages": [{"role": "user", "content": "Write a python function to plot sales"}]
    }
    first, second = (post(client, **ask).content for _ in range(2))
    text = deltas(first, "content")
    assert text == deltas(second, "content")
    assert deltas(first, "reasoning_content")
    assert "local test server, not the model" in text
    assert "> Write a python function to plot sales" in text
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code is not None
    compile(code.group(1), "<default reply>", "exec")


def test_default_reply_without_code_request(client: httpx.Client) -> None:
    body = post(client, stream=False).json()
    text = body["choices"][0]["message"]["content"]
    assert "local test server" in text
    assert "> Say hi" in text
    assert "```" not in text


# -- validation, keys and records --------------------------------------------------


def test_validation_errors(client: httpx.Client) -> None:
    bad_json = client.post("/chat/completions", content=b"{nope")
    assert (bad_json.status_code, bad_json.json()["error"]["code"]) == (400, "1214")
    unknown = post(client, model="gpt-4o")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "1211")
    too_hot = post(client, temperature=1.5)
    assert (too_hot.status_code, too_hot.json()["error"]["code"]) == (400, "1214")
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "404"


def test_require_key() -> None:
    with LocalGLMServer(require_key=KEY) as guarded, httpx.Client() as client:
        url = guarded.base_url + "/chat/completions"
        missing = client.post(url, json=PROMPT)
        wrong = client.post(url, json=PROMPT, headers={"Authorization": "Bearer nope"})
        right = client.post(url, json=PROMPT, headers={"Authorization": f"Bearer {KEY}"})
        assert (missing.status_code, missing.json()["error"]["code"]) == (401, "1001")
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "1002")
        assert right.status_code == 200
        records = guarded.requests
        assert records[2].headers["authorization"] == "Bearer ***"
        assert KEY not in repr(records)
        assert KEY not in repr(vars(guarded))


def test_requests_are_recorded_and_redacted(
    server: LocalGLMServer, client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    client.post(
        "/chat/completions",
        json={**PROMPT, "stream": False},
        headers={"Authorization": f"Bearer {KEY}", "X-Api-Key": KEY},
    )
    (record,) = server.wait_for_requests(1)
    assert isinstance(record, RecordedRequest)
    assert (record.method, record.path) == ("POST", "/v1/chat/completions")
    assert record.body == {**PROMPT, "stream": False}
    assert record.headers["authorization"] == "Bearer ***"
    assert record.headers["x-api-key"] == "***"
    assert KEY not in repr(record)
    assert not record.client_disconnected
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err


def test_client_disconnected_flips_mid_stream(server: LocalGLMServer, client: httpx.Client) -> None:
    server.tokens_per_second = 50
    server.queue(Reply(text=" word" * 200), Reply(text="a b", stall_after=2, stall_seconds=30))
    for _ in range(2):
        with client.stream("POST", "/chat/completions", json={**PROMPT, "stream": True}) as r:
            next(r.iter_bytes())
        record = server.wait_for_disconnect(timeout=2)
        assert record.client_disconnected


def test_queue_pending_clear_and_wait(server: LocalGLMServer, client: httpx.Client) -> None:
    server.queue(Reply(text="one"), Reply(text="two"))
    assert server.pending == 2
    assert deltas(post(client).content, "content") == "one"
    assert server.pending == 1
    server.clear()
    assert (server.pending, server.requests) == (0, [])
    with pytest.raises(TimeoutError):
        server.wait_for_requests(1, timeout=0.05)


def test_models_routes(client: httpx.Client) -> None:
    listing = client.get("/models").json()
    assert listing["object"] == "list"
    ids = [m["id"] for m in listing["data"]]
    assert {"glm-4-7-flash", "glm-4.7-flash"} <= set(ids)
    assert set(listing["data"][0]) == {"id", "object", "created", "owned_by"}
    detail = client.get("/models/glm-4-7-flash").json()
    assert detail["id"] == "glm-4-7-flash"
    assert detail["parameters"]["temperature"] == {"min": 0.0, "max": 1.0, "default": 1.0}
    assert detail["parameters"]["max_tokens"]["max"] == 131072
    assert detail["parameters"]["context_window"] == 200000
    unknown = client.get("/models/gpt-4o")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "1211")


def test_exported_members() -> None:
    assert set(testing.__all__) >= {"LocalGLMServer", "Reply", "ToolCallSpec", "RecordedRequest"}
    for name in testing.__all__:
        assert hasattr(testing, name)


def test_cli_serves_and_exits_cleanly() -> None:
    env = {**os.environ, "GLM_LOCAL_TEST_KEY": KEY}
    command = [sys.executable, "-m", "glm_magics.testing", "--port", "0"]
    command += ["--require-key-env", "GLM_LOCAL_TEST_KEY"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+/v1) \(not the real model\)", first)
        assert match, first
        headers = {"Authorization": f"Bearer {KEY}"}
        assert httpx.get(match.group(1) + "/models", headers=headers).status_code == 200
        assert httpx.get(match.group(1) + "/models").status_code == 401
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=5)
    assert process.returncode == 0
    assert "Traceback" not in err
    assert KEY not in first + out + err
