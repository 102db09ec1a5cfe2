"""Token estimates made before sending, for budgets and trimming.

The service counts the real tokens afterwards (``usage.prompt_tokens``); before a
request is sent, a documented heuristic has to do:

* about 4 characters per token for Latin-script text, code and punctuation;
* about 1.5 characters per token for CJK (Chinese, Japanese, Korean) characters;
* 4 tokens of framing per chat message.

The estimate errs a little high on purpose, so a budget leaves room to spare::

    >>> estimate_tokens("What is a p-value?")
    5
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["estimate_tokens", "message_tokens"]

_MESSAGE_OVERHEAD = 4
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x9FFF),  # CJK radicals, kana, CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x2FFFF),  # CJK extensions
)


def _is_cjk(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _CJK_RANGES)


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (see the module docstring)."""
    if not text:
        return 0
    if text.isascii():
        return math.ceil(len(text) / 4)
    cjk = sum(1 for char in text if ord(char) >= 0x1100 and _is_cjk(char))
    return math.ceil((len(text) - cjk) / 4 + cjk / 1.5)


def message_tokens(message: Mapping[str, Any]) -> int:
    """Estimated tokens of one chat message, framing included."""
    total = _MESSAGE_OVERHEAD
    for key in ("content", "reasoning_content"):
        value = message.get(key)
        if isinstance(value, str):
            total += estimate_tokens(value)
    for call in message.get("tool_calls") or ():
        function = call.get("function", {}) if isinstance(call, dict) else {}
        total += estimate_tokens(str(function.get("name", "")))
        total += estimate_tokens(str(function.get("arguments", "")))
    return total
