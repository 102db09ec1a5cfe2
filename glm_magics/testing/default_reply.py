"""The canned answer the local server gives when no reply is queued.

It has to be good enough for a demo notebook (reasoning, then markdown, and a
real code fence when the prompt asks for code) while never passing for the
model: the first line says plainly that this is the local test server. The text
depends only on the request's messages, so the same prompt always gets the same
answer (ids and timestamps still change).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from glm_magics.testing.demo_code import FIX_REQUEST, code_for, error_name, fixed_cell
from glm_magics.testing.replies import Reply, ToolCallSpec
from glm_magics.testing.validation import SEARCH_FIELDS

__all__ = [
    "NOTICE",
    "SCHEMA_MARKER",
    "default_reply",
    "last_user_text",
    "question_of",
    "search_results",
]

NOTICE = "**This is the local test server, not the model.**"
SCHEMA_MARKER = "JSON schema:"
"""In a system message, the JSON object schema that follows it on the same line is
the shape of a JSON-mode answer (see :func:`default_reply`)."""

_CODE_WORDS = re.compile(
    r"\b(code|coding|python|function|def|plot|chart|graph|write|script|snippet|program"
    r"|implement|class|example)\w*",
    re.IGNORECASE,
)
_QUOTE_LIMIT = 200


def _texts(body: Any, role: str) -> list[str]:
    """The text of each ``role`` message in a chat request, oldest first."""
    messages = body.get("messages") if isinstance(body, Mapping) else None
    texts = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping) or message.get("role") != role:
            continue
        content = message.get("content")
        if isinstance(content, list):
            parts = [p.get("text") for p in content if isinstance(p, Mapping)]
            content = "\n".join(p for p in parts if isinstance(p, str))
        texts.append(content if isinstance(content, str) else "")
    return texts


def last_user_text(body: Any) -> str:
    """The text of the last ``user`` message in a chat request ('' if none)."""
    texts = _texts(body, "user")
    return texts[-1] if texts else ""


_CONTEXT_SEPARATOR = "\n\n---\n\n"  # glm_magics.context.prompt puts it after DataFrames


def question_of(prompt: str) -> str:
    """The question in a user message: without the DataFrame summaries attached before it."""
    before, separator, question = prompt.rpartition(_CONTEXT_SEPARATOR)
    return question if separator and before.startswith(("DataFrame `", "Series `")) else prompt


def _fix_reply(source: str, error: str) -> Reply:
    name = error_name(error)
    lines = [
        NOTICE + f" It cannot explain the `{name}`, so here is the cell again, guarded so "
        "that it runs and reports the error instead of stopping.",
        "",
        "```python",
        fixed_cell(source, error),
        "```",
        "",
        "Point the client at the real GLM-4.7-Flash endpoint, with an API key, for a real fix.",
    ]
    reasoning = (
        f"This request reached the local GLM test server, which runs no model. It asks to fix "
        f"a cell that raised {name}; the canned answer returns the cell, guarded."
    )
    return Reply(text="\n".join(lines), reasoning=reasoning)


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + "…"


def _search(body: Any) -> dict[str, Any] | None:
    """The request's web search options, if it asked for a search: the hosted service's
    top-level ``tool_web_search`` fields, or Z.ai's ``web_search`` tools entry."""
    if not isinstance(body, Mapping):
        return None
    if body.get("tool_web_search") is True:
        return {key: value for key, value in body.items() if key in SEARCH_FIELDS}
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, Mapping) and tool.get("type") == "web_search":
            options = tool.get("web_search")
            return dict(options) if isinstance(options, Mapping) else {}
    return None


def search_results(prompt: str, count: int) -> list[dict[str, str]]:
    """Deterministic stand-ins for web search results (on the reserved example.org)."""
    topic = _cut(" ".join(prompt.split()), 50) or "your question"
    return [
        {
            "title": f"Local test source {number}: {topic}",
            "link": f"https://example.org/glm-magics-local-test/{number}",
            "content": "The local test server searched nothing: this stands in for a page.",
            "media": "example.org",
            "publish_date": "2026-01-01",
            "refer": f"ref_{number}",
            "icon": "",
        }
        for number in range(1, count + 1)
    ]


def _functions(body: Any) -> list[Mapping[str, Any]]:
    tools = body.get("tools") if isinstance(body, Mapping) else None
    found = []
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            found.append(function)
    return found


_StandIns = Callable[[str], Mapping[str, Any]]
"""The values of the scalar types (``integer``, ``number``, ``boolean``, ``string``)
for a field, by the field's name."""


def _placeholders(name: str) -> Mapping[str, Any]:
    """Fixed stand-ins: what a tool call's arguments get."""
    return {"integer": 1, "number": 1.5, "boolean": True, "string": "example"}


def _drawn_from(prompt: str) -> _StandIns:
    """Stand-ins derived from ``prompt``: its start for a string, numbers and booleans
    from a hash of the prompt and the field's name (same prompt, same values)."""
    text = _cut(" ".join(prompt.split()), 40) or "example"

    def values(name: str) -> Mapping[str, Any]:
        digest = int(hashlib.sha256(f"{name}\0{prompt}".encode()).hexdigest()[:8], 16)
        return {
            "integer": digest % 100,
            "number": digest % 10000 / 100,
            "boolean": digest % 2 == 0,
            "string": text,
        }

    return values


def _example(schema: Any, stand_ins: _StandIns, name: str = "") -> Any:
    """A value of ``schema`` for the field ``name``: its default or first enum value,
    else by type ``[]``, ``None``, an object of examples, or a stand-in."""
    if not isinstance(schema, Mapping):
        schema = {}
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    choices = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(choices, list) and choices:
        typed = [c for c in choices if not (isinstance(c, Mapping) and c.get("type") == "null")]
        return _example((typed or choices)[0], stand_ins, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind == "object":
        properties = schema.get("properties")
        fields = properties.items() if isinstance(properties, Mapping) else []
        return {key: _example(value, stand_ins, str(key)) for key, value in fields}
    if kind in ("array", "null"):
        return [] if kind == "array" else None
    values = stand_ins(name)
    return values.get(kind, values["string"])


def _schema_hint(body: Any) -> Mapping[str, Any] | None:
    """The object schema that a system message gives after :data:`SCHEMA_MARKER`."""
    for text in _texts(body, "system"):
        for line in text.splitlines():
            _, marker, rest = line.partition(SCHEMA_MARKER)
            try:
                schema = json.loads(rest) if marker else None
            except ValueError:
                continue
            if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping):
                return schema
    return None


def _tool_round(body: Any) -> Reply | None:
    """With function tools: call each once (placeholder arguments); after their results,
    answer by listing what they returned."""
    functions = _functions(body)
    messages = body.get("messages") if isinstance(body, Mapping) else None
    if not functions or not isinstance(messages, list) or not messages:
        return None
    last = messages[-1] if isinstance(messages[-1], Mapping) else {}
    if last.get("role") == "tool":
        results: list[str] = []
        for message in reversed(messages):
            if not isinstance(message, Mapping) or message.get("role") != "tool":
                break
            results.insert(0, _cut(str(message.get("content", "")), 120))
        lines = [NOTICE + " The functions returned:", ""]
        lines += [f"{number}. `{text}`" for number, text in enumerate(results, 1)]
        return Reply(
            text="\n".join(lines),
            reasoning="The tool results arrived; listing them.",
            web_search=_sources_for(body, last_user_text(body)),
        )
    if last.get("role") != "user":
        return None
    calls = []
    for function in functions[:3]:
        parameters = function.get("parameters")
        properties = parameters.get("properties", {}) if isinstance(parameters, Mapping) else {}
        required = parameters.get("required", []) if isinstance(parameters, Mapping) else []
        arguments = {name: _example(properties.get(name), _placeholders, name) for name in required}
        calls.append(ToolCallSpec(str(function["name"]), json.dumps(arguments)))
    return Reply(
        reasoning="The local test server runs no model: it calls each offered function once, "
        "with placeholder arguments.",
        tool_calls=calls,
    )


def _wants_json(body: Any) -> bool:
    response_format = body.get("response_format") if isinstance(body, Mapping) else None
    return isinstance(response_format, Mapping) and response_format.get("type") == "json_object"


def _sources_for(body: Any, prompt: str) -> list[dict[str, str]]:
    """Stand-in sources when the request asked for a search with its results."""
    search = _search(body)
    if search is None or search.get("search_result") is False:
        return []
    count = search.get("count")
    wanted = count if isinstance(count, int) and 1 <= count <= 50 else 3
    return search_results(prompt, min(wanted, 5))


def _code_only(body: Any) -> bool:
    """Whether a system message asks for code only (``%%glm --code``)."""
    return any("code only" in text.lower() for text in _texts(body, "system"))


def _inert(line: str) -> str:
    """A quoted line that cannot open or close a code fence in the answer."""
    stripped = line.lstrip()
    return "\\" + line if stripped.startswith(("```", "~~~")) else line


def default_reply(body: Any) -> Reply:
    """The deterministic demo answer to a chat request ``body``.

    With function tools it calls each once, then lists their results; with web
    search it adds stand-in sources. In JSON mode (``response_format`` of type
    ``json_object``) it answers one JSON object: when a system message has a line
    with ``JSON schema: {...}`` (an object schema with ``properties``; the JSON
    runs from after the marker to the end of that line), as map_rows writes it::

        Answer with one JSON object that matches this JSON schema: {"type": "object", ...}

    the object has every property, each with a plausible value: its default or
    first enum value, else by type the start of the last user message (string),
    a number or a boolean drawn from a hash of that message and the property name
    (the same prompt gets the same values), ``[]`` (array), an object filled the
    same way. Without such a line the object has a notice and the prompt.

    >>> reply = default_reply({"messages": [{"role": "user", "content": "Write python code"}]})
    >>> "local test server" in reply.text and "```python" in reply.text
    True
    """
    tool_round = _tool_round(body)
    if tool_round is not None:
        return tool_round
    prompt = last_user_text(body)
    if _wants_json(body):
        schema = _schema_hint(body)
        if schema is not None:
            reasoning = "JSON mode with a schema: one object, a stand-in value per property."
            answer = _example(schema, _drawn_from(prompt))
            return Reply(text=json.dumps(answer), reasoning=reasoning)
        answer = {"notice": "local test server, not the model", "you_asked": _cut(prompt, 120)}
        return Reply(text=json.dumps(answer), reasoning="JSON mode: one object.")
    fix = FIX_REQUEST.search(prompt)
    if fix is not None:
        return _fix_reply(fix.group("source"), fix.group("error"))
    prompt = question_of(prompt)
    wants_code = bool(_CODE_WORDS.search(prompt)) or _code_only(body)
    quoted = _cut(prompt, _QUOTE_LIMIT)
    reasoning = (
        "This request reached the local GLM test server, which runs no model. "
        f"The last user message has {len(prompt)} characters"
        + (" and asks for code" if wants_code else "")
        + ", so the canned demo answer follows: a notice, the quoted prompt"
        + (" and a small Python function." if wants_code else ".")
    )
    lines = [
        NOTICE + " `glm_magics.testing` wrote this canned reply so that notebooks and "
        "tests run without network access or an API key.",
        "",
    ]
    if quoted:
        lines += ["You asked:", ""]
        lines += [f"> {_inert(line)}" if line else ">" for line in quoted.splitlines()]
    else:
        lines.append("The request had no user message.")
    if wants_code:
        lines += ["", "Here is a small, real function to try code rendering with:", ""]
        lines += ["```python", code_for(prompt), "```"]
    sources = _sources_for(body, prompt)
    if _search(body) is not None:
        lines += ["", "A web search was requested: stand-in sources (none searched) [1]."]
    lines += [
        "",
        "Point the client at the real GLM-4.7-Flash endpoint, with an API key, for actual answers.",
    ]
    return Reply(text="\n".join(lines), reasoning=reasoning, web_search=sources)
