"""The HTTP side of talking to a GLM service: where it is, the key, and what failures mean.

A :class:`Connection` knows the base URL, the key and the server's preset, sends a
request and turns every way it can fail into the package's own errors. It is the
one place that maps httpx's exceptions and the service's error bodies
(:func:`map_httpx_error`, :func:`status_error_of`), so every caller reports a broken
network or a 429 the same way::

    connection = Connection(base_url="http://127.0.0.1:8765/v1")
    response = connection.checked(connection.send("/chat/completions", body, headers))
    connection.get_json("/models")

Settings are resolved in a stated order: the explicit argument, then the preset's,
then the environment (``GLM_BASE_URL``, ``GLM_MODEL``, the preset's key variable),
then the defaults. The environment is read at each request, so exporting a key
later works without making a new connection.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from glm_magics.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    TruncatedStreamError,
    status_error,
)
from glm_magics.version import __version__
from glm_magics.wire.keys import API_KEY_ENV, Secret, key_from_env
from glm_magics.wire.limits import RateLimiter, limiter_for
from glm_magics.wire.presets import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    MODEL_ENV,
    UNKNOWN_LIMITS,
    Preset,
    check_base_url,
    get_preset,
    preset_for_url,
)
from glm_magics.wire.retry import parse_retry_after

__all__ = [
    "DEFAULT_TIMEOUT",
    "Connection",
    "error_fields",
    "map_httpx_error",
    "status_error_of",
]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=10.0)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")  # noqa: S104

Trace = Callable[[str, dict[str, Any]], None]
"""httpcore's ``trace`` extension: tells a stream its socket as soon as it connects."""


class Connection:
    """A GLM service over HTTP: base URL, key, preset, and one httpx client.

    ``preset`` (a name from :data:`~glm_magics.wire.presets.PRESETS`) supplies the base
    URL and model unless they are given, and names the key's environment variable.
    ``http_client`` or ``transport`` put something else under it (tests); a client
    passed in is not closed by :meth:`close`.
    """

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        model: str | None = None,
        preset: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client= or transport=, not both")
        self._api_key = Secret(api_key) if isinstance(api_key, str) else api_key
        chosen = get_preset(preset) if preset is not None else None
        self._preset = chosen
        self._base_url = check_base_url(base_url) if base_url else None
        if self._base_url is None and chosen is not None:
            self._base_url = chosen.base_url
        self._model = model or (chosen.model if chosen is not None else None)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False
        )

    @property
    def base_url(self) -> str:
        """The effective base URL, e.g. ``https://api.empiriolabs.ai/v1``."""
        if self._base_url is not None:
            return self._base_url
        return check_base_url(os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL)

    @property
    def model(self) -> str:
        """The default model id: explicit, the preset's, ``$GLM_MODEL``, ``glm-4-7-flash``."""
        return self._model or os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL

    @property
    def preset(self) -> Preset | None:
        """The server's preset: the one given, else the one whose URL matches.

        It decides how thinking on/off is sent and which GLM-only fields are left out
        for servers that would ignore them (see :mod:`glm_magics.wire.presets`).
        """
        return self._preset if self._preset is not None else preset_for_url(self.base_url)

    @property
    def key_env(self) -> str:
        """The environment variable the key comes from: the preset's, else the default."""
        preset = self.preset
        return (preset.api_key_env if preset is not None else None) or API_KEY_ENV

    @property
    def explicit_key(self) -> bool:
        """Whether the key was given to this connection rather than read from the environment."""
        return self._api_key is not None

    def key(self) -> Secret | None:
        """The key to send: the explicit one, else the preset's environment variable."""
        return self._api_key if self._api_key is not None else key_from_env(self.key_env)

    def limiter(self) -> RateLimiter:
        """The process's rate limiter for this service and key (:mod:`~glm_magics.wire.limits`)."""
        key = self.key()
        preset = self.preset
        defaults = preset.limits if preset is not None else UNKNOWN_LIMITS
        return limiter_for(self.base_url, key.reveal() if key else None, defaults=defaults)

    def headers(self, *, stream: bool) -> dict[str, str]:
        """The request headers; ConfigurationError when a remote service has no key."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": f"glm-magics/{__version__}",
        }
        key = self.key()
        if key is not None:
            headers["Authorization"] = f"Bearer {key.reveal()}"
        elif urlsplit(self.base_url).hostname not in _LOCAL_HOSTS:
            raise ConfigurationError(
                f"No API key. Either give one: `%glm key` (typed, kept in memory only) or "
                f"the {self.key_env} environment variable; or work offline: start "
                "`python -m glm_magics.testing` and run `%glm config base_url=` with the "
                "URL it prints."
            )
        return headers

    def can_send(self) -> bool:
        """Whether a request could go out now: a key is set, or the server is local."""
        try:
            self.headers(stream=True)
        except ConfigurationError:
            return False
        return True

    def send(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        trace: Trace | None = None,
    ) -> httpx.Response:
        """Send ``body`` and return the open response whatever its status (see :meth:`checked`)."""
        request = self._http.build_request(
            "POST",
            self.base_url + path,
            headers=dict(headers),
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            extensions={"trace": trace} if trace is not None else None,
        )
        try:
            return self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, self.base_url) from None

    def checked(self, response: httpx.Response) -> httpx.Response:
        """``response`` when its status is a success; else it is read, closed and raised."""
        if response.status_code >= 300:
            with contextlib.suppress(httpx.HTTPError):
                response.read()
            response.close()
            raise self.scrubbed(status_error_of(response))
        return response

    def get_json(self, path: str, *, timeout: float | None = None) -> Any:
        """``GET`` ``path`` and decode the JSON it answers (``timeout``: seconds, for this one)."""
        return self.json_of(self.get(path, timeout=timeout), path)

    def get(self, path: str, *, timeout: float | None = None) -> httpx.Response:
        """``GET`` ``path``; the open response whatever its status (see :meth:`json_of`)."""
        request = self._http.build_request(
            "GET",
            self.base_url + path,
            headers=self.headers(stream=False),
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )
        try:
            return self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, self.base_url) from None

    def json_of(self, response: httpx.Response, path: str) -> Any:
        """The JSON body of the answer to ``GET path``; an error status is raised."""
        try:
            response.read()
        except httpx.HTTPError as exc:
            raise map_httpx_error(exc, self.base_url, reading=True) from None
        finally:
            response.close()
        if response.status_code >= 400:
            raise self.scrubbed(status_error_of(response))
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(f"GET {path} did not return JSON") from None

    def scrubbed(self, error: APIError) -> APIError:
        """``error`` with the key removed from its message (a server may echo it back)."""
        key = self.key()
        if key is None or key.reveal() not in error.message:
            return error
        secret = key.reveal()
        error.message = error.message.replace(secret, "***")
        error.args = tuple(str(a).replace(secret, "***") for a in error.args)
        if isinstance(error, APIStatusError):
            error.service_message = error.service_message.replace(secret, "***")
        return error

    def close(self) -> None:
        """Close the HTTP connections (only those of a client this object created)."""
        if self._owns_http:
            self._http.close()


def error_fields(payload: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(code, message)`` from an error body in any of the usual shapes."""
    error = payload.get("error", payload)
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, str(error)
    code = error.get("code")
    kind = error.get("type")
    if code in (None, "") and isinstance(kind, str) and kind.isdigit():
        code = kind  # a business code where the Messages protocol puts an error type
    message = error.get("message") or error.get("msg") or payload.get("detail") or ""
    return (str(code) if code not in (None, "") else None), str(message)


def status_error_of(response: httpx.Response) -> APIError:
    """The error for an HTTP error status: its business code, message and Retry-After."""
    code: str | None = None
    message = ""
    request_id: str | None = response.headers.get("x-request-id")
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, httpx.ResponseNotRead):
        payload = None
    if isinstance(payload, dict):
        code, message = error_fields(payload)
        request_id = request_id or payload.get("request_id")
    else:
        with contextlib.suppress(httpx.ResponseNotRead, UnicodeDecodeError):
            message = response.text[:300]
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            retry_after = float(millis) / 1000.0
    if 300 <= response.status_code < 400:
        target = response.headers.get("location", "elsewhere")
        message = (
            f"the service redirected the request to {target}; check the base URL "
            "(`%glm config base_url=...`), it should end in /v1"
        )
    return status_error(
        response.status_code,
        message or response.reason_phrase,
        code,
        request_id=request_id,
        retry_after=retry_after,
    )


def map_httpx_error(
    exc: BaseException, base_url: str, *, reading: bool = False, partial: Any = None
) -> APIError:
    """The package's error for an httpx (or socket) failure; the one place that maps them.

    While connecting or sending it is a connection error, and a timeout has its own
    class. While ``reading`` the answer it says the connection broke; once part of the
    answer arrived (``partial``, what had) it is a
    :class:`~glm_magics.errors.TruncatedStreamError` that keeps it.
    """
    name = type(exc).__name__
    if partial is not None:
        return TruncatedStreamError(
            f"The connection broke in the middle of the answer ({name}); what arrived is "
            "kept. Run the cell again for a complete answer.",
            partial=partial,
        )
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{base_url} did not answer in time ({name}). Try again, or raise "
            "the timeout with GLMClient(timeout=...)."
        )
    if reading:
        return APIConnectionError(
            f"The connection broke before the answer started ({name}). Check the network "
            "and run the cell again."
        )
    return APIConnectionError(
        f"Could not reach {base_url} ({name}: {exc}). Check the network and the "
        "base URL (`%glm config base_url=...`)."
    )
