"""Chat completions, Responses and Messages: one request, one set of events, one result.

The real client talks to the real local server over loopback for each protocol;
hand-made SSE bytes pin the readers down where the server cannot (``event:`` lines,
CRLF and CR framing, UTF-8 split across chunks, fragments keyed by id or position).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from glm_magics import (
    AuthenticationError,
    BadRequestError,
    ContentFilteredError,
    GLMClient,
    InStreamError,
    ParameterError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    TruncatedStreamError,
)
from glm_magics.events import (
    Finished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageReported,
)
from glm_magics.results import ChatResult, ToolCall, Usage
from glm_magics.testing import LocalGLMServer, Reply, ToolCallSpec
from glm_magics.wire.messages import MessagesReader
from glm_magics.wire.params import build_params
from glm_magics.wire.protocols import PROTOCOLS
from glm_magics.wire.reader import StreamReader
from glm_magics.wire.responses import ResponsesReader
from glm_magics.wire.retry import RetryPolicy
from glm_magics.wire.sse import SSEDecoder

APIS = ("chat", "responses", "messages")
MODEL = "glm-4-7-flash"
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002)
PROMPT = [{"role": "user", "content": "Weather in Paris?"}]
USAGE = {
    "prompt_tokens": 40,
    "completion_tokens": 12,
    "total_tokens": 52,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 5},
}
ANSWER = Reply(
    reasoning="The user wants the weather. I call the tool.",
    text="Let me check Paris.",
    tool_calls=[ToolCallSpec("weather", '{"city": "Paris", "unit": "C"}', id="call_paris")],
    usage=USAGE,
    id="answer-1",
)


@pytest.fixture
def server() -> Iterator[LocalGLMServer]:
    with LocalGLMServer() as running:
        yield running


@pytest.fixture
def client(server: LocalGLMServer) -> Iterator[GLMClient]:
    with GLMClient(base_url=server.base_url, retry_policy=FAST) as glm:
        yield glm


def streamed(client: GLMClient, api: str, **params: Any) -> tuple[list[StreamEvent], ChatResult]:
    with client.stream(PROMPT, api=api, **params) as stream:
        events = list(stream)
    return events, stream.result


def essence(result: ChatResult) -> dict[str, Any]:
    """A result without its timings (which differ on every run)."""
    return {
        "text": result.text,
        "reasoning": result.reasoning,
        "finish_reason": result.finish_reason,
        "model": result.model,
        "tool_calls": result.tool_calls,
        "usage": result.usage,
        "id": result.id,
        "interrupted": result.interrupted,
    }


def without_reasoning_tokens(event: StreamEvent) -> StreamEvent:
    """The Messages protocol reports no reasoning token count."""
    if isinstance(event, UsageReported):
        return UsageReported(Usage(**{**vars(event.usage), "reasoning_tokens": 0}))
    return event


def raw(server: LocalGLMServer, api: str, body: dict[str, Any]) -> httpx.Response:
    path = PROTOCOLS[api].path
    return httpx.post(server.base_url + path, json={"model": MODEL, **body}, timeout=5)


# -- the same answer over every protocol ---------------------------------------------


@pytest.mark.parametrize("fragments", [True, False], ids=["fragments", "whole-call"])
def test_every_protocol_streams_the_same_events_and_result(
    server: LocalGLMServer, client: GLMClient, fragments: bool
) -> None:
    runs = {}
    for api in APIS:
        server.queue(ANSWER.with_changes(tool_stream=fragments))
        runs[api] = streamed(client, api)
    events, result = runs["chat"]
    assert [type(e) for e in events[:3]] == [ReasoningDelta] * 3
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls[0] == ToolCallDelta(0, "call_paris", "weather", calls[0].arguments)
    assert (len(calls) > 1) == fragments
    assert all(c.id is None and c.name is None for c in calls[1:])
    assert events[-2:] == [
        Finished("tool_calls"),
        UsageReported(Usage(40, 12, 52, reasoning_tokens=5, cached_tokens=8)),
    ]
    assert essence(result) == {
        "text": "Let me check Paris.",
        "reasoning": "The user wants the weather. I call the tool.",
        "finish_reason": "tool_calls",
        "model": MODEL,
        "tool_calls": [ToolCall("call_paris", "weather", '{"city": "Paris", "unit": "C"}')],
        "usage": Usage(40, 12, 52, reasoning_tokens=5, cached_tokens=8),
        "id": "answer-1",
        "interrupted": False,
    }
    assert runs["responses"][0] == events
    assert essence(runs["responses"][1]) == essence(result)
    messages_events, messages_result = runs["messages"]
    assert messages_events == [without_reasoning_tokens(e) for e in events]
    expected = {**essence(result), "usage": Usage(40, 12, 52, reasoning_tokens=0, cached_tokens=8)}
    assert essence(messages_result) == expected


@pytest.mark.parametrize("api", ["responses", "messages"])
def test_non_streamed_body_gives_the_streamed_result(
    server: LocalGLMServer, client: GLMClient, api: str
) -> None:
    server.queue(ANSWER, ANSWER)
    whole = client.chat(PROMPT, stream=False, api=api)
    _, live = streamed(client, api)
    assert essence(whole) == essence(live)
    assert whole.tool_calls[0].parsed_arguments() == {"city": "Paris", "unit": "C"}
    assert "stream" not in server.requests[0].body
    assert server.requests[1].body["stream"] is True
    assert server.requests[0].path == "/v1" + PROTOCOLS[api].path


def test_non_streamed_bodies_have_each_protocols_shape(server: LocalGLMServer) -> None:
    server.queue(ANSWER, ANSWER)
    response = raw(server, "responses", {"input": "Weather in Paris?"}).json()
    assert (response["object"], response["status"], response["id"]) == (
        "response",
        "completed",
        "answer-1",
    )
    assert [item["type"] for item in response["output"]] == [
        "reasoning",
        "message",
        "function_call",
    ]
    assert response["output"][0]["content"][0]["type"] == "reasoning_text"
    assert response["output"][1]["content"][0]["text"] == "Let me check Paris."
    call = response["output"][2]
    assert (call["call_id"], call["name"]) == ("call_paris", "weather")
    assert response["usage"] == {
        "input_tokens": 40,
        "input_tokens_details": {"cached_tokens": 8},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 5},
        "total_tokens": 52,
    }
    message = raw(server, "messages", {"messages": PROMPT, "max_tokens": 100}).json()
    assert (message["type"], message["stop_reason"]) == ("message", "tool_use")
    assert [block["type"] for block in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["content"][2]["input"] == {"city": "Paris", "unit": "C"}
    assert message["usage"] == {
        "input_tokens": 32,
        "cache_read_input_tokens": 8,
        "output_tokens": 12,
    }


@pytest.mark.parametrize(
    ("finish", "responses_wire", "messages_wire"),
    [
        ("stop", ("completed", None), "end_turn"),
        ("length", ("incomplete", "max_output_tokens"), "max_tokens"),
        ("tool_calls", ("completed", None), "tool_use"),
    ],
)
def test_finish_reasons_map_to_the_chat_values(
    server: LocalGLMServer,
    client: GLMClient,
    finish: str,
    responses_wire: tuple[str, str | None],
    messages_wire: str,
) -> None:
    calls = [ToolCallSpec("noop", "{}")] if finish == "tool_calls" else []
    reply = Reply(text="Some text", finish_reason=finish, tool_calls=calls)
    server.queue(reply, reply)
    response = raw(server, "responses", {"input": "hi"}).json()
    reason = (response.get("incomplete_details") or {}).get("reason")
    assert (response["status"], reason) == responses_wire
    message = raw(server, "messages", {"messages": PROMPT, "max_tokens": 9}).json()
    assert message["stop_reason"] == messages_wire
    for api in ("responses", "messages"):
        server.queue(reply, reply)
        events, result = streamed(client, api)
        assert result.finish_reason == finish
        assert Finished(finish) in events
        assert client.chat(PROMPT, stream=False, api=api).finish_reason == finish


@pytest.mark.parametrize("api", APIS)
def test_filtered_answer_is_a_content_filter_error(
    server: LocalGLMServer, client: GLMClient, api: str
) -> None:
    server.queue(Reply(text="Partial", finish_reason="sensitive"))
    with pytest.raises(ContentFilteredError) as caught:
        streamed(client, api)
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Partial"


# -- what each protocol sends -------------------------------------------------------

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": "Checking both.",
        "reasoning_content": "Two cities, two calls.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    {"role": "tool", "tool_call_id": "call_2", "content": "24 C"},
]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {
    "type": "function",
    "function": {"name": "weather", "description": "Current weather", "parameters": SCHEMA},
}
PARAMS: dict[str, Any] = {
    "temperature": 0.3,
    "top_p": 0.9,
    "max_tokens": 256,
    "stop": "END",
    "thinking": True,
    "tools": [TOOL],
    "tool_choice": "auto",
    "response_format": {"type": "json_object"},
}


def sent_body(server: LocalGLMServer, client: GLMClient, api: str, **params: Any) -> Any:
    server.queue(Reply(text="Paris 18 C, Rome 24 C."))
    assert client.chat(CONVERSATION, api=api, **params).text == "Paris 18 C, Rome 24 C."
    return server.requests[-1].body


def test_chat_body_is_unchanged(server: LocalGLMServer, client: GLMClient) -> None:
    assert sent_body(server, client, "chat", **PARAMS) == {
        "model": MODEL,
        "messages": CONVERSATION,
        **build_params(PARAMS),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert server.requests[-1].path == "/v1/chat/completions"


def test_responses_body_converts_the_conversation(
    server: LocalGLMServer, client: GLMClient
) -> None:
    assert sent_body(server, client, "responses", **PARAMS) == {
        "model": MODEL,
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "type": "reasoning",
                "id": "rs_call_1",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "Two cities, two calls."}],
            },
            {"role": "assistant", "content": "Checking both."},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "weather",
                "arguments": '{"city": "Paris"}',
            },
            {
                "type": "function_call",
                "call_id": "call_2",
                "name": "weather",
                "arguments": '{"city": "Rome"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "18 C"},
            {"type": "function_call_output", "call_id": "call_2", "output": "24 C"},
        ],
        "temperature": 0.3,
        "top_p": 0.9,
        "max_output_tokens": 256,
        "stop": ["END"],
        "thinking": {"type": "enabled"},
        "tools": [
            {
                "type": "function",
                "name": "weather",
                "description": "Current weather",
                "parameters": SCHEMA,
            }
        ],
        "tool_choice": "auto",
        "text": {"format": {"type": "json_object"}},
        "stream": True,
    }
    assert server.requests[-1].path == "/v1/responses"


def test_messages_body_converts_the_conversation(server: LocalGLMServer, client: GLMClient) -> None:
    assert sent_body(server, client, "messages", **PARAMS) == {
        "model": MODEL,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Two cities, two calls."},
                    {"type": "text", "text": "Checking both."},
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "call_2",
                        "name": "weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18 C"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "24 C"},
                ],
            },
        ],
        "max_tokens": 256,
        "temperature": 0.3,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled"},
        "tools": [{"name": "weather", "description": "Current weather", "input_schema": SCHEMA}],
        "tool_choice": {"type": "auto"},
        "response_format": {"type": "json_object"},
        "stream": True,
    }
    assert server.requests[-1].path == "/v1/messages"


def test_messages_body_defaults_max_tokens_and_keeps_plain_turns() -> None:
    turns: list[dict[str, Any]] = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
    ]
    body = PROTOCOLS["messages"].body(turns, MODEL, {}, stream=False)
    assert body == {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
        ],
        "max_tokens": 4096,
    }
    responses = PROTOCOLS["responses"].body(turns, MODEL, {}, stream=False)
    assert responses["input"][2] == {
        "role": "user",
        "content": [{"type": "input_text", "text": "Bye"}],
    }


def test_conversion_mistakes_are_parameter_errors() -> None:
    only_system = [{"role": "system", "content": "Be brief."}]
    for api in ("responses", "messages"):
        with pytest.raises(ParameterError, match="at least one non-system message"):
            PROTOCOLS[api].body(only_system, MODEL, {}, stream=True)
    orphan = [{"role": "user", "content": "hi"}, {"role": "tool", "content": "18 C"}]
    with pytest.raises(ParameterError, match="tool_call_id"):
        PROTOCOLS["messages"].body(orphan, MODEL, {}, stream=True)
    bad_call = [
        {
            **CONVERSATION[2],
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1"}}],
        }
    ]
    with pytest.raises(ParameterError, match="not a JSON object"):
        PROTOCOLS["messages"].body([CONVERSATION[1], *bad_call], MODEL, {}, stream=True)


def test_unknown_api_is_a_parameter_error(server: LocalGLMServer, client: GLMClient) -> None:
    for call in (
        lambda: client.chat(PROMPT, api="nope"),
        lambda: client.chat(PROMPT, api="nope", stream=False),
        lambda: client.stream(PROMPT, api="nope"),
    ):
        with pytest.raises(ParameterError, match="'chat', 'responses', 'messages'"):
            call()
    assert server.requests == []


# -- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "reply", "expected"),
    [
        ("chat", Reply.error(401), AuthenticationError),
        ("responses", Reply.error(401), AuthenticationError),
        ("messages", Reply.error(401), AuthenticationError),
        ("responses", Reply.error(429, code="1113", message="Balance too low"), QuotaExceededError),
        ("messages", Reply.error(429, code="1113", message="Balance too low"), RateLimitError),
    ],
)
def test_http_error_reply_in_each_protocols_shape(
    server: LocalGLMServer, client: GLMClient, api: str, reply: Reply, expected: type[Exception]
) -> None:
    server.queue(*[reply] * 3)
    with pytest.raises(expected):
        client.chat(PROMPT, api=api)
    server.queue(reply)
    body = raw(server, api, {"input": "hi", "messages": PROMPT, "max_tokens": 5}).json()
    if api == "responses":
        assert body["error"]["code"] == reply.error_code
        assert body["error"]["type"] in ("authentication_error", "rate_limit_error")
    elif api == "messages":
        assert body["type"] == "error"
        assert body["error"]["type"] in ("authentication_error", "rate_limit_error")


def test_messages_error_is_retried_like_chat(server: LocalGLMServer, client: GLMClient) -> None:
    server.queue(Reply.error(503), Reply(text="Back again."))
    assert client.chat(PROMPT, api="messages").text == "Back again."
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("api", "after", "sent_code", "code"),
    [
        ("chat", 1, "1234", "1234"),
        ("responses", 5, "1234", "1234"),
        ("messages", 4, "overloaded_error", "overloaded_error"),
        ("messages", 4, "1234", "api_error"),
    ],
)
def test_in_stream_error_keeps_what_arrived(
    server: LocalGLMServer, client: GLMClient, api: str, after: int, sent_code: str, code: str
) -> None:
    """``after`` counts events up to the first text delta (headers differ per protocol)."""
    reply = Reply(
        text="Hello there world", stream_error=(sent_code, "Boom"), stream_error_after=after
    )
    server.queue(reply)
    with pytest.raises(InStreamError) as caught:
        streamed(client, api)
    assert caught.value.code == code
    assert "Boom" in str(caught.value)
    assert caught.value.partial is not None
    assert caught.value.partial.text == "Hello"


@pytest.mark.parametrize(
    ("api", "body", "says"),
    [
        ("responses", {}, "'input'"),
        ("responses", {"input": "hi", "max_output_tokens": 0}, "'max_output_tokens'"),
        ("messages", {"messages": PROMPT}, "'max_tokens' is required"),
        ("messages", {"messages": "hi", "max_tokens": 5}, "'messages'"),
        ("messages", {"messages": PROMPT, "max_tokens": 5, "model": "nope"}, "Unknown model"),
    ],
)
def test_bad_requests_get_a_400_in_the_protocols_shape(
    server: LocalGLMServer, api: str, body: dict[str, Any], says: str
) -> None:
    response = raw(server, api, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert says in error["message"]
    assert error["type"] == "invalid_request_error"
    if api == "messages":
        assert response.json()["type"] == "error"


def test_dropped_connection_mid_answer_is_truncated(
    server: LocalGLMServer, client: GLMClient
) -> None:
    server.queue(Reply(text="One two three four five", disconnect_after=6))
    with pytest.raises(TruncatedStreamError) as caught:
        streamed(client, "messages")
    assert caught.value.partial is not None
    assert caught.value.partial.text.startswith("One")


# -- hand-made bytes -----------------------------------------------------------------


def sse(line_ending: str, *events: dict[str, Any]) -> bytes:
    """Named events, raw UTF-8 JSON, one comment line."""
    end = line_ending
    frames = [f": keep-alive{end}{end}"]
    for event in events:
        data = json.dumps(event, ensure_ascii=False)
        frames.append(f"event: {event['type']}{end}data: {data}{end}{end}")
    return "".join(frames).encode()


def read(accumulator: StreamReader, body: bytes, size: int) -> list[StreamEvent]:
    """Bytes in ``size``-byte chunks through the SSE decoder into the accumulator."""
    decoder, events = SSEDecoder(), []
    for start in range(0, len(body), size):
        for message in decoder.decode(body[start : start + size]):
            events += accumulator.feed(message.data)
    for message in decoder.flush():
        events += accumulator.feed(message.data)
    return events


TRICKY = "Olá\u2028ça ✓ — 東京"

RESPONSES_EVENTS: list[dict[str, Any]] = [
    {"type": "response.created", "response": {"id": "resp_9", "model": "glm-x", "output": []}},
    {"type": "response.reasoning_summary_text.delta", "delta": "Hmm, "},
    {"type": "response.reasoning_text.delta", "item_id": "rs_1", "delta": "tricky."},
    {"type": "response.output_text.delta", "item_id": "msg_1", "delta": TRICKY},
    {
        "type": "response.output_item.added",
        "output_index": 2,
        "item": {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "look"},
    },
    {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"q": '},
    {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": '"東京"}'},
    {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": "ignored"},
    {
        "type": "response.output_item.done",
        "output_index": 3,
        "item": {
            "type": "function_call",
            "id": "fc_2",
            "call_id": "call_10",
            "name": "time",
            "arguments": "{}",
        },
    },
    {
        "type": "response.completed",
        "response": {
            "id": "resp_9",
            "status": "completed",
            "usage": {
                "input_tokens": 20,
                "output_tokens": 7,
                "total_tokens": 27,
                "input_tokens_details": {"cached_tokens": 4},
                "output_tokens_details": {"reasoning_tokens": 3},
            },
        },
    },
]


def block_delta(index: int, kind: str, **fields: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


MESSAGES_EVENTS: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_9",
            "model": "glm-x",
            "usage": {"input_tokens": 16, "cache_read_input_tokens": 4},
        },
    },
    {"type": "ping"},
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": ""},
    },
    block_delta(0, "thinking_delta", thinking="Hmm, "),
    block_delta(0, "thinking_delta", thinking="tricky."),
    block_delta(0, "signature_delta", signature="x"),
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    block_delta(1, "text_delta", text=TRICKY),
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "call_9", "name": "look", "input": {}},
    },
    block_delta(2, "input_json_delta", partial_json='{"q": '),
    block_delta(2, "input_json_delta", partial_json='"東京"}'),
    {"type": "content_block_stop", "index": 2},
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {"type": "tool_use", "id": "call_10", "name": "time", "input": {}},
    },
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
    {"type": "message_stop"},
]

EXPECTED_EVENTS = [
    ReasoningDelta("Hmm, "),
    ReasoningDelta("tricky."),
    TextDelta(TRICKY),
    ToolCallDelta(0, "call_9", "look", '{"q": '),
    ToolCallDelta(0, None, None, '"東京"}'),
    ToolCallDelta(1, "call_10", "time", "{}"),
    Finished("tool_calls"),
]


@pytest.mark.parametrize(
    ("accumulator", "events", "answer_id"),
    [
        (ResponsesReader, RESPONSES_EVENTS, "resp_9"),
        (MessagesReader, MESSAGES_EVENTS, "msg_9"),
    ],
    ids=["responses", "messages"],
)
@pytest.mark.parametrize("line_ending", ["\r\n", "\r", "\n"], ids=["crlf", "cr", "lf"])
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_hand_made_sse_through_the_accumulators(
    accumulator: type[ResponsesReader | MessagesReader],
    events: list[dict[str, Any]],
    answer_id: str,
    line_ending: str,
    size: int,
) -> None:
    reader = accumulator("asked-model")
    seen = read(reader, sse(line_ending, *events), size)
    usage = seen.pop()
    assert isinstance(usage, UsageReported)
    assert seen == EXPECTED_EVENTS
    assert reader.done
    result = reader.snapshot()
    assert (result.id, result.model, result.text) == (answer_id, "glm-x", TRICKY)
    assert result.reasoning == "Hmm, tricky."
    assert result.tool_calls == [
        ToolCall("call_9", "look", '{"q": "東京"}'),
        ToolCall("call_10", "time", "{}"),
    ]
    reasoning = 3 if accumulator is ResponsesReader else 0
    assert result.usage == Usage(20, 7, 27, reasoning_tokens=reasoning, cached_tokens=4)


def test_hand_made_bytes_through_the_client() -> None:
    bodies = {
        "/v1/responses": sse("\r\n", *RESPONSES_EVENTS) + b"data: [DONE]\r\n\r\n",
        "/v1/messages": sse("\r\n", *MESSAGES_EVENTS),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        content = bodies[request.url.path]
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)

    transport = httpx.MockTransport(handler)
    with GLMClient("k", "https://glm.invalid/v1", transport=transport) as glm:
        for api in ("responses", "messages"):
            result = glm.chat(PROMPT, api=api)
            assert (result.text, result.finish_reason) == (TRICKY, "tool_calls")
            assert [call.id for call in result.tool_calls] == ["call_9", "call_10"]


def test_whole_json_answer_to_a_streamed_request() -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Short."}]},
            {"type": "message", "content": [{"type": "output_text", "text": "Cut"}]},
        ],
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    glm = GLMClient("k", "https://glm.invalid/v1", transport=transport)
    with glm, glm.stream(PROMPT, api="responses") as stream:
        events = list(stream)
    assert events == [ReasoningDelta("Short."), TextDelta("Cut"), Finished("length")]
    assert stream.result.finish_reason == "length"


@pytest.mark.parametrize(
    ("accumulator", "payload", "error", "says"),
    [
        (
            ResponsesReader,
            {"type": "error", "code": "1302", "message": "Slow down"},
            InStreamError,
            "Slow down",
        ),
        (
            ResponsesReader,
            {
                "type": "response.failed",
                "response": {"error": {"code": "server_error", "message": "Broke"}},
            },
            InStreamError,
            "Broke",
        ),
        (
            ResponsesReader,
            {"type": "error", "code": "1301", "message": "Unsafe"},
            ContentFilteredError,
            "content filter",
        ),
        (
            ResponsesReader,
            {"type": "response.output_text.delta", "delta": 5},
            StreamError,
            "'delta' is int",
        ),
        (ResponsesReader, {"delta": "no type"}, StreamError, "no 'type'"),
        (
            ResponsesReader,
            {"object": "response", "status": "in_progress", "output": []},
            StreamError,
            "'in_progress', not completed",
        ),
        (
            MessagesReader,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Busy"}},
            InStreamError,
            "Busy",
        ),
        (
            MessagesReader,
            {"type": "content_block_delta", "index": 0},
            StreamError,
            "no 'delta'",
        ),
        (
            MessagesReader,
            {"error": {"message": "Plain error body"}},
            InStreamError,
            "Plain error body",
        ),
    ],
)
def test_errors_and_bad_shapes_keep_the_partial_answer(
    accumulator: type[ResponsesReader | MessagesReader],
    payload: dict[str, Any],
    error: type[Exception],
    says: str,
) -> None:
    reader = accumulator()
    first = (
        {"type": "response.output_text.delta", "delta": "So far"}
        if accumulator is ResponsesReader
        else block_delta(0, "text_delta", text="So far")
    )
    assert reader.feed(json.dumps(first)) == [TextDelta("So far")]
    with pytest.raises(error, match=says) as caught:
        reader.feed(json.dumps(payload))
    partial = getattr(caught.value, "partial", None)
    assert partial is not None and partial.text == "So far"


def test_malformed_json_is_a_stream_error() -> None:
    for reader in (ResponsesReader(), MessagesReader()):
        with pytest.raises(StreamError, match="malformed event"):
            reader.feed('{"type": "ping"')


# -- what the one reader base gives every protocol -----------------------------------

SOURCES = [
    {"title": "GLM-4.7 release notes", "link": "https://example.org/glm", "media": "Example"},
    {"title": "A second page", "link": "https://example.org/two"},
]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_web_search_sources_arrive_over_every_protocol(
    server: LocalGLMServer, client: GLMClient, api: str, stream: bool
) -> None:
    server.queue(Reply(text="From the web.", web_search=SOURCES))
    result = client.chat(PROMPT, api=api, stream=stream)
    assert [(s.title, s.link) for s in result.sources] == [
        ("GLM-4.7 release notes", "https://example.org/glm"),
        ("A second page", "https://example.org/two"),
    ]
    assert result.sources[0].media == "Example"


@pytest.mark.parametrize("api", APIS)
def test_inline_think_tags_go_to_the_reasoning_over_every_protocol(
    server: LocalGLMServer, client: GLMClient, api: str
) -> None:
    server.queue(Reply(text_pieces=["<thi", "nk>Let me see.</th", "ink>\n", "Hello."]))
    events, result = streamed(client, api)
    assert (result.reasoning, result.text) == ("Let me see.", "Hello.")
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Let me see."


@pytest.mark.parametrize("api", APIS)
def test_the_servers_published_ranges_are_enforced_on_every_route(api: str) -> None:
    narrow = {"temperature": {"min": 0.0, "max": 0.5, "default": 0.3}}
    with (
        LocalGLMServer(model_parameters=narrow) as server,
        GLMClient(base_url=server.base_url, max_retries=0) as glm,
    ):
        with pytest.raises(BadRequestError, match="temperature"):
            glm.chat(PROMPT, api=api, temperature=0.8)
        server.queue(Reply(text="fine"))
        assert glm.chat(PROMPT, api=api, temperature=0.4).text == "fine"
