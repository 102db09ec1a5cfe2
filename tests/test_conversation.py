"""Token estimates and history trimming to the context window."""

from __future__ import annotations

import pytest

from glm_magics.core.conversation import Conversation
from glm_magics.errors import ParameterError
from glm_magics.tokens import estimate_tokens, message_tokens


def test_estimate_latin_and_cjk() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd" * 100) == 100
    assert estimate_tokens("你好世界" * 3) == 8  # 12 CJK characters / 1.5
    assert estimate_tokens("olá 你好") == 3  # 4 Latin characters / 4 + 2 CJK / 1.5, rounded up


def test_message_tokens_count_reasoning_and_tool_calls() -> None:
    message = {
        "role": "assistant",
        "content": "a" * 40,
        "reasoning_content": "b" * 40,
        "tool_calls": [{"function": {"name": "weather", "arguments": '{"x": 1}'}}],
    }
    assert message_tokens(message) == 4 + 10 + 10 + 2 + 2


def test_oldest_turns_are_left_out_to_fit_the_window() -> None:
    conversation = Conversation(window=1_000)
    for number in range(10):
        conversation.add(
            {"role": "user", "content": f"question {number} " + "x" * 200},
            {"role": "assistant", "content": f"answer {number} " + "y" * 200},
        )
    messages, dropped = conversation.messages_for("new question", reserve=500)
    assert dropped > 0
    kept = [m["content"].split()[1] for m in messages[:-1]]
    assert kept == sorted(kept) and kept[-1] == "9"  # the most recent turns stay, in order
    total = sum(message_tokens(m) for m in messages)
    assert total + 500 <= 1_000
    assert messages[-1] == {"role": "user", "content": "new question"}


def test_system_prompt_first_and_prompt_too_large_is_refused() -> None:
    conversation = Conversation(window=1_000)
    messages, dropped = conversation.messages_for("hi", system="Be brief.", reserve=100)
    assert messages[0] == {"role": "system", "content": "Be brief."} and dropped == 0
    with pytest.raises(ParameterError, match=r"about 1,004 tokens.*cannot fit the 1,000-token"):
        conversation.messages_for("z" * 4_000, reserve=10)
