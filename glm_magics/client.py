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
from glm_magics.config import API_KEY_ENV, Secret, Settings
from glm_magics.config import settings as default_settings
from glm_magics.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    ContentFilteredError,
    status_error,
)
from glm_magics.events import RetryScheduled
from glm_magics.params import build_params
from glm_magics.presets import Preset, adapt_params, get_preset, preset_for_url
from glm_magics.protocols import StreamAccumulator, WireProtocol, wire_protocol
from glm_magics.results import ChatResult
from glm_magics.retry import RetryPolicy, describe_failure, is_retryable, parse_retry_after
from glm_magics.stream import ChatStream, ChunkAccumulator, error_fields

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DEFAULT_TIMEOUT", "GLMClient"]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=10.0)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")  # noqa: S104


class GLMClient:
    """A client for ``/chat/completions`` and ``/models`` on a GLM service.

    ``api="responses"`` or ``api="messages"`` sends the same request to the service's
    ``/responses`` (OpenAI Responses) or ``/messages`` (Anthropic Messages) endpoint
    instead; the events and the :class:`ChatResult` are the same.

    ``api_key``/``base_url``/``model`` left as ``None`` are looked up on every
    request: first the session settings (``%glm config``), then the environment
    (``EMPIRIOLABS_API_KEY``, ``GLM_BASE_URL``, ``GLM_MODEL``), then the defaults.
    A key is required except for servers on this machine (``localhost``).
    ``preset="vllm"`` (see :mod:`glm_magics.presets`) supplies that server's base
    URL and model unless given, and how it takes thinking on/off.
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        *,
        model: str | None = None,
        preset: str | None = None,
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
        chosen = get_preset(preset) if preset is not None else None
        self._preset = chosen.name if chosen is not None else None
        self._base_url = base_url or (chosen.base_url if chosen is not None else None)
        self._model = model or (chosen.model if chosen is not None else None)
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
        api: str = "chat",
        **params: Any,
    ) -> ChatStream:
        """Start a streamed request; iterate the returned :class:`ChatStream` for events.

        Parameters are validated before anything is sent. Retries (with
        :class:`~glm_magics.events.RetryScheduled` events) happen only before the
        first token. ``api`` picks the wire protocol: ``"chat"``, ``"responses"`` or
        ``"messages"``.
        """
        protocol = wire_protocol(api)
        model_id = model or self.model
        body = self._body(protocol, messages, model_id, params, stream=True)
        return ChatStream(
            lambda trace: self._send(body, path=protocol.path, stream=True, trace=trace),
            model=model_id,
            policy=self.retry_policy,
            accumulator=protocol.accumulator(model_id),
        )

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        stream: bool = True,
        on_retry: Callable[[RetryScheduled], None] | None = None,
        api: str = "chat",
        **params: Any,
    ) -> ChatResult:
        """Send ``messages`` and return the whole :class:`ChatResult` (``api`` as in stream).

        ``tools`` may hold plain Python functions next to tool dicts: the client then
        runs the call loop itself (see :meth:`chat_with_functions`).
        """
        tools = params.get("tools")
        if isinstance(tools, list | tuple) and any(callable(t) for t in tools):
            return self.chat_with_functions(
                messages, model, stream=stream, on_retry=on_retry, api=api, **params
            )
        if stream:
            with self.stream(messages, model, api, **params) as chat_stream:
                for event in chat_stream:
                    if on_retry is not None and isinstance(event, RetryScheduled):
                        on_retry(event)
                return chat_stream.result
        protocol = wire_protocol(api)
        model_id = model or self.model
        body = self._body(protocol, messages, model_id, params, stream=False)
        response = self._with_retries(
            lambda: self._send(body, path=protocol.path, stream=False), on_retry
        )
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(
                f"The service answered with something that is not JSON: {response.text[:200]!r}"
            ) from None
        if protocol.name == "chat":
            return parse_completion(payload, model_id)
        return parse_whole_body(payload, protocol.accumulator(model_id))

    def chat_with_functions(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        tools: Sequence[Any],
        max_rounds: int = 5,
        **options: Any,
    ) -> ChatResult:
        """Answer with Python functions as tools: run the calls the model asks for.

        Functions in ``tools`` are described from their signatures and docstrings
        (:mod:`glm_magics.tools`); dicts (a web search) are sent as they are. Only
        those functions can run; a raising one sends its error to the model. After
        ``max_rounds`` rounds of calls a :class:`~glm_magics.errors.ToolLoopError`
        carries the last answer::

            def add(a: int, b: int) -> int:
                "Add two numbers."
                return a + b

            client.chat([{"role": "user", "content": "2 + 40?"}], tools=[add]).text
        """
        from glm_magics.errors import ToolLoopError
        from glm_magics.tools import ToolRegistry, run_tool_calls, tool_message

        registry = ToolRegistry()
        others = []
        for entry in tools:
            if callable(entry):
                registry.add(entry)
            else:
                others.append(entry)
        sent = list(messages)
        for _ in range(max_rounds + 1):
            result = self.chat(sent, model, tools=[*registry.schemas(), *others], **options)
            if result.finish_reason != "tool_calls" or not result.tool_calls:
                return result
            outcomes = run_tool_calls(result.tool_calls, registry)
            sent += [result.to_message(), *(tool_message(done) for done in outcomes)]
        raise ToolLoopError(
            f"The model still asked for tool calls after {max_rounds} rounds; raise "
            "max_rounds or simplify the question.",
            partial=result,
        )

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
            raise self._scrubbed(_status_error(response))
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(f"GET {path} did not return JSON") from None

    # -- plumbing ---------------------------------------------------------------

    @property
    def key_env(self) -> str:
        """The environment variable the key comes from: the preset's, else the default."""
        preset = self.preset
        return (preset.api_key_env if preset is not None else None) or API_KEY_ENV

    def _resolve_key(self) -> Secret | None:
        return self._settings.resolve_api_key(self._api_key, env=self.key_env)

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
                f"No API key: set the {self.key_env} environment variable, run "
                "`%glm key` to type it (kept in memory only), or point base_url at a "
                "local server."
            )
        return headers

    def _body(
        self,
        protocol: WireProtocol,
        messages: Sequence[Mapping[str, Any]],
        model: str,
        params: Mapping[str, Any],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        fields = build_params(params)
        preset = self.preset
        if preset is not None:
            fields, _ = adapt_params(preset, fields)
        return protocol.body(messages, model, fields, stream=stream)

    @property
    def preset(self) -> Preset | None:
        """The server's preset: the explicit one, the session's, else one matching the URL.

        It decides how thinking on/off is sent and which GLM-only fields are left out
        for servers that would ignore them (see :mod:`glm_magics.presets`).
        """
        name = self._preset or self._settings.preset
        return get_preset(name) if name else preset_for_url(self.base_url)

    def _send(
        self,
        body: dict[str, Any],
        *,
        path: str = "/chat/completions",
        stream: bool,
        trace: Callable[..., None] | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(
            "POST",
            self.base_url + path,
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


def parse_completion(payload: Any, model: str) -> ChatResult:
    """A :class:`ChatResult` from a non-streamed ``chat.completion`` body.

    Read by the same :class:`~glm_magics.stream.ChunkAccumulator` as a stream (a
    ``message`` is read like one big ``delta``), so sources, inline ``<think>``
    reasoning and every host's field names are handled alike.
    """
    if isinstance(payload, dict) and not payload.get("error"):
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise APIError(f"The service sent no choices: {str(payload)[:200]}")
    return parse_whole_body(payload, ChunkAccumulator(model))


def parse_whole_body(payload: Any, accumulator: StreamAccumulator) -> ChatResult:
    """A :class:`ChatResult` from a non-streamed body, read by the protocol's accumulator."""
    if not isinstance(payload, dict):
        raise APIError(f"The service sent an unexpected body: {str(payload)[:200]}")
    accumulator.feed_payload(payload)
    result = accumulator.snapshot()
    if result.finish_reason is None:
        raise APIError(f"The service sent no finished answer: {str(payload)[:200]}")
    if result.finish_reason == "sensitive":
        raise ContentFilteredError(partial=result)
    return result


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
