"""The scan every entry passes before it is written: no key, nothing shaped like a token.

Headers are never stored, but a key can still reach an entry: pasted into a question,
echoed by a server, returned by a tool. :func:`find_secret` looks for the keys given
(the one the request was sent with) and for anything shaped like a bearer token, so a
cassette meant to be committed beside a notebook cannot carry one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["find_secret", "streamed_text"]

# Where a stream's pieces of text sit, in the three protocols: a token cut across two
# events is whole again once these are joined.
_TEXT_FIELDS = frozenset(
    {
        "content",
        "reasoning_content",
        "reasoning",
        "delta",
        "text",
        "thinking",
        "partial_json",
        "arguments",
    }
)

_TOKEN_SHAPES = (
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{12,}=*")),
    ("an sk- key", re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}")),
    ("a Z.ai-style key", re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9]{16}\b")),
)


def find_secret(text: str, keys: Iterable[str] = ()) -> str | None:
    """What in ``text`` looks secret (``"the API key"``, ``"a bearer token"``...), or ``None``."""
    for key in keys:
        if key and key in text:
            return "the API key"
    for name, shape in _TOKEN_SHAPES:
        if shape.search(text):
            return name
    return None


def streamed_text(events: Iterable[Any]) -> str:
    """The text pieces of a stream's event payloads, joined in order (see _TEXT_FIELDS)."""
    pieces: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                if name in _TEXT_FIELDS and isinstance(item, str):
                    pieces.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for event in events:
        walk(event)
    return "".join(pieces)
