"""A model's parameter ranges as its service publishes them, with a built-in fallback.

Some services describe a model at ``GET {base_url}/models/{id}``, ranges included.
:class:`ModelSchema` reads the shapes met in practice::

    {"parameters": {"temperature": {"min": 0.0, "max": 1.0, "default": 1.0},
                    "context_window": 200000}}
    {"parameters": [{"name": "temperature", "minimum": 0, "maximum": 1, "default": 1}]}
    {"properties": {"temperature": {"minimum": 0, "maximum": 1, "default": 1}}}

and falls back to the documented GLM-4.7 ranges (:data:`glm_magics.wire.params.RANGES`)
for anything missing or malformed. :class:`SchemaCache` asks each service once::

    cache = SchemaCache()
    schema = cache.get(client, "glm-4.7-flash")
    schema.check({"temperature": 0.3})    # ParameterError if outside the range

A service that cannot be asked (no such route, model unknown, offline) gets the
built-in schema, and is not asked again for ten minutes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from glm_magics.errors import ConfigurationError, GLMError, ParameterError
from glm_magics.wire.limits import Limits
from glm_magics.wire.params import CONTEXT_WINDOW, RANGES, Range

__all__ = ["NEGATIVE_TTL", "ModelInfoSource", "ModelSchema", "SchemaCache"]

#: Seconds before a service that failed to describe a model is asked again.
NEGATIVE_TTL = 600.0

_LOW_KEYS = ("min", "minimum")
_HIGH_KEYS = ("max", "maximum")
# vLLM lists "max_model_len"; others say "context_length".
_CONTEXT_KEYS = ("context_window", "context_length", "max_model_len")


@dataclass(frozen=True)
class ModelSchema:
    """The ranges to check a model's parameters against, and where they came from.

    ``source`` is ``"service"`` when the service published at least one usable
    range or the context window, ``"built-in"`` otherwise.
    """

    model: str
    ranges: dict[str, Range]
    context_window: int | None
    source: Literal["service", "built-in"]
    limits: Limits | None = None
    """The rate limits the service publishes for the model (``rate_limits``), if any."""

    @classmethod
    def builtin(cls, model: str) -> ModelSchema:
        """The documented GLM-4.7 ranges, for a service that publishes none."""
        return cls(model, dict(RANGES), CONTEXT_WINDOW, "built-in")

    @classmethod
    def from_payload(cls, model: str, payload: object) -> ModelSchema:
        """Read a ``GET /models/{id}`` body; what it lacks or gets wrong is built-in."""
        published = _published(payload)
        ranges = dict(RANGES)
        found = False
        for name, spec in published.items():
            checked = _range(spec, RANGES.get(name))
            if checked is not None:
                ranges[name] = checked
                found = True
        context = _context_window(payload, published)
        if context is not None:
            found = True
        limits = _rate_limits(payload)
        if not found:
            return cls(model, dict(RANGES), CONTEXT_WINDOW, "built-in", limits)
        window = context if context is not None else CONTEXT_WINDOW
        return cls(model, ranges, window, "service", limits)

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise ParameterError for the first value outside its range (``None`` skipped)."""
        for name, value in params.items():
            spec = self.ranges.get(name)
            if spec is None or value is None:
                continue
            try:
                spec.check(name, value)
            except ParameterError as exc:
                if self.source != "service" or not _is_number(value):
                    raise
                raise ParameterError(
                    f"{exc}; this range comes from the published schema of model {self.model!r}"
                ) from None


def _published(payload: object) -> dict[str, object]:
    """``{name: spec}`` from whichever shape the payload uses; ``{}`` if none."""
    if not isinstance(payload, Mapping):
        return {}
    container = payload.get("parameters", payload)
    if isinstance(container, Mapping) and isinstance(container.get("properties"), Mapping):
        container = container["properties"]
    if isinstance(container, Mapping):
        return {str(name): spec for name, spec in container.items()}
    if isinstance(container, list):
        return {
            item["name"]: item
            for item in container
            if isinstance(item, Mapping) and isinstance(item.get("name"), str)
        }
    return {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _is_number(value: object) -> bool:
    return _number(value) is not None


class _Invalid:
    """A bound that is present but not a finite number."""


_INVALID = _Invalid()


def _bound(spec: Mapping[str, object], keys: tuple[str, ...]) -> float | _Invalid | None:
    """The first of ``keys`` in ``spec``: a number, ``_INVALID``, or None when absent."""
    for key in keys:
        if key in spec:
            number = _number(spec[key])
            return _INVALID if number is None else number
    return None


def _range(spec: object, known: Range | None) -> Range | None:
    """A Range from one published spec, gaps filled from ``known``; None if unusable."""
    if not isinstance(spec, Mapping):
        return None
    low, high = _bound(spec, _LOW_KEYS), _bound(spec, _HIGH_KEYS)
    if isinstance(low, _Invalid) or isinstance(high, _Invalid) or (low is None and high is None):
        return None
    if known is not None:
        low = float(known.low) if low is None else low
        high = float(known.high) if high is None else high
    if low is None or high is None or low > high:
        return None
    integer = known.integer if known is not None else spec.get("type") == "integer"
    if integer and not (low.is_integer() and high.is_integer()):
        return None
    default = _bound(spec, ("default",))
    if not isinstance(default, float) or not low <= default <= high:
        fallback = float(known.default) if known is not None else low
        default = fallback if low <= fallback <= high else low
    if integer:
        return Range(int(low), int(high), int(default), integer=True)
    return Range(low, high, default)


def _context_window(payload: object, published: Mapping[str, object]) -> int | None:
    candidates: list[object] = [published.get(key) for key in _CONTEXT_KEYS]
    if isinstance(payload, Mapping):
        candidates += [payload.get(key) for key in _CONTEXT_KEYS]
    for value in candidates:
        number = _number(value)
        if number is not None and number >= 1 and number.is_integer():
            return int(number)
    return None


def _rate_limits(payload: object) -> Limits | None:
    """``{"rate_limits": {"requests_per_minute": N, "tokens_per_minute": M}}``, if given."""
    stated = payload.get("rate_limits") if isinstance(payload, Mapping) else None
    if not isinstance(stated, Mapping):
        return None
    rpm, tpm = (_number(stated.get(key)) for key in ("requests_per_minute", "tokens_per_minute"))
    rpm, tpm = (value if value is not None and value > 0 else None for value in (rpm, tpm))
    return Limits(requests_per_minute=rpm, tokens_per_minute=tpm) if rpm or tpm else None


class ModelInfoSource(Protocol):
    """What :class:`SchemaCache` needs from a client (``GLMClient`` is one)."""

    @property
    def base_url(self) -> str: ...

    def model_info(self, model: str) -> Mapping[str, Any]: ...


@dataclass
class _Entry:
    schema: ModelSchema
    expires: float | None  # None: kept until clear()


class SchemaCache:
    """Model schemas per ``(base_url, model)``, safe to share between threads.

    A schema the service published is kept until :meth:`clear`. When asking fails
    with a :class:`~glm_magics.errors.GLMError` (HTTP error, no connection), the
    built-in schema is returned and the failure remembered for ``negative_ttl``
    seconds, measured with ``clock`` (inject a fake one in tests). A
    :class:`~glm_magics.errors.ConfigurationError` (no key yet) is not remembered:
    nothing was asked, and fixing the setting should take effect at once.
    Concurrent callers for the same key wait for one request instead of sending
    their own.
    """

    def __init__(
        self,
        *,
        negative_ttl: float = NEGATIVE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.negative_ttl = negative_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def get(self, client: ModelInfoSource, model: str) -> ModelSchema:
        """The schema of ``model`` on ``client``'s service, asking it at most once."""
        try:
            key = (client.base_url, model)
        except ConfigurationError:
            return ModelSchema.builtin(model)
        schema = self._cached(key)
        if schema is not None:
            return schema
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            schema = self._cached(key)
            if schema is not None:
                return schema
            try:
                payload = client.model_info(model)
            except ConfigurationError:
                return ModelSchema.builtin(model)
            except GLMError:
                schema = ModelSchema.builtin(model)
                expires: float | None = self._clock() + self.negative_ttl
            else:
                schema = ModelSchema.from_payload(model, payload)
                expires = None
            with self._lock:
                self._entries[key] = _Entry(schema, expires)
            return schema

    def clear(self) -> None:
        """Forget every schema and failure, so the next :meth:`get` asks again."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def _cached(self, key: tuple[str, str]) -> ModelSchema | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires is not None and self._clock() >= entry.expires:
                del self._entries[key]
                return None
            return entry.schema
