"""API keys: held so they never print, and looked up in a stated order.

A key comes from, in order: the explicit argument (``GLMClient(api_key=...)``, or
what ``%glm key`` typed), then the environment variable the server's preset names
(``EMPIRIOLABS_API_KEY`` by default, ``ZAI_API_KEY`` for Z.ai). A :class:`Secret`
keeps the key out of every ``repr``, ``str``, log line and pickle::

    >>> Secret("sk-abc")
    Secret('***')
"""

from __future__ import annotations

import os

from glm_magics.errors import ConfigurationError

__all__ = ["API_KEY_ENV", "KEY_ENVS", "ZAI_KEY_ENV", "Secret", "key_from_env", "scrub_keys"]

API_KEY_ENV = "EMPIRIOLABS_API_KEY"
ZAI_KEY_ENV = "ZAI_API_KEY"
#: Every variable a key may be read from (what :func:`scrub_keys` looks for).
KEY_ENVS = (API_KEY_ENV, ZAI_KEY_ENV)


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


def key_from_env(env: str = API_KEY_ENV) -> Secret | None:
    """The key in the environment variable ``env``, or ``None`` when it is unset or blank."""
    value = os.environ.get(env, "").strip()
    return Secret(value) if value else None


def scrub_keys(text: str, *keys: Secret | None) -> str:
    """``text`` with ``keys`` and every key in :data:`KEY_ENVS` replaced by ``***``.

    A server may echo the key back in an error message; nothing shown may hold it.
    """
    for key in (*keys, *(key_from_env(env) for env in KEY_ENVS)):
        if key is not None:
            text = text.replace(key.reveal(), "***")
    return text
