"""Where settings come from: explicit argument, then session settings, then environment.

The session settings are one shared :class:`Settings` object (``glm_magics.config.settings``):
``%config GLMMagics.model = ...`` and ``%glm config model=...`` write to it, and every
:class:`~glm_magics.client.GLMClient` created without explicit values reads it. The
environment variables are ``EMPIRIOLABS_API_KEY``, ``GLM_BASE_URL`` and ``GLM_MODEL``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from glm_magics.errors import ConfigurationError

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "MODEL_ENV",
    "ZAI_KEY_ENV",
    "Secret",
    "Settings",
    "settings",
]

DEFAULT_BASE_URL = "https://api.empiriolabs.ai/v1"
DEFAULT_MODEL = "glm-4-7-flash"
API_KEY_ENV = "EMPIRIOLABS_API_KEY"
ZAI_KEY_ENV = "ZAI_API_KEY"
BASE_URL_ENV = "GLM_BASE_URL"
MODEL_ENV = "GLM_MODEL"
#: Offered when a service's model list cannot be read: this service's id, then Z.ai's.
KNOWN_MODELS = (
    "glm-4-7-flash",
    "glm-4.7-flash",
    "glm-4.7",
    "glm-4.6",
    "glm-4.5",
    "glm-4.5-air",
    "glm-4.5-flash",
)


class Secret:
    """Holds an API key so that printing, logging or repr never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ConfigurationError("the API key is empty")
        if not value.isascii() or any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ConfigurationError(
                "the API key contains spaces, control or non-ASCII characters: paste it again"
            )
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an API key cannot be pickled")


@dataclass
class Settings:
    """Session-wide values set by ``%config``/``%glm config``; ``None`` means "not set"."""

    api_key: Secret | None = None
    base_url: str | None = None
    model: str | None = None
    preset: str | None = None
    """The preset named with ``%glm config preset=...`` (see :mod:`glm_magics.presets`)."""

    def resolve_api_key(
        self, explicit: str | Secret | None = None, *, env: str = API_KEY_ENV
    ) -> Secret | None:
        """Explicit, then settings, then the variable ``env`` (``EMPIRIOLABS_API_KEY``
        unless a preset names another); ``None`` if none is set."""
        if explicit is not None:
            return explicit if isinstance(explicit, Secret) else Secret(explicit)
        if self.api_key is not None:
            return self.api_key
        value = os.environ.get(env, "").strip()
        return Secret(value) if value else None

    def resolve_base_url(self, explicit: str | None = None) -> str:
        """Explicit, then settings, then ``GLM_BASE_URL``, then the default service."""
        url = explicit or self.base_url or os.environ.get(BASE_URL_ENV, "").strip()
        return check_base_url(url or DEFAULT_BASE_URL)

    def resolve_model(self, explicit: str | None = None) -> str:
        """Explicit, then settings, then ``GLM_MODEL``, then ``glm-4-7-flash``."""
        return explicit or self.model or os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL

    def scrub(self, text: str) -> str:
        """``text`` with any key this session could send replaced by ``***`` (a server
        may echo it)."""
        for env in (API_KEY_ENV, ZAI_KEY_ENV):
            key = self.resolve_api_key(env=env)
            if key is not None:
                text = text.replace(key.reveal(), "***")
        return text


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise ConfigurationError."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base URL {url!r} is not an http(s) URL; use e.g. {DEFAULT_BASE_URL!r}"
        )
    if parts.username or parts.password:
        raise ConfigurationError("put the API key in EMPIRIOLABS_API_KEY, not in the base URL")
    return url


settings = Settings()
