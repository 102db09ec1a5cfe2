"""What each row's answer becomes: one text column, or typed columns from a schema.

``schema=None`` keeps the answer's text in one column. A dataclass, a TypedDict or a
``{"name": type}`` dict asks for one JSON object per row (JSON mode, with the JSON
schema in the system prompt) and checks and converts it field by field with the
same type machinery the tools use (:mod:`glm_magics.tools`): ``float`` fields become
float columns, ``Literal``/``Enum`` fields their values, and a field that is missing
or of the wrong type fails that row only, with a reason the model can act on::

    schema = RowSchema.of({"sentiment": Literal["pos", "neg"], "score": float})
    schema.read('{"sentiment": "pos", "score": 0.9}')   # {'sentiment': 'pos', 'score': 0.9}
    schema.read('{"sentiment": "meh"}')                  # SchemaMismatch: ... must be one of
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Any

from glm_magics.errors import JSONAnswerError, ParameterError
from glm_magics.results import parse_json_answer
from glm_magics.tools.arguments import convert
from glm_magics.tools.hints import is_object_type, object_fields, resolve_hints, unwrap_hint
from glm_magics.tools.schema import type_schema

__all__ = ["ColumnKind", "RowSchema", "SchemaMismatch"]

ColumnKind = typing.Literal["text", "int", "float", "bool", "object"]


class SchemaMismatch(ValueError):
    """An answer that does not fit the schema; the message says where and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    hint: Any
    required: bool
    kind: ColumnKind


class RowSchema:
    """The columns a row's answer fills; made with :meth:`of`."""

    def __init__(self, fields: list[_Field], json_schema: dict[str, Any] | None) -> None:
        self.fields = fields
        self.json_schema = json_schema
        """``None`` for a plain text answer."""

    @classmethod
    def of(cls, schema: object, column: str = "answer") -> RowSchema:
        """Read ``schema`` (``None``, a dataclass, a TypedDict or a ``{"name": type}`` dict)."""
        if schema is None:
            if not isinstance(column, str) or not column:
                raise ParameterError(f"column must be a non-empty name, got {column!r}")
            return cls([_Field(column, str, True, "text")], None)
        try:
            if isinstance(schema, Mapping):
                if not schema or not all(isinstance(name, str) for name in schema):
                    raise ParameterError("a schema dict maps field names (text) to types")
                fields = [_Field(name, hint, True, _kind(hint)) for name, hint in schema.items()]
                properties = {f.name: type_schema(f.hint, f"field {f.name!r}") for f in fields}
                json_schema = {
                    "type": "object",
                    "properties": properties,
                    "required": [f.name for f in fields],
                }
            elif is_object_type(schema):
                where = f"schema {getattr(schema, '__name__', schema)!r}"
                hints = resolve_hints(schema, where)
                fields = [
                    _Field(name, hint, required, _kind(hint))
                    for name, (hint, required, _) in object_fields(schema, hints).items()  # type: ignore[arg-type]
                ]
                json_schema = type_schema(schema, where)
            else:
                raise ParameterError(
                    "schema must be None, a dataclass, a TypedDict or a {'name': type} dict, "
                    f"got {schema!r}"
                )
        except TypeError as exc:
            raise ParameterError(str(exc)) from None
        return cls(fields, json_schema)

    @property
    def columns(self) -> list[str]:
        """The result columns, in order."""
        return [field.name for field in self.fields]

    def kinds(self) -> dict[str, ColumnKind]:
        """Each column's kind, which decides its dtype."""
        return {field.name: field.kind for field in self.fields}

    def instructions(self) -> str | None:
        """The system prompt line that asks for the JSON (``None`` for text answers)."""
        if self.json_schema is None:
            return None
        schema = json.dumps(self.json_schema, ensure_ascii=False, separators=(",", ":"))
        return f"Answer with one JSON object that matches this JSON schema: {schema}"

    def describe(self) -> str:
        """A stable text of the schema, for a row's key in the store."""
        if self.json_schema is None:
            return f"text:{self.fields[0].name}"
        return json.dumps(self.json_schema, sort_keys=True, ensure_ascii=False)

    def read(self, answer: str) -> dict[str, Any]:
        """The column values in ``answer``, or :class:`SchemaMismatch` saying what is wrong."""
        if self.json_schema is None:
            return {self.fields[0].name: answer.strip()}
        try:
            value = parse_json_answer(answer)
        except JSONAnswerError as exc:
            raise SchemaMismatch(str(exc).split(";")[0]) from None
        return self.values_of(value)

    def values_of(self, value: object) -> dict[str, Any]:
        """The column values in one decoded JSON answer, checked and converted."""
        if self.json_schema is None:
            if not isinstance(value, str):
                raise SchemaMismatch(f"the answer is a JSON {type(value).__name__}, not text")
            return {self.fields[0].name: value.strip()}
        if not isinstance(value, dict):
            raise SchemaMismatch(f"the answer is a JSON {type(value).__name__}, not an object")
        unexpected = [key for key in value if key not in self.columns]
        if unexpected:
            raise SchemaMismatch(f"unexpected field {unexpected[0]!r}")
        values: dict[str, Any] = {}
        for field in self.fields:
            if field.name not in value:
                if field.required:
                    raise SchemaMismatch(f"field {field.name!r} is missing")
                values[field.name] = None
                continue
            try:
                converted = convert(value[field.name], field.hint, f"field {field.name!r}")
            except ValueError as exc:
                raise SchemaMismatch(str(exc)) from None
            values[field.name] = converted.value if isinstance(converted, enum.Enum) else converted
        return values


def _kind(hint: Any) -> ColumnKind:
    """The column kind for a field typed ``hint`` (``X | None`` as ``X``)."""
    bare = unwrap_hint(hint)[0]
    if typing.get_origin(bare) in (typing.Union, UnionType):
        args = [arg for arg in typing.get_args(bare) if arg is not type(None)]
        bare = unwrap_hint(args[0])[0] if len(args) == 1 else bare
    if bare is bool:
        return "bool"
    if bare is int:
        return "int"
    if bare is float:
        return "float"
    if bare is str:
        return "text"
    if typing.get_origin(bare) is typing.Literal:
        choices = typing.get_args(bare)
        return "text" if all(isinstance(choice, str) for choice in choices) else "object"
    if isinstance(bare, type) and issubclass(bare, enum.Enum):
        return "text" if all(isinstance(m.value, str) for m in bare) else "object"
    return "object"
