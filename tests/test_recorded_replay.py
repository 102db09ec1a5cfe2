"""Real recorded GLM-4.7-Flash traffic, served byte for byte over loopback, through GLMClient.

The expected values are read from the recordings independently of the client: the
SSE files are split on blank lines and their JSON deltas joined by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glm_magics import GLMClient, ToolCall, Usage
from glm_magics.testing import LocalGLMServer, Reply

RECORDED = Path(__file__).parent / "fixtures" / "recorded" / "zai-glm-4.7-flash"
STREAMS = sorted(RECORDED.glob("*.response.sse"))
BODIES = sorted(RECORDED.glob("*.response.json"))


def expected_from_sse(path: Path) -> dict[str, Any]:
    text, reasoning, calls, usage, finish = [], [], [], None, None
    for block in path.read_bytes().decode("utf-8").split("\n\n"):
        if not block.startswith("data: ") or block == "data: [DONE]":
            continue
        payload = json.loads(block[len("data: ") :])
        for choice in payload["choices"]:
            delta = choice["delta"]
            text.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning_content") or "")
            for call in delta.get("tool_calls") or []:
                calls.append(
                    ToolCall(call["id"], call["function"]["name"], call["function"]["arguments"])
                )
            finish = choice.get("finish_reason") or finish
        usage = payload.get("usage") or usage
    return {
        "text": "".join(text),
        "reasoning": "".join(reasoning),
        "tool_calls": calls,
        "usage": usage,
        "finish_reason": finish,
    }


def check(result: Any, expected: dict[str, Any]) -> None:
    assert result.text == expected["text"]
    assert result.reasoning == expected["reasoning"]
    assert result.tool_calls == expected["tool_calls"]
    assert result.finish_reason == expected["finish_reason"]
    usage = expected["usage"]
    assert result.usage == Usage(
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        total_tokens=usage["total_tokens"],
        reasoning_tokens=usage["completion_tokens_details"]["reasoning_tokens"],
        cached_tokens=usage["prompt_tokens_details"]["cached_tokens"],
    )


@pytest.fixture(scope="module")
def replay_server() -> Any:
    with LocalGLMServer() as server:
        yield server


def request_of(path: Path) -> dict[str, Any]:
    name = path.name.split(".response.")[0]
    body: dict[str, Any] = json.loads((RECORDED / f"{name}.request.json").read_text())
    return body


def test_every_recording_is_covered() -> None:
    assert len(STREAMS) == 5 and len(BODIES) == 5


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name)
def test_streamed_recording_replays_exactly(path: Path, replay_server: LocalGLMServer) -> None:
    replay_server.queue(Reply(raw_body=path.read_bytes()))
    recorded = request_of(path)
    with (
        GLMClient(base_url=replay_server.base_url) as client,
        client.stream(recorded["messages"], model=recorded["model"]) as stream,
    ):
        events = list(stream)
    check(stream.result, expected_from_sse(path))
    assert stream.result.model == "glm-4.7-flash"
    assert sum(1 for e in events if type(e).__name__ == "TextDelta") == sum(
        1
        for block in path.read_text().split("\n\n")
        if '"content":"' in block and '"content":""' not in block
    )


@pytest.mark.parametrize("path", BODIES, ids=lambda p: p.name)
def test_non_streamed_recording_replays_exactly(path: Path, replay_server: LocalGLMServer) -> None:
    replay_server.queue(Reply(raw_body=path.read_bytes()))
    recorded = request_of(path)
    payload = json.loads(path.read_text())
    message = payload["choices"][0]["message"]
    with GLMClient(base_url=replay_server.base_url) as client:
        result = client.chat(recorded["messages"], model=recorded["model"], stream=False)
    check(
        result,
        {
            "text": message.get("content") or "",
            "reasoning": message.get("reasoning_content") or "",
            "tool_calls": [
                ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
                for c in message.get("tool_calls") or []
            ],
            "usage": payload["usage"],
            "finish_reason": payload["choices"][0]["finish_reason"],
        },
    )


def test_recorded_turn1_request_is_what_the_client_would_send() -> None:
    """The assistant turn with a tool call carries reasoning_content, as GLM requires."""
    from glm_magics.results import ChatResult

    turn0 = json.loads((RECORDED / "tool-turn0.response.json").read_text())
    message = turn0["choices"][0]["message"]
    result = ChatResult(
        text=message["content"],
        reasoning=message["reasoning_content"],
        tool_calls=[
            ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in message["tool_calls"]
        ],
    )
    sent = json.loads((RECORDED / "tool-turn1.request.json").read_text())["messages"][2]
    ours = result.to_message()
    assert ours["reasoning_content"] == sent["reasoning_content"]
    assert ours["content"] == sent["content"]
    assert ours["tool_calls"][0]["function"] == sent["tool_calls"][0]["function"]
    assert ours["tool_calls"][0]["id"] == sent["tool_calls"][0]["id"]
