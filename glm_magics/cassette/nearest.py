"""A miss, explained: the recorded request nearest to the one asked, and what differs.

When a request is not in a cassette, the one line the user sees names the nearest
entry and the fields that set it apart (the question text, a parameter, the
conversation before it, the endpoint...), so the fix is obvious: undo the edit, or
record the new question.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from glm_magics.cassette.entries import Entry, asked_part, question_of

__all__ = ["differences", "nearest"]

_MESSAGE_FIELDS = ("messages", "input")
_SYSTEM_FIELDS = ("system", "instructions")
_SHORTLIST = 20


def nearest(
    endpoint: str, request: Mapping[str, Any], entries: Sequence[Entry]
) -> tuple[Entry, list[str]] | None:
    """The recorded entry closest to ``request`` and how they differ (``None``: no entries)."""
    if not entries:
        return None
    scored = sorted(entries, key=lambda entry: _rough_distance(endpoint, request, entry))
    question = question_of(request)
    best: tuple[tuple[int, float], Entry, list[str]] | None = None
    for entry in scored[:_SHORTLIST]:
        found = differences(endpoint, request, entry)
        matcher = difflib.SequenceMatcher(None, question_of(entry.request), question)
        similarity = matcher.quick_ratio()
        rank = (len(found), -similarity)
        if best is None or rank < best[0]:
            best = (rank, entry, found)
    assert best is not None
    return best[1], best[2]


def _rough_distance(endpoint: str, request: Mapping[str, Any], entry: Entry) -> int:
    recorded = entry.request
    names = set(recorded) | set(request)
    distance = sum(bool(recorded.get(name) != request.get(name)) for name in names)
    asked = question_of(request)
    return distance + (entry.endpoint != endpoint) + (question_of(entry.request) != asked)


def differences(endpoint: str, request: Mapping[str, Any], entry: Entry) -> list[str]:
    """What sets ``request`` apart from ``entry``'s, in words (empty if nothing does)."""
    recorded = entry.request
    found: list[str] = []
    if entry.endpoint != endpoint:
        found.append(f"the endpoint ({entry.endpoint} recorded, {endpoint} now)")
    found += _conversation_differences(recorded, request)
    if _tool_names(recorded) != _tool_names(request):
        found.append(
            f"the tools ({_names(_tool_names(recorded))} recorded, "
            f"{_names(_tool_names(request))} now)"
        )
    elif recorded.get("tools") != request.get("tools"):
        found.append("the tools' descriptions")
    skip = {*_MESSAGE_FIELDS, *_SYSTEM_FIELDS, "tools"}
    for name in sorted((set(recorded) | set(request)) - skip):
        old, new = recorded.get(name), request.get(name)
        if old != new:
            found.append(f"{name} ({_short(old)} recorded, {_short(new)} now)")
    return found


def _conversation_differences(recorded: Mapping[str, Any], asked: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    old_system, new_system = _system(recorded), _system(asked)
    if old_system != new_system:
        found.append(f"the system prompt ({_excerpts(old_system, new_system)})")
    old_question, new_question = question_of(recorded), question_of(asked)
    if old_question != new_question:
        old_asked, new_asked = asked_part(old_question), asked_part(new_question)
        if old_asked != new_asked:
            found.append(f"the question ({_excerpts(old_asked, new_asked)})")
        else:
            excerpts = _excerpts(old_question, new_question)
            found.append(f"the context attached to the question ({excerpts})")
    old_before, new_before = _before_question(recorded), _before_question(asked)
    if len(old_before) != len(new_before):
        found.append(
            f"the conversation before it ({len(old_before)} messages recorded, "
            f"{len(new_before)} now)"
        )
    else:
        for number, (old, new) in enumerate(zip(old_before, new_before, strict=True), 1):
            if old != new:
                role = new.get("role", "?") if isinstance(new, Mapping) else "?"
                found.append(f"the conversation before it (message {number}, {role})")
                break
    return found


def _messages(request: Mapping[str, Any]) -> list[Any]:
    for name in _MESSAGE_FIELDS:
        value = request.get(name)
        if isinstance(value, list):
            return value
    return []


def _system(request: Mapping[str, Any]) -> str:
    for name in _SYSTEM_FIELDS:
        if request.get(name):
            value = request[name]
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "\n".join(
        str(message.get("content", ""))
        for message in _messages(request)
        if isinstance(message, Mapping) and message.get("role") == "system"
    )


def _before_question(request: Mapping[str, Any]) -> list[Any]:
    """The messages before the last user message, system messages left out."""
    messages = [
        message
        for message in _messages(request)
        if not (isinstance(message, Mapping) and message.get("role") == "system")
    ]
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, Mapping) and message.get("role") == "user":
            return messages[:index]
    return messages


def _tool_names(request: Mapping[str, Any]) -> list[str]:
    names = []
    for tool in request.get("tools") or ():
        if isinstance(tool, Mapping):
            function = tool.get("function")
            name = function.get("name") if isinstance(function, Mapping) else None
            names.append(str(name or tool.get("name") or tool.get("type") or "?"))
    return names


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _short(value: object) -> str:
    if value is None:
        return "not set"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _excerpts(old: str, new: str, width: int = 36) -> str:
    """``'…old…' recorded, '…new…' now``, cut around where the two texts part."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    begin = max(0, start - 12)

    def cut(text: str) -> str:
        if not text:
            return "nothing"
        part = text[begin : begin + width]
        part = ("…" if begin else "") + part + ("…" if begin + width < len(text) else "")
        return repr(" ".join(part.split()))

    return f"{cut(old)} recorded, {cut(new)} now"
