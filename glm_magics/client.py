"""``GLMClient``: chat with GLM-4.7-Flash over the OpenAI-compatible HTTP API.

::

    from glm_magics import GLMClient

    client = GLMClient()                       # key and URL from settings/environment
    result = client.chat([{"role": "user", "content": "Say hi"}], temperature=0.2)
    print(result.reasoning, result.text, result.usage)

    with client.stream(messages) as stream:    # typed events as they arrive
        for event in stream:
            ...

Requests are synchronous (httpx). Pass ``transport=`` or ``http_client=`` to put
something else under the client (tests use the bundled local server instead).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from glm_magics import __version__
from glm_magics.config import Secret, Settings
from glm_magics.config import settings as default_settings
from glm_magics.errors import (
    CONTENT_FILTER_CODE,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    ContentFilteredError,
    InStreamError,
    ParameterError,
    status_error,
)
from glm_magics.events import RetryScheduled
from glm_magics.params import build_params
from glm_magics.results import ChatResult, ToolCall, Usage
from glm_magics.retry import RetryPolicy, describe_failure, is_retryable, parse_retry_after
from glm_magics.stream import ChatStream, error_fields

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DEFAULT_TIMEOUT", "GLMClient"]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=10.0)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")  # noqa: S104


class GLMClient:
    """A client for ``/chat/completions`` and ``/models`` on a GLM service.

    ``api_key``/``base_url``/``model`` left as ``None`` are looked up on every
    request: first the session settings (``%glm config``), then the environment
    (``EMPIRIOLABS_API_KEY``, ``GLM_BASE_URL``, ``GLM_MODEL``), then the defaults.
    A key is required except for servers on this machine (``localhost``).
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        *,
        model: str | None = None,
        settings: Settings | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client= or transport=, not both")
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries}")
        self._settings = settings if settings is not None else default_settings
        self._api_key = Secret(api_key) if isinstance(api_key, str) else api_key
        self._base_url = base_url
        self._model = model
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False
        )
        if self._base_url is not None:
            self.base_url  # noqa: B018 - validate an explicit URL now, not at first use

    def __repr__(self) -> str:
        try:
            key = "set" if self._resolve_key() is not None else "not set"
            return f"GLMClient(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"
        except ConfigurationError as exc:
            return f"GLMClient(misconfigured: {exc})"

    @property
    def base_url(self) -> str:
        """The effective base URL, e.g. ``https://api.empiriolabs.ai/v1``."""
        return self._settings.resolve_base_url(self._base_url)

    @property
    def model(self) -> str:
        """The effective default model id."""
        return self._settings.resolve_model(self._model)

    def close(self) -> None:
        """Close the HTTP connections (only those of a client this object created)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GLMClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- chat -------------------------------------------------------------------

    def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        **params: Any,
    ) -> ChatStream:
        """Start a streamed request; iterate the returned :class:`ChatStream` for events.

        Parameters are validated before anything is sent. Retries (with
        :class:`~glm_magics.events.RetryScheduled` events) happen only before the
        first token.
        """
        model_id = model or self.model
        body = self._body(messages, model_id, params, stream=True)
        return ChatStream(
            lambda trace: self._send(body, stream=True, trace=trace),
            model=model_id,
            policy=self.retry_policy,
        )

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        stream: bool = True,
        on_retry: Callable[[RetryScheduled], None] | None = None,
        **params: Any,
    ) -> ChatResult:
        """Send ``messages`` and return the whole :class:`ChatResult`."""
        if stream:
            with self.stream(messages, model, **params) as chat_stream:
                for event in chat_stream:
                    if on_retry is not None and isinstance(event, RetryScheduled):
                        on_retry(event)
                return chat_stream.result
        model_id = model or self.model
        body = self._body(messages, model_id, params, stream=False)
        response = self._with_retries(lambda: self._send(body, stream=False), on_retry)
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(
                f"The service answered with something that is not JSON: {response.text[:200]!r}"
            ) from None
        return parse_completion(payload, model_id)

    def _with_retries(
        self,
        send: Callable[[], httpx.Response],
        on_retry: Callable[[RetryScheduled], None] | None,
    ) -> httpx.Response:
        attempts = self.retry_policy.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = send()
                try:
                    response.read()
                except httpx.TransportError as exc:
                    raise _transport_error(exc, self.base_url) from None
                return response
            except APIError as error:
                if attempt >= attempts or not is_retryable(error):
                    raise
                delay = self.retry_policy.delay(attempt, getattr(error, "retry_after", None))
                if delay is None:
                    raise
                notice = RetryScheduled(describe_failure(error), delay, attempt + 1, attempts)
                if on_retry is not None:
                    on_retry(notice)
                time.sleep(delay)
            except httpx.TransportError as exc:
                raise _transport_error(exc, self.base_url) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- models -----------------------------------------------------------------

    def models(self) -> list[str]:
        """The model ids the service lists at ``GET /models``."""
        payload = self._get_json("/models")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise APIError(f"GET /models returned an unexpected body: {str(payload)[:200]}")
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    def model_info(self, model: str | None = None) -> dict[str, Any]:
        """The service's description of one model (``GET /models/{id}``)."""
        payload = self._get_json(f"/models/{model or self.model}")
        if not isinstance(payload, dict):
            raise APIError(f"GET /models/{model} returned an unexpected body")
        return payload

    def _get_json(self, path: str) -> Any:
        request = self._http.build_request(
            "GET", self.base_url + path, headers=self._headers(stream=False)
        )
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url) from None
        if response.status_code >= 400:
            raise _status_error(response)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(f"GET {path} did not return JSON") from None

    # -- plumbing ---------------------------------------------------------------

    def _resolve_key(self) -> Secret | None:
        return self._settings.resolve_api_key(self._api_key)

    def _headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": f"glm-magics/{__version__}",
        }
        key = self._resolve_key()
        if key is not None:
            headers["Authorization"] = f"Bearer {key.reveal()}"
        elif urlsplit(self.base_url).hostname not in _LOCAL_HOSTS:
            raise ConfigurationError(
                "No API key: set the EMPIRIOLABS_API_KEY environment variable, run "
                "`%glm key` to type it (kept in memory only), or point base_url at a "
                "local server."
            )
        return headers

    def _body(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str,
        params: Mapping[str, Any],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        checked = check_messages(messages)
        body: dict[str, Any] = {"model": model, "messages": checked}
        body.update(build_params(params))
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _send(
        self, body: dict[str, Any], *, stream: bool, trace: Callable[..., None] | None = None
    ) -> httpx.Response:
        request = self._http.build_request(
            "POST",
            self.base_url + "/chat/completions",
            headers=self._headers(stream=stream),
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            extensions={"trace": trace} if trace is not None else None,
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url) from None
        if response.status_code >= 300:
            try:
                response.read()
            except httpx.HTTPError:
                pass
            finally:
                response.close()
            raise self._scrubbed(_status_error(response))
        return response

    def _scrubbed(self, error: APIError) -> APIError:
        """Remove the key from a service message that echoes it back."""
        key = self._resolve_key()
        if key is not None and key.reveal() in error.message:
            secret = key.reveal()
            error.message = error.message.replace(secret, "***")
            error.args = tuple(str(a).replace(secret, "***") for a in error.args)
            if isinstance(error, APIStatusError):
                error.service_message = error.service_message.replace(secret, "***")
        return error


def check_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check the message list's shape; return plain dicts."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise ParameterError(
            "messages must be a non-empty list of {'role': ..., 'content': ...} dicts"
        )
    checked: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ParameterError(f"messages[{index}] must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise ParameterError(
                f"messages[{index}] has role {role!r}; use system, user, assistant or tool"
            )
        if "content" not in message and not message.get("tool_calls"):
            raise ParameterError(f"messages[{index}] ({role}) has no content")
        checked.append(dict(message))
    return checked


def parse_completion(payload: Any, model: str) -> ChatResult:
    """A :class:`ChatResult` from a non-streamed ``chat.completion`` body."""
    if not isinstance(payload, dict):
        raise APIError(f"The service sent an unexpected body: {str(payload)[:200]}")
    if payload.get("error"):
        code, error_message = error_fields(payload)
        if code == CONTENT_FILTER_CODE:
            raise ContentFilteredError(error_message, code=code)
        raise InStreamError(error_message, code=code)
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise APIError(f"The service sent no choices: {str(payload)[:200]}")
    choice = choices[0]
    message: dict[str, Any] = choice.get("message") or {}
    calls = [
        ToolCall(
            id=str(call.get("id") or f"call_{index}"),
            name=str((call.get("function") or {}).get("name") or ""),
            arguments=_arguments((call.get("function") or {}).get("arguments")),
        )
        for index, call in enumerate(message.get("tool_calls") or ())
        if isinstance(call, dict)
    ]
    result = ChatResult(
        text=message.get("content") or "",
        reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
        finish_reason=choice.get("finish_reason"),
        model=payload.get("model") or model,
        tool_calls=calls,
        usage=Usage.from_payload(payload.get("usage")),
        id=payload.get("id"),
    )
    if result.finish_reason == "sensitive":
        raise ContentFilteredError(partial=result)
    return result


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _status_error(response: httpx.Response) -> APIError:
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


def _transport_error(exc: httpx.TransportError, base_url: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{base_url} did not answer in time ({type(exc).__name__}). Try again, or raise "
            "the timeout with GLMClient(timeout=...)."
        )
    return APIConnectionError(
        f"Could not reach {base_url} ({type(exc).__name__}: {exc}). Check the network and the "
        "base URL (`%glm config base_url=...`)."
    )
