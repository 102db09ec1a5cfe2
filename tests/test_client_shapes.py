"""GLMClient against hand-made responses (httpx.MockTransport): every wire shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from glm_magics import (
    AuthenticationError,
    ChatResult,
    ConfigurationError,
    ContentFilteredError,
    GLMClient,
    GLMError,
    InStreamError,
    ParameterError,
    QuotaExceededError,
    RateLimitError,
    Session,
    StreamError,
    TextDelta,
    ToolCall,
    TruncatedStreamError,
    Usage,
)
from glm_magics.events import Finished, ReasoningDelta, RetryScheduled, ToolCallDelta
from glm_magics.wire.retry import RetryPolicy

MESSAGES = [{"role": "user", "content": "hi"}]
FAST = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.002)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}}
    if finish is not None:
        choice["finish_reason"] = finish
    payload = {"id": "x1", "model": "glm-4.7-flash", "choices": [choice], **extra}
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def sse_client(
    body: bytes | Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request] | None = None
) -> GLMClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if callable(body):
            return body(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return GLMClient(
        "test-key",
        "https://glm.invalid/v1",
        transport=httpx.MockTransport(handler),
        retry_policy=FAST,
    )


def chunked(body: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


USAGE = {
    "prompt_tokens": 5,
    "completion_tokens": 7,
    "total_tokens": 12,
    "prompt_tokens_details": {"cached_tokens": 2},
    "completion_tokens_details": {"reasoning_tokens": 3},
}


def test_reasoning_then_text_with_usage_in_finish_chunk() -> None:
    body = (
        chunk({"role": "assistant", "reasoning_content": "think "})
        + chunk({"role": "assistant", "reasoning_content": "hard"})
        + chunk({"role": "assistant", "content": "Olá"})
        + chunk({"role": "assistant", "content": "!"})
        + chunk({"role": "assistant", "content": ""}, finish="stop", usage=USAGE)
        + b"data: [DONE]\n\n"
    )
    with sse_client(body).stream(MESSAGES) as stream:
        events = list(stream)
    assert [type(e).__name__ for e in events] == [
        "ReasoningDelta", "ReasoningDelta", "TextDelta", "TextDelta", "Finished", "UsageReported",
    ]  # fmt: skip
    result = stream.result
    assert (result.reasoning, result.text, result.finish_reason) == ("think hard", "Olá!", "stop")
    assert result.usage == Usage(5, 7, 12, reasoning_tokens=3, cached_tokens=2)
    assert result.model == "glm-4.7-flash"
    assert result.timings["total"] >= result.timings["ttft"] > 0


def test_other_hosts_shapes_reasoning_field_null_finish_separate_usage_no_done() -> None:
    body = (
        b": keep-alive\r\n\r\n"
        + chunk({"reasoning": "r"}, finish=None).replace(
            b'"delta"', b'"finish_reason":null,"delta"'
        )
        + chunk({"content": "t"}).replace(b'"delta"', b'"finish_reason":null,"delta"')
        + chunk({}, finish="stop")
        + b'data: {"id":"x1","choices":[],"usage":'
        + json.dumps(USAGE).encode()
        + b"}\n\n"
    )
    result = sse_client(body).chat(MESSAGES)
    assert (result.reasoning, result.text, result.finish_reason) == ("r", "t", "stop")
    assert result.usage.total_tokens == 12


def test_tool_call_fragments_by_index_and_whole() -> None:
    body = (
        chunk({"tool_calls": [{"index": 0, "id": "c0", "type": "function",
                               "function": {"name": "weather", "arguments": '{"loc'}}]})
        + chunk({"tool_calls": [{"index": 1, "id": "c1", "type": "function",
                                 "function": {"name": "time", "arguments": "{}"}}]})
        + chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ation":"Rome"}'}}]})
        + chunk({}, finish="tool_calls")
        + b"data: [DONE]\n\n"
    )  # fmt: skip
    stream = sse_client(body).stream(MESSAGES)
    fragments = [e for e in stream if isinstance(e, ToolCallDelta)]
    assert len(fragments) == 3
    calls = stream.result.tool_calls
    assert calls == [
        ToolCall("c0", "weather", '{"location":"Rome"}'),
        ToolCall("c1", "time", "{}"),
    ]
    assert calls[0].parsed_arguments() == {"location": "Rome"}
    assert stream.result.to_message()["tool_calls"][0]["function"]["name"] == "weather"


def test_bytes_split_one_at_a_time_give_the_same_result() -> None:
    body = (
        chunk({"content": "a\u2028b 你好"})
        + chunk({"content": " 😀"}, finish="stop")
        + b"data: [DONE]\n\n"
    )

    def one_byte_at_a_time(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunked(body, 1))

    assert sse_client(one_byte_at_a_time).chat(MESSAGES).text == "a\u2028b 你好 😀"


def test_error_payload_inside_200_stream() -> None:
    body = chunk({"content": "part"}) + b'data: {"error":{"code":"1234","message":"boom"}}\n\n'
    with pytest.raises(InStreamError) as info:
        sse_client(body).chat(MESSAGES)
    assert info.value.code == "1234"
    assert "boom" in str(info.value)
    assert info.value.partial is not None and info.value.partial.text == "part"


def test_content_filter_by_code_and_by_finish_reason() -> None:
    body = b'data: {"error":{"code":"1301","message":"unsafe"}}\n\n'
    with pytest.raises(ContentFilteredError):
        sse_client(body).chat(MESSAGES)
    body = chunk({"content": "x"}) + chunk({}, finish="sensitive") + b"data: [DONE]\n\n"
    with pytest.raises(ContentFilteredError) as info:
        sse_client(body).chat(MESSAGES)
    assert info.value.partial is not None and info.value.partial.text == "x"


def test_stream_ending_without_finish_reason_is_truncated_not_success() -> None:
    body = chunk({"content": "half an ans"})
    with pytest.raises(TruncatedStreamError) as info:
        sse_client(body).chat(MESSAGES)
    assert info.value.partial is not None and info.value.partial.text == "half an ans"
    body = chunk({"content": "x"}) + b"data: [DONE]\n\n"
    with pytest.raises(TruncatedStreamError):
        sse_client(body).chat(MESSAGES)


def test_malformed_event_is_a_stream_error() -> None:
    body = chunk({"content": "x"}) + b'data: {"id": "x1", "choi\n\n'
    with pytest.raises(StreamError, match="malformed"):
        sse_client(body).chat(MESSAGES)


def test_status_errors_carry_code_and_say_what_to_do() -> None:
    def unauthorized(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "1002", "message": "bad token"}})

    with pytest.raises(AuthenticationError) as info:
        sse_client(unauthorized).chat(MESSAGES)
    assert info.value.status_code == 401 and info.value.code == "1002"
    assert "EMPIRIOLABS_API_KEY" in str(info.value) and "%glm key" in str(info.value)


def test_rate_limit_is_retried_then_raised_with_visible_notices() -> None:
    seen: list[httpx.Request] = []

    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers={"retry-after": "0"}, json={"error": {"code": "1302", "message": "slow"}}
        )

    stream = sse_client(limited, seen).stream(MESSAGES)
    notices: list[RetryScheduled] = []
    with pytest.raises(RateLimitError):  # noqa: PT012 - the error ends the iteration
        for event in stream:
            assert isinstance(event, RetryScheduled)
            notices.append(event)
    assert len(seen) == 4
    assert [n.message for n in notices] == [
        f"rate limited (1302), retrying in 0.0 s, attempt {i} of 4" for i in (2, 3, 4)
    ]


def test_quota_error_is_not_retried() -> None:
    seen: list[httpx.Request] = []

    def broke(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": {"code": "1113", "message": "arrears"}})

    with pytest.raises(QuotaExceededError):
        sse_client(broke, seen).chat(MESSAGES)
    assert len(seen) == 1


def test_server_error_then_success_recovers() -> None:
    replies = iter(
        [
            httpx.Response(503, json={"error": {"code": "500", "message": "busy"}}),
            httpx.Response(200, content=chunk({"content": "ok"}, finish="stop")),
        ]
    )
    result = sse_client(lambda request: next(replies)).chat(MESSAGES)
    assert result.text == "ok"


def test_non_streaming_completion_and_its_errors() -> None:
    payload = {
        "choices": [{"finish_reason": "stop", "index": 0,
                     "message": {"content": "Olá", "reasoning_content": "r", "role": "assistant"}}],
        "id": "i", "model": "glm-4.7-flash", "object": "chat.completion", "usage": USAGE,
    }  # fmt: skip
    seen: list[httpx.Request] = []
    result = sse_client(lambda r: httpx.Response(200, json=payload), seen).chat(
        MESSAGES, stream=False
    )
    assert (result.text, result.reasoning, result.usage.cached_tokens) == ("Olá", "r", 2)
    assert "stream" not in json.loads(seen[0].content)
    payload["choices"][0]["finish_reason"] = "sensitive"  # type: ignore[index]
    with pytest.raises(ContentFilteredError):
        sse_client(lambda r: httpx.Response(200, json=payload)).chat(MESSAGES, stream=False)


def test_request_body_headers_and_parameters() -> None:
    seen: list[httpx.Request] = []
    body = chunk({"content": "x"}, finish="stop")
    sse_client(body, seen).chat(
        MESSAGES, model="glm-4.7", temperature=0.5, stop="END", thinking=False, max_tokens=10
    )
    sent = json.loads(seen[0].content)
    assert sent == {
        "model": "glm-4.7",
        "messages": MESSAGES,
        "temperature": 0.5,
        "stop": ["END"],
        "thinking": {"type": "disabled"},
        "max_tokens": 10,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert seen[0].headers["authorization"] == "Bearer test-key"
    assert seen[0].url == "https://glm.invalid/v1/chat/completions"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"temperature": 1.5}, "temperature must be between 0 and 1"),
        ({"top_p": 0}, "top_p must be between 0.01 and 1"),
        ({"max_tokens": 0}, "max_tokens must be between 1 and 131072"),
        ({"max_tokens": 2.5}, "whole number"),
        ({"stop": ["a", "b"]}, "one non-empty string"),
        ({"thinking": "maybe"}, "thinking must be"),
        ({"response_format": "yaml"}, "json_object"),
        ({"temprature": 0.1}, "Did you mean 'temperature'"),
        ({"tool_choice": "required"}, "auto"),
        ({"do_sample": "yes"}, "True or False"),
    ],
)
def test_parameters_are_validated_before_sending(params: dict[str, Any], message: str) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ParameterError, match=message):
        sse_client(b"", seen).chat(MESSAGES, **params)
    assert seen == []


def test_bad_messages_are_refused() -> None:
    client = sse_client(b"")
    with pytest.raises(ParameterError):
        client.chat("hi")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="role"):
        client.chat([{"role": "bot", "content": "x"}])


def test_configuration_order_explicit_session_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPIRIOLABS_API_KEY", "from-env")
    monkeypatch.setenv("GLM_BASE_URL", "https://env.invalid/v1/")
    monkeypatch.setenv("GLM_MODEL", "env-model")
    client = GLMClient()
    assert (client.base_url, client.model) == ("https://env.invalid/v1", "env-model")
    assert client._connection.headers(stream=True)["Authorization"] == "Bearer from-env"
    session = Session()
    session.settings.base_url, session.settings.model = "https://set.invalid/v1", "set-model"
    session.api_key = "from-session"
    assert (session.client.base_url, session.model) == ("https://set.invalid/v1", "set-model")
    auth = session.client._connection.headers(stream=True)["Authorization"]
    assert auth == "Bearer from-session"
    explicit = GLMClient("explicit", "https://x.invalid/v1", model="m")
    assert (explicit.base_url, explicit.model) == ("https://x.invalid/v1", "m")
    assert explicit._connection.headers(stream=True)["Authorization"] == "Bearer explicit"
    assert "explicit" not in repr(explicit) and "api_key=set" in repr(explicit)


def test_missing_key_for_remote_service_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMPIRIOLABS_API_KEY", raising=False)
    monkeypatch.delenv("GLM_BASE_URL", raising=False)
    client = GLMClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    assert client.base_url == "https://api.empiriolabs.ai/v1"
    with pytest.raises(ConfigurationError, match="EMPIRIOLABS_API_KEY"):
        client.chat(MESSAGES)
    local = GLMClient(base_url="http://127.0.0.1:9/v1")
    assert "Authorization" not in local._connection.headers(stream=True)


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not an http"):
        GLMClient(base_url="api.empiriolabs.ai")


def test_result_message_keeps_reasoning_only_around_tool_calls() -> None:
    plain = ChatResult(text="a", reasoning="r")
    assert plain.to_message() == {"role": "assistant", "content": "a"}
    tool = ChatResult(text="", reasoning="r", tool_calls=[ToolCall("c", "f", "{}")])
    assert tool.to_message()["reasoning_content"] == "r"


def test_events_are_typed() -> None:
    body = chunk({"reasoning_content": "r"}) + chunk({"content": "t"}, finish="stop")
    events = list(sse_client(body).stream(MESSAGES))
    assert events[0] == ReasoningDelta("r")
    assert events[1] == TextDelta("t")
    assert events[2] == Finished("stop")


def test_json_error_body_on_a_streamed_request_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    error = {"error": {"code": "1261", "message": "Prompt too long"}}
    with pytest.raises(InStreamError, match="Prompt too long"):
        sse_client(lambda r: httpx.Response(200, json=error), seen).chat(MESSAGES)
    assert len(seen) == 1


def test_json_completion_on_a_streamed_request_is_accepted() -> None:
    payload = {"choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "whole"}}]}  # fmt: skip
    assert sse_client(lambda r: httpx.Response(200, json=payload)).chat(MESSAGES).text == "whole"


def test_html_page_instead_of_a_stream_says_so() -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>login</html>")
    with pytest.raises(StreamError, match="text/html instead of an event stream"):
        sse_client(lambda r: page).chat(MESSAGES)


def test_redirect_points_at_the_base_url_and_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    moved = httpx.Response(308, headers={"location": "https://glm.invalid/v2/chat/completions"})
    with pytest.raises(GLMError, match="check the base URL") as info:
        sse_client(lambda r: moved, seen).chat(MESSAGES)
    assert len(seen) == 1
    assert "v2/chat/completions" in str(info.value)


@pytest.mark.parametrize(
    "event",
    [
        b'data: {"choices":[{"delta":"x"}]}\n\n',
        b'data: {"choices":[{"delta":{"tool_calls":["x"]}}]}\n\n',
        b'data: {"choices":[{"delta":{"tool_calls":[{"function":"f"}]}}]}\n\n',
    ],
)
def test_events_of_an_unexpected_shape_are_stream_errors(event: bytes) -> None:
    with pytest.raises(StreamError, match="unexpected shape"):
        sse_client(event).chat(MESSAGES)


def test_service_message_echoing_the_key_is_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "1002", "message": "bad key test-key"}})

    with pytest.raises(AuthenticationError) as info:
        sse_client(echo).chat(MESSAGES)
    assert "test-key" not in str(info.value)
    assert "bad key ***" in str(info.value)


def test_keys_with_non_ascii_or_spaces_are_refused() -> None:
    from glm_magics.wire.keys import Secret

    for bad in ("sk-clé", "sk key", "sk-\x00"):
        with pytest.raises(ConfigurationError, match="paste it again"):
            Secret(bad)


def test_a_result_ending_a_cell_shows_its_answer_safely(shell: Any) -> None:
    bundle, _ = shell.display_formatter.format(
        ChatResult(text="<img src=x onerror=alert(1)> **b**")
    )
    html = bundle["text/html"]
    assert "<img" not in html
    assert "<strong>b</strong>" in html
