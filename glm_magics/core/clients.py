"""The clients a session talks through: the one it was given, or one made from its settings.

A :class:`~glm_magics.core.session.Session` made without a client makes one from its
settings (``base_url``, ``preset``, ``timeout``, ``max_retries``) and the key typed
with ``%glm key``, and makes a new one when any of them changes. The replaced client
stays open, since an answer may still be streaming on it (the control panel's), and
is closed with the session. This module also knows the key's whereabouts and asks
the service for its models and their published ranges, quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from glm_magics.core.settings import Settings
from glm_magics.wire.keys import Secret, key_from_env, scrub_keys
from glm_magics.wire.model_schema import ModelSchema, SchemaCache

if TYPE_CHECKING:
    from glm_magics.cassette import Cassette
    from glm_magics.core.client import GLMClient

__all__ = ["QUICK_TIMEOUT", "Clients", "model_schema"]

QUICK_TIMEOUT = 3.0
"""Seconds for ``GET /models`` and ``/models/{id}``: a slow answer there is no answer."""


class Clients:
    """The current client for ``settings`` (or ``given``); thread-safe."""

    def __init__(
        self,
        settings: Settings,
        given: GLMClient | None = None,
        cassette: Cassette | bool | None = None,
    ) -> None:
        self._settings = settings
        self._given = given
        self.cassette = cassette
        """The session's cassette (``None``: the client's own, else ``$GLM_CASSETTE``)."""
        self.api_key: Secret | None = None
        """A key given to the session (``%glm key``); ``None``: the environment's."""
        self._made: GLMClient | None = None
        self._made_for: tuple[object, ...] | None = None
        self._retired: list[GLMClient] = []
        self._schemas: SchemaCache | None = None
        self._lock = threading.Lock()

    def current(self) -> GLMClient:
        """The client the next request goes through (made or made again if needed)."""
        if self._given is not None:
            if self.cassette is not None:
                self._given.cassette = self.cassette
            return self._given
        settings = self._settings
        wanted = (
            settings.base_url,
            settings.preset,
            self.api_key,
            settings.timeout,
            settings.max_retries,
        )
        with self._lock:
            if self._made is None or self._made_for != wanted:
                import httpx

                from glm_magics.core.client import GLMClient

                if self._made is not None:
                    self._retired.append(self._made)
                timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
                self._made = GLMClient(
                    self.api_key,
                    settings.base_url,
                    preset=settings.preset,
                    timeout=timeout,
                    max_retries=settings.max_retries,
                )
                self._made_for = wanted
            self._made.cassette = self.cassette
            return self._made

    def key_source(self) -> str | None:
        """Where the key comes from (``"session"`` or ``"$NAME"``), ``None`` if there is none."""
        client = self.current()
        if self._given is None and self.api_key is not None:
            return "session"
        if not client.has_key:
            return None
        return f"${client.key_env}" if key_from_env(client.key_env) else "the client"

    def scrub(self, text: str) -> str:
        """``text`` with every key these clients could send replaced by ``***``."""
        return scrub_keys(self.current().scrub(text), self.api_key)

    def models(self) -> list[str]:
        """The model ids the service lists (asked with a short timeout)."""
        return self.current().models(timeout=QUICK_TIMEOUT)

    def schema(self, model: str) -> ModelSchema:
        """``model``'s published parameter ranges (asked once per service), else the built-in."""
        with self._lock:
            if self._schemas is None:
                self._schemas = SchemaCache()
            schemas = self._schemas
        return model_schema(self.current(), model, schemas)

    def close(self) -> None:
        """Close every client made here (not the one given) and forget the model ranges
        learnt; the next request makes a new client."""
        with self._lock:
            made = [client for client in (self._made, *self._retired) if client is not None]
            self._made, self._made_for, self._schemas = None, None, None
            self._retired.clear()
        for client in made:
            client.close()


def model_schema(client: GLMClient, model: str, cache: SchemaCache | None = None) -> ModelSchema:
    """What the service publishes about ``model`` (asked once, quickly): its parameter
    ranges, and its rate limits, which ``client``'s limiter takes on the way."""
    schema = (cache if cache is not None else _SHARED_SCHEMAS).get(_Quick(client), model)
    if schema.limits is not None:
        limits = schema.limits
        client.limiter.published(limits.requests_per_minute, limits.tokens_per_minute)
    return schema


_SHARED_SCHEMAS = SchemaCache()
"""What services published, for the clients no session holds (``map_rows(client=...)``)."""


class _Quick:
    """A client's model descriptions, asked with a short timeout (for the schema cache)."""

    def __init__(self, client: GLMClient) -> None:
        self._client = client

    @property
    def base_url(self) -> str:
        return self._client.base_url

    def model_info(self, model: str) -> Mapping[str, Any]:
        return self._client.model_info(model, timeout=QUICK_TIMEOUT)
