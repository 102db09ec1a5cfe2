"""Checking the arguments a model sends and converting them to the annotated types.

A model sends a tool's arguments as a JSON object; the function expects Python
values. :func:`bind_arguments` matches the object to the signature and converts
each value to its parameter's hint (:func:`convert`): an Enum member for its
value, a dataclass for an object, a tuple or set for an array. A value that does
not fit is a ``ValueError`` whose message says where and what was expected, e.g.
``argument 'days' must be an integer or null, got "two"``, so the model can retry::

    >>> convert([1, 2.0], tuple[int, float], "argument 'pair'")
    (1, 2.0)
"""

from __future__ import annotations

import difflib
import inspect
import json
import typing
from typing import Any, Literal, NoReturn

from glm_magics.tools.hints import (
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

__all__ = ["bind_arguments", "convert"]


class _ArgumentError(ValueError):
    """An argument the model sent does not fit its parameter's type.

    ``expected`` (e.g. ``"an integer"``) is set when the value itself had the wrong
    shape, so a union can say ``must be an integer or null``.
    """

    def __init__(self, message: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.expected = expected


def bind_arguments(
    signature: inspect.Signature, hints: dict[str, Any], arguments: dict[str, Any]
) -> inspect.BoundArguments:
    """``arguments`` (a decoded JSON object) bound to ``signature``, each value converted.

    ``hints`` are the function's resolved hints (the annotation is used where
    there is none). A missing ``X | None`` parameter without a default is passed as
    ``None``. ``arguments`` is changed in place. Raises ``ValueError`` for an
    unknown or missing argument and for a value that does not fit its hint.
    """
    params = signature.parameters
    unexpected = [name for name in arguments if name not in params]
    if unexpected:
        close = difflib.get_close_matches(unexpected[0], list(params), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unexpected argument {', '.join(map(repr, unexpected))}{hint}")
    for name, param in params.items():
        hint = hints.get(name, param.annotation)
        if name in arguments:
            arguments[name] = convert(arguments[name], hint, f"argument {name!r}")
        elif param.default is inspect.Parameter.empty and is_optional(hint):
            arguments[name] = None
    try:
        return signature.bind(**arguments)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` (decoded JSON) as the type ``hint`` asks for; ``ValueError`` when it does not fit.

    ``where`` names the value in the message (``argument 'city'``); nested values
    extend it (``argument 'points'[0]['lat']``). Hints JSON cannot carry are
    passed through unchecked.
    """
    hint = unwrap_hint(hint)[0]
    args = typing.get_args(hint)
    if is_any(hint):
        return value
    if is_none(hint):
        return _expect(value is None, value, value, where, "null")
    if hint is bool:
        return _expect(isinstance(value, bool), value, value, where, "true or false")
    if hint is int:
        whole = isinstance(value, float) and value.is_integer()
        ok = (isinstance(value, int) and not isinstance(value, bool)) or whole
        return _expect(ok, value, int(value) if ok else value, where, "an integer")
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return _expect(ok, value, float(value) if ok else value, where, "a number")
    if hint is str:
        return _expect(isinstance(value, str), value, value, where, "a string")
    if is_union(hint):
        failures: list[_ArgumentError] = []
        for arg in args:
            try:
                return convert(value, arg, where)
            except _ArgumentError as exc:
                failures.append(exc)
        deeper = [failure for failure in failures if failure.expected is None]
        if deeper:
            raise deeper[0]
        _reject(value, where, " or ".join(failure.expected or "" for failure in failures))
    if (values := choices(hint)) is not None:
        for index, choice in enumerate(values):
            if choice == value and type(choice) is type(value):
                return value if typing.get_origin(hint) is Literal else list(hint)[index]
        _reject(value, where, f"one of {', '.join(map(_dump, values))}")
    if (kind := array_type(hint)) is not None:
        _expect(isinstance(value, list), value, value, where, "an array")
        if (items := fixed_tuple_items(hint)) is not None:
            _expect(len(value) == len(items), value, value, where, f"{len(items)} items")
            return tuple(
                convert(v, a, f"{where}[{i}]")
                for i, (v, a) in enumerate(zip(value, items, strict=True))
            )
        item = args[0] if args else Any
        return kind(convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if is_mapping(hint):
        _expect(isinstance(value, dict), value, value, where, "an object")
        item = args[1] if args else Any
        return {key: convert(v, item, f"{where}[{key!r}]") for key, v in value.items()}
    if is_object_type(hint):
        return _convert_object(value, hint, where)
    return value


def _convert_object(value: Any, cls: type, where: str) -> Any:
    _expect(isinstance(value, dict), value, value, where, f"an object ({cls.__name__})")
    fields = object_fields(cls, resolve_hints(cls, where))
    unexpected = [key for key in value if key not in fields]
    missing = [name for name, (_, required, _) in fields.items() if required and name not in value]
    if unexpected or missing:
        problems = [f"unexpected key {key!r}" for key in unexpected]
        problems += [f"missing key {key!r}" for key in missing]
        raise _ArgumentError(f"{where} ({cls.__name__}): {', '.join(problems)}")
    converted = {
        key: convert(item, fields[key][0], f"{where}[{key!r}]") for key, item in value.items()
    }
    if typing.is_typeddict(cls):
        return converted
    try:
        return cls(**converted)
    except Exception as exc:
        raise _ArgumentError(
            f"{where}: {cls.__name__} refused it ({type(exc).__name__}: {exc})"
        ) from None


def _expect(ok: bool, value: Any, result: Any, where: str, expected: str) -> Any:
    """``result`` when ``ok``, else an error saying what was ``expected``."""
    if not ok:
        _reject(value, where, expected)
    return result


def _reject(value: Any, where: str, expected: str) -> NoReturn:
    raise _ArgumentError(f"{where} must be {expected}, got {_dump(value)}", expected)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
