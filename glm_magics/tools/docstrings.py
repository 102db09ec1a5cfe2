"""Reading a function's summary and parameter descriptions from its docstring.

The model sees a tool's first docstring paragraph as the tool's description and
each documented parameter as that property's description, so people document a
tool the way they already document functions. Google (``Args:``), NumPy
(``Parameters`` over a ``----`` rule) and Sphinx (``:param x:``) styles are read;
any other section (``Returns:``, ``Examples``...) ends the summary and is skipped.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable

__all__ = ["docstring_parts", "one_line"]

_PARAM_SECTIONS = {
    *("args", "arguments", "parameters", "params", "keyword args", "keyword arguments"),
    *("other parameters", "attributes"),
}
_SECTIONS = _PARAM_SECTIONS | {
    *("returns", "return", "yields", "raises", "examples", "example", "note", "notes"),
    *("warning", "warnings", "see also", "references", "todo"),
}
_GOOGLE_HEADER = re.compile(r"([A-Za-z][A-Za-z ]*):\s*")
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(\w+)\s*(?:\(.*\))?\s*:\s*(.*)")
_NUMPY_RULE = re.compile(r"\s*-{3,}\s*")
_NUMPY_ENTRY = re.compile(r"(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?")
_SPHINX_FIELD = re.compile(
    r"\s*:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:\s*(.*)"
)


def docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary (first paragraph) and the parameter descriptions of a raw ``__doc__``.

    Whitespace is normalised, so a description wrapped over several lines reads
    as one::

        >>> docstring_parts("Add.\\n\\n:param a: first\\n   number")
        ('Add.', {'a': 'first number'})
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    for index, line in enumerate(lines):
        if _starts_section(lines, index):
            break
        if not line.strip():
            if summary:
                break
            continue
        summary.append(line)
    params: dict[str, str] = {}
    for index, line in enumerate(lines):
        header = _GOOGLE_HEADER.fullmatch(line.strip())
        if header and header[1].lower() in _PARAM_SECTIONS:
            params.update(_google_entries(lines[index + 1 :], _indent(line)))
        elif line.strip().lower() in _PARAM_SECTIONS and _is_rule(lines, index + 1):
            params.update(_numpy_entries(lines[index + 2 :], _indent(line)))
        elif field := _SPHINX_FIELD.fullmatch(line):
            more = []
            for follow in lines[index + 1 :]:
                if not follow.strip() or _indent(follow) <= _indent(line):
                    break
                more.append(follow)
            params[field[1]] = one_line([field[2], *more])
    return one_line(summary), params


def one_line(parts: Iterable[str]) -> str:
    """``parts`` joined by single spaces, every run of whitespace (newlines too) made one space."""
    return " ".join(" ".join(parts).split())


def _starts_section(lines: list[str], index: int) -> bool:
    text = lines[index].strip()
    header = _GOOGLE_HEADER.fullmatch(text)
    return bool(
        (header and header[1].lower() in _SECTIONS)
        or (text and _is_rule(lines, index + 1))
        or re.match(r":\w+", text)
    )


def _is_rule(lines: list[str], index: int) -> bool:
    return index < len(lines) and _NUMPY_RULE.fullmatch(lines[index]) is not None


def _google_entries(lines: list[str], header_indent: int) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    entry_indent: int | None = None
    for line in lines:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= header_indent:
            break
        entry_indent = indent if entry_indent is None else entry_indent
        match = _GOOGLE_ENTRY.fullmatch(line.strip()) if indent <= entry_indent else None
        if match:
            current = entries[match[1]] = [match[2]]
        elif current is not None:
            current.append(line)
    return {name: one_line(text) for name, text in entries.items()}


def _numpy_entries(lines: list[str], header_indent: int) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    current: list[list[str]] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _indent(line) > header_indent:
            for text in current:
                text.append(line)
            continue
        match = _NUMPY_ENTRY.fullmatch(line.strip())
        if _is_rule(lines, index + 1) or not match:
            break
        names = [name.strip().lstrip("*") for name in match[1].split(",")]
        current = [entries.setdefault(name, []) for name in names]
    return {name: one_line(text) for name, text in entries.items()}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
