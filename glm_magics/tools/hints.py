"""Which JSON shape a parameter's type hint stands for, shared by both directions of a call.

:mod:`glm_magics.tools.schema` describes a hint to the model as JSON schema, and
:mod:`glm_magics.tools.arguments` turns the JSON the model sends back into that
hint's type. Both must agree on what a hint means, so both ask the questions here:
is it a union, an array (and of which Python type), a fixed-length tuple, a
mapping, a set of choices, an object with fields?

Wrappers that carry no shape are looked through first (:func:`unwrap_hint`)::

    >>> unwrap_hint(Annotated[NotRequired[int], "How many."])
    (<class 'int'>, 'How many.')
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import types
import typing
from typing import Any, Literal, NotRequired, Required

__all__ = [
    "PRIMITIVES",
    "array_type",
    "choices",
    "fixed_tuple_items",
    "is_any",
    "is_mapping",
    "is_none",
    "is_object_type",
    "is_optional",
    "is_union",
    "object_fields",
    "resolve_hints",
    "unwrap_hint",
]

PRIMITIVES: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
"""The scalar Python types and their JSON schema ``type``."""

_ARRAYS: dict[Any, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: list,
}
_MAPPINGS = (dict, collections.abc.Mapping)
_UNIONS = (typing.Union, types.UnionType)


def unwrap_hint(hint: Any) -> tuple[Any, str | None]:
    """``hint`` without ``Annotated``/``Required``/``NewType``, and the Annotated description."""
    description = None
    while True:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            texts = [item for item in hint.__metadata__ if isinstance(item, str)]
            description = description or (texts[0] if texts else None)
            hint = typing.get_args(hint)[0]
        elif origin in (Required, NotRequired):
            hint = typing.get_args(hint)[0]
        elif hasattr(hint, "__supertype__"):
            hint = hint.__supertype__
        else:
            return hint, description


def is_any(hint: Any) -> bool:
    """True for ``Any``, ``object`` and a missing annotation: every value fits."""
    return hint in (Any, object, inspect.Parameter.empty)


def is_none(hint: Any) -> bool:
    """True for ``None`` (JSON ``null``)."""
    return hint is None or hint is types.NoneType


def is_union(hint: Any) -> bool:
    """True for ``X | Y`` and ``Union[X, Y]`` (and so ``Optional[X]``)."""
    return typing.get_origin(hint) in _UNIONS


def is_optional(hint: Any) -> bool:
    """True when ``hint`` is a union that admits ``None``: such a parameter is never required."""
    bare = unwrap_hint(hint)[0]
    return is_union(bare) and types.NoneType in typing.get_args(bare)


def choices(hint: Any) -> list[Any] | None:
    """The allowed values of a ``Literal`` or an Enum (its members' values); else ``None``."""
    if typing.get_origin(hint) is Literal:
        return list(typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return [member.value for member in hint]
    return None


def array_type(hint: Any) -> type | None:
    """The Python type a JSON array becomes for ``hint`` (``Sequence``: ``list``), else ``None``."""
    return _ARRAYS.get(typing.get_origin(hint) or hint)


def fixed_tuple_items(hint: Any) -> tuple[Any, ...] | None:
    """The item hints of ``tuple[X, Y]``; ``None`` for ``tuple[X, ...]``, bare tuple or no tuple."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return args
    return None


def is_mapping(hint: Any) -> bool:
    """True for ``dict`` and ``Mapping``, bare or with parameters."""
    return hint in _MAPPINGS or typing.get_origin(hint) in _MAPPINGS


def is_object_type(hint: Any) -> bool:
    """True for a TypedDict or a dataclass: a JSON object with named fields."""
    return typing.is_typeddict(hint) or (isinstance(hint, type) and dataclasses.is_dataclass(hint))


def object_fields(cls: type, hints: dict[str, Any]) -> dict[str, tuple[Any, bool, Any]]:
    """Each field's hint, whether it is required, and its default (or ``empty``).

    ``cls`` is a TypedDict or a dataclass and ``hints`` its resolved hints
    (:func:`resolve_hints`). Only the fields ``__init__`` takes are listed.
    """
    empty = inspect.Parameter.empty
    if typing.is_typeddict(cls):
        required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        fields = {}
        for name, hint in hints.items():
            annotated = typing.get_origin(hint) is typing.Annotated
            marker = typing.get_origin(typing.get_args(hint)[0] if annotated else hint)
            is_required = marker is Required or (
                name in required_keys and marker is not NotRequired
            )
            fields[name] = (hint, is_required, empty)
        return fields
    return {
        field.name: (
            hints.get(field.name, Any),
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING,
            empty if field.default is dataclasses.MISSING else field.default,
        )
        for field in dataclasses.fields(cls)
        if field.init
    }


def resolve_hints(target: Any, where: str) -> dict[str, Any]:
    """The type hints of ``target`` with ``Annotated`` kept; ``TypeError`` saying how to fix them.

    String annotations (``from __future__ import annotations``) are evaluated here,
    so a name defined after the function or never imported shows up now.
    """
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception as exc:
        raise TypeError(
            f"cannot read the type hints of {where}: {type(exc).__name__}: {exc}. "
            "Define or import every name its annotations use before registering it."
        ) from None
