"""The JSON schema a model sees for a function: from its signature, type hints and docstring.

:func:`describe_tool` checks a function once, when it is registered, and keeps
what running its calls needs later (:class:`ToolSpec`); :func:`function_schema` is
the part the model sees, the chat ``tools`` entry::

    >>> def add(a: int, b: int = 1) -> int:
    ...     "Add two numbers."
    ...     return a + b
    >>> function_schema(add)["function"]["parameters"]["properties"]
    {'a': {'type': 'integer'}, 'b': {'type': 'integer', 'default': 1}}

Anything the model could not call correctly (``*args``, positional-only
parameters, a type JSON cannot describe) is a ``TypeError`` here, saying what to
change, rather than a confusing failure when the model first calls it.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import functools
import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glm_magics.tools.docstrings import docstring_parts
from glm_magics.tools.hints import (
    PRIMITIVES,
    array_type,
    choices,
    fixed_tuple_items,
    is_any,
    is_mapping,
    is_none,
    is_object_type,
    is_optional,
    is_union,
    object_fields,
    resolve_hints,
    unwrap_hint,
)

__all__ = [
    "ToolSpec",
    "describe_tool",
    "function_schema",
    "is_marked",
    "mark_confirm",
    "type_schema",
]

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_SUPPORTED = (
    "str, int, float, bool, None, list[...], tuple[..., ...], set[...], dict[str, ...], "
    "Literal[...], an Enum, a dataclass, a TypedDict, or a union of these"
)


@dataclass(frozen=True)
class ToolSpec:
    """A function checked and described once, with what running its calls needs.

    ``schema`` is the chat ``tools`` entry; ``signature`` and ``hints`` (resolved,
    ``Annotated`` kept) are what arguments are bound and converted against.
    ``confirm``: the function acts, so a call waits for a person's approval
    (:mod:`~glm_magics.tools.approval`).
    """

    name: str
    function: Callable[..., Any]
    schema: dict[str, Any]
    signature: inspect.Signature
    hints: dict[str, Any]
    confirm: bool = False


def function_schema(
    func: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """The chat ``tools`` entry describing ``func``, from its signature, hints and docstring.

    ``X | None`` parameters are nullable and never required (a missing one is passed
    as ``None``); parameters with a default are not required and show the default
    when it is JSON. Raises ``TypeError`` saying what to change for ``*args``,
    ``**kwargs``, positional-only parameters or a type JSON cannot describe::

        >>> def add(a: int, b: int = 1) -> int:
        ...     "Add two numbers."
        ...     return a + b
        >>> function_schema(add)["function"]["parameters"]["required"]
        ['a']
    """
    return copy.deepcopy(describe_tool(func, name, description).schema)


def type_schema(hint: Any, where: str = "the value") -> dict[str, Any]:
    """The JSON schema of a value typed ``hint`` (a dataclass, a TypedDict, ``list[int]``...).

    ``where`` names the value in the ``TypeError`` raised for a type JSON cannot
    describe::

        >>> type_schema(list[int])
        {'type': 'array', 'items': {'type': 'integer'}}
    """
    return _schema(hint, where)


def describe_tool(
    func: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    confirm: bool | None = None,
) -> ToolSpec:
    """Check ``func`` and describe it as a tool named ``name`` (default: its ``__name__``).

    Plain functions, bound methods, ``functools.partial`` objects and callable
    instances work; for the last two the hints and docstring come from the wrapped
    function or ``__call__``. ``description`` replaces the docstring's summary.
    ``confirm`` (``None``: as ``@tool(confirm=True)`` marked the function) says its
    calls wait for approval.
    """
    if not callable(func):
        raise TypeError(f"a tool must be a function, got {func!r}")
    name = name if name is not None else getattr(func, "__name__", type(func).__name__)
    _check_name(name)
    where = f"tool {name!r}"
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(f"{where} is async; register a plain (synchronous) function instead")
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot read its signature ({exc}); wrap it in a def") from None
    target: Any = func
    doc = func.__doc__
    if isinstance(func, functools.partial):
        target = func.func
        doc = target.__doc__
    elif not (inspect.isfunction(func) or inspect.ismethod(func)):
        target = type(func).__call__  # a callable object: its __call__ has the hints
        doc = target.__doc__ or doc
    hints = resolve_hints(target, where)
    summary, docs = docstring_parts(doc)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for index, param in enumerate(signature.parameters.values()):
        _check_kind(param, index, where, inspect.isfunction(func))
        hint = hints.get(param.name, param.annotation)
        where_param = f"parameter {param.name!r} of {where}"
        described = docs.get(param.name)
        properties[param.name] = _schema(hint, where_param, frozenset(), described, param.default)
        if param.default is inspect.Parameter.empty and not is_optional(hint):
            required.append(param.name)
    function: dict[str, Any] = {"name": name}
    text = summary if description is None else description
    if text:
        function["description"] = text
    function["parameters"] = {"type": "object", "properties": properties, "required": required}
    if confirm is None:
        confirm = is_marked(func)
    tool_entry = {"type": "function", "function": function}
    return ToolSpec(name, func, tool_entry, signature, hints, confirm)


_MARK = "__glm_magics_confirm__"


def mark_confirm(func: Callable[..., Any], confirm: bool = True) -> None:
    """Remember on ``func`` itself whether its calls wait for approval, so passing it to
    one request (``tools=[func]``) keeps the mark. Best effort: the registry knows too."""
    for target in (func, getattr(func, "__func__", None)):
        if target is None:
            continue
        try:
            setattr(target, _MARK, confirm)
            return
        except (AttributeError, TypeError):
            continue


def is_marked(func: Callable[..., Any]) -> bool:
    """Whether :func:`mark_confirm` marked ``func`` (a bound method: its function)."""
    return getattr(func, _MARK, False) is True


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"tool name {name!r} is not allowed: use 1-64 letters, digits, '_' or '-' "
            "(pass name='...' to choose another)"
        )


def _check_kind(param: inspect.Parameter, index: int, where: str, plain_function: bool) -> None:
    kinds = inspect.Parameter
    if param.kind is kinds.VAR_POSITIONAL or param.kind is kinds.VAR_KEYWORD:
        star = "*" if param.kind is kinds.VAR_POSITIONAL else "**"
        raise TypeError(
            f"{where} takes {star}{param.name}; the model sends named arguments, so list each "
            "parameter explicitly (def f(city: str, days: int = 1))"
        )
    if param.kind is kinds.POSITIONAL_ONLY:
        raise TypeError(
            f"parameter {param.name!r} of {where} is positional-only; the model passes "
            "arguments by name, so remove the '/' from the signature"
        )
    if index == 0 and plain_function and param.name == "self":
        raise TypeError(
            f"{where} takes 'self': register the bound method of an instance "
            "(registry.add(obj.method)) instead of decorating it inside the class"
        )


def _schema(
    hint: Any,
    where: str,
    seen: frozenset[type] = frozenset(),
    doc: str | None = None,
    default: Any = inspect.Parameter.empty,
) -> dict[str, Any]:
    """The schema of a parameter, field or item typed ``hint``.

    The description is the ``Annotated`` text, else ``doc`` (from the docstring);
    a ``default`` is shown when it survives a trip through JSON. ``where`` names
    the spot for error messages; ``seen`` holds the classes being described, so a
    class that contains itself is an error instead of endless recursion.
    """
    bare, annotated = unwrap_hint(hint)
    schema = _schema_of(bare, where, seen)
    if annotated or doc:
        schema["description"] = annotated or doc
    if default is not inspect.Parameter.empty:
        value = default.value if isinstance(default, enum.Enum) else default
        with contextlib.suppress(TypeError, ValueError):  # not JSON: leave the default out
            schema["default"] = json.loads(json.dumps(value, allow_nan=False))
    return schema


def _schema_of(hint: Any, where: str, seen: frozenset[type]) -> dict[str, Any]:
    try:
        hash(hint)
    except TypeError:  # an annotation that is not a type at all, such as [int]
        raise _undescribable(hint, where) from None
    if is_any(hint):
        return {}
    if is_none(hint):
        return {"type": "null"}
    if hint in PRIMITIVES:
        return {"type": PRIMITIVES[hint]}
    args = typing.get_args(hint)
    if is_union(hint):
        return {"anyOf": [_schema(arg, where, seen) for arg in args]}
    if (values := choices(hint)) is not None:
        return _enum_schema(values, where)
    if (kind := array_type(hint)) is not None:
        schema: dict[str, Any] = {"type": "array"}
        if (items := fixed_tuple_items(hint)) is not None:
            described = [_schema(item, f"{where}[{i}]", seen) for i, item in enumerate(items)]
            return {
                **schema,
                "prefixItems": described,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if args and (item := _schema(args[0], f"{where}[]", seen)):
            schema["items"] = item
        if kind in (set, frozenset):
            schema["uniqueItems"] = True
        return schema
    if is_mapping(hint):
        schema = {"type": "object"}
        if args and unwrap_hint(args[0])[0] not in (str, Any):
            raise TypeError(f"{where}: JSON object keys are strings; use dict[str, ...]")
        if args and (value := _schema(args[1], f"{where}[]", seen)):
            schema["additionalProperties"] = value
        return schema
    if is_object_type(hint):
        return _object_schema(hint, where, seen)
    raise _undescribable(hint, where)


def _undescribable(hint: Any, where: str) -> TypeError:
    name = hint.__name__ if isinstance(hint, type) else repr(hint)
    return TypeError(
        f"{where} has type {name}, which cannot be described as JSON; "
        f"annotate it as {_SUPPORTED} (or drop the annotation to accept any value)"
    )


def _enum_schema(values: list[Any], where: str) -> dict[str, Any]:
    kinds = {PRIMITIVES.get(type(value)) or ("null" if value is None else "") for value in values}
    if "" in kinds:
        raise TypeError(f"{where}: choices must be str, int, float, bool or None, got {values!r}")
    return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 else {"enum": values}


def _object_schema(cls: type, where: str, seen: frozenset[type]) -> dict[str, Any]:
    if cls in seen:
        raise TypeError(f"{where}: {cls.__name__} refers to itself, which cannot be described")
    seen = seen | {cls}
    hints = resolve_hints(cls, where)
    summary, docs = docstring_parts(_own_doc(cls))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, (hint, is_required, default) in object_fields(cls, hints).items():
        properties[name] = _schema(hint, f"{where}.{name}", seen, docs.get(name), default)
        if is_required:
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    return {**schema, "description": summary} if summary else schema


def _own_doc(cls: type) -> str | None:
    """The class docstring, unless it is the one ``@dataclass`` wrote (``Point(x: int)``)."""
    doc = cls.__doc__
    return None if doc is None or doc.startswith(f"{cls.__name__}(") else doc
