"""``GLMClient``: chat with GLM-4.7-Flash over the OpenAI-compatible HTTP API.

::

    from glm_magics import GLMClient

    client = GLMClient()                       # key and URL from the environment
    result = client.chat([{"role": "user", "content": "Say hi"}], temperature=0.2)
    print(result.reasoning, result.text, result.usage)

    with client.stream(messages) as stream:    # typed events as they arrive
        for event in stream:
            ...

Requests are synchronous (httpx). Pass ``transport=`` or ``http_client=`` to put
something else under the client (tests use the bundled local server instead), and
``cassette=`` to record its answers into a file and replay them offline
(:mod:`glm_magics.cassette`). The HTTP, the protocols and the retries are the wire
layer's (:mod:`glm_magics.wire`); this class puts them together and runs Python
functions as tools through the one tool loop (:mod:`glm_magics.core.exchange`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from glm_magics.cassette import Cassette, as_cassette, effective_cassette
from glm_magics.core.exchange import Request, StreamOpener, run_exchange, split_tools
from glm_magics.core.offer import confirm_choice
from glm_magics.core.reporting import QUIET, RetryCallback
from glm_magics.errors import APIError, ConfigurationError
from glm_magics.events import RetryScheduled
from glm_magics.results import ChatResult, Provenance
from glm_magics.tokens import message_tokens
from glm_magics.tools import Approver, ask_on_stdin
from glm_magics.wire.http import DEFAULT_TIMEOUT, Connection
from glm_magics.wire.keys import Secret
from glm_magics.wire.limits import RateLimiter
from glm_magics.wire.message_parts import check_messages
from glm_magics.wire.params import build_params
from glm_magics.wire.presets import Preset, adapt_params
from glm_magics.wire.protocols import sent_parameters, wire_protocol
from glm_magics.wire.retry import RetryPolicy
from glm_magics.wire.stream import ChatStream
from glm_magics.wire.web_search import hosted_form

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DEFAULT_TIMEOUT", "GLMClient", "Prepared"]


@dataclass(frozen=True)
class Prepared:
    """A request checked and written, not sent: where it goes and its JSON body."""

    path: str
    body: dict[str, Any]
    model: str
    stream: bool
    prompt_tokens: int = 0
    """The estimated size of the messages (what the rate limiter counts first)."""


class GLMClient:
    """A client for ``/chat/completions`` and ``/models`` on a GLM service.

    ``api="responses"`` or ``api="messages"`` sends the same request to the service's
    ``/responses`` (OpenAI Responses) or ``/messages`` (Anthropic Messages) endpoint
    instead; the events and the :class:`ChatResult` are the same.

    ``api_key``/``base_url``/``model`` left as ``None`` come from the environment
    (``EMPIRIOLABS_API_KEY``, ``GLM_BASE_URL``, ``GLM_MODEL``), read at each request,
    then the defaults. A key is required except for servers on this machine
    (``localhost``). ``preset="vllm"`` (see :mod:`glm_magics.wire.presets`) supplies
    that server's base URL and model unless given, and how it takes thinking on/off.

    ``cassette`` (a :class:`~glm_magics.cassette.Cassette` or a file's path) records
    answers and replays them; ``None`` uses ``$GLM_CASSETTE`` if set, ``False`` none.
    """

    __module__ = "glm_magics"

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        *,
        model: str | None = None,
        preset: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        cassette: Cassette | str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.cassette = cassette
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries}")
        self._connection = Connection(
            api_key=api_key,
            base_url=base_url,
            model=model,
            preset=preset,
            http_client=http_client,
            transport=transport,
            timeout=timeout,
        )
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)

    def __repr__(self) -> str:
        try:
            key = "set" if self._connection.key() is not None else "not set"
            return f"GLMClient(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"
        except ConfigurationError as exc:
            return f"GLMClient(misconfigured: {exc})"

    @property
    def base_url(self) -> str:
        """The effective base URL, e.g. ``https://api.empiriolabs.ai/v1``."""
        return self._connection.base_url

    @property
    def cassette(self) -> Cassette | bool | None:
        """The cassette given (``None``: ``$GLM_CASSETTE``'s, ``False``: none); settable
        with a :class:`~glm_magics.cassette.Cassette` or a path."""
        return self._cassette

    @cassette.setter
    def cassette(self, value: Cassette | str | os.PathLike[str] | bool | None) -> None:
        self._cassette: Cassette | bool | None = as_cassette(value)

    def active_cassette(self) -> Cassette | None:
        """The cassette the next request goes through, if any (``$GLM_CASSETTE=off``
        turns every one off)."""
        return effective_cassette(self._cassette)

    @property
    def model(self) -> str:
        """The effective default model id."""
        return self._connection.model

    @property
    def preset(self) -> Preset | None:
        """The server's preset: the one given, else the one whose URL matches."""
        return self._connection.preset

    @property
    def key_env(self) -> str:
        """The environment variable the key comes from: the preset's, else the default."""
        return self._connection.key_env

    @property
    def has_key(self) -> bool:
        """Whether a key will be sent (given, or found in the environment)."""
        return self._connection.key() is not None

    def scrub(self, text: str) -> str:
        """``text`` with this client's key replaced by ``***``."""
        key = self._connection.key()
        return text.replace(key.reveal(), "***") if key is not None else text

    def close(self) -> None:
        """Close the HTTP connections (only those of a client this object created)."""
        self._connection.close()

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

    def prepare(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        api: str = "chat",
        *,
        stream: bool = True,
        **params: Any,
    ) -> Prepared:
        """Check a request and write its body without sending it.

        Raises :class:`~glm_magics.errors.ParameterError` for a parameter or message
        the service would refuse, :class:`~glm_magics.errors.ConfigurationError` when
        no key is set for a remote service. Fields this server would not understand
        are left out (see :meth:`ignored_fields`).
        """
        protocol = wire_protocol(api)
        model_id = model or self.model
        fields = build_params(params)
        preset = self.preset
        if preset is not None:
            fields, _ = adapt_params(preset, fields)
        if preset is None or not preset.search_in_tools:
            fields = hosted_form(fields)  # the hosted service's web search fields
        checked = check_messages(messages)
        body = protocol.body(checked, model_id, fields, stream=stream)
        cassette = self.active_cassette()
        if cassette is None or cassette.mode == "record":
            self._connection.headers(stream=stream)  # no key for a remote service: say so now
        tokens = sum(message_tokens(message) for message in checked)
        return Prepared(protocol.path, body, model_id, stream, tokens)

    def ignored_fields(self, **params: Any) -> list[str]:
        """The request fields this server's preset would not understand (not sent)."""
        preset = self.preset
        return adapt_params(preset, build_params(params))[1] if preset is not None else []

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
        return self.open(self.prepare(messages, model, api, stream=True, **params), api)

    def open(
        self, prepared: Prepared, api: str = "chat", *, policy: RetryPolicy | None = None
    ) -> ChatStream:
        """The stream of a prepared request (sent when the stream is first read).

        ``policy`` replaces the client's retry policy for this request (a batch waits
        out more 429s than a cell does).
        """
        connection, path, body = self._connection, prepared.path, prepared.body
        cassette = self.active_cassette()
        plan = None
        if cassette is not None:
            key = connection.key()
            plan = cassette.plan(
                path,
                body,
                can_send=connection.can_send,
                secrets=[key.reveal()] if key is not None else [],
            )
        opened: list[ChatStream] = []

        def send_live(trace: Callable[[str, dict[str, Any]], None]) -> httpx.Response:
            headers = connection.headers(stream=prepared.stream)
            return connection.send(path, body, headers, trace=trace)

        def send(trace: Callable[[str, dict[str, Any]], None]) -> httpx.Response:
            if plan is None:
                return connection.checked(send_live(trace))
            response = plan.respond(
                connection.base_url + path,
                lambda: send_live(trace),
                stopped=lambda: bool(opened) and opened[0].aborted,
            )
            return connection.checked(response)

        chat_stream = ChatStream(
            send,
            reader=wire_protocol(api).reader(prepared.model),
            policy=policy or self.retry_policy,
            base_url=connection.base_url,
            streamed=prepared.stream,
            limiter=None if plan is not None and plan.replays else connection.limiter(),
            tokens=prepared.prompt_tokens,
            provenance=Provenance(
                "live", datetime.now(UTC).date().isoformat(), path, sent_parameters(body)
            ),
        )
        opened.append(chat_stream)
        return chat_stream

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter this client's requests share with every other in the process
        that goes to the same service with the same key."""
        return self._connection.limiter()

    def opener(
        self, model: str | None = None, api: str = "chat", *, stream: bool = True
    ) -> StreamOpener:
        """What the tool loop calls for each request: ``opener(messages, params)``."""

        def open_stream(messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatStream:
            return self.open(self.prepare(messages, model, api, stream=stream, **params), api)

        return open_stream

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        stream: bool = True,
        on_retry: Callable[[RetryScheduled], None] | None = None,
        api: str = "chat",
        *,
        max_rounds: int = 5,
        confirm: str | bool = "marked",
        approve: Approver | None = None,
        **params: Any,
    ) -> ChatResult:
        """Send ``messages`` and return the whole :class:`ChatResult` (``api`` as in stream).

        ``tools`` may hold plain Python functions next to tool dicts: the model may
        call the functions, and the client runs the calls and asks again until the
        answer (at most ``max_rounds`` rounds, then a
        :class:`~glm_magics.errors.ToolLoopError` carries the last answer)::

            def add(a: int, b: int) -> int:
                "Add two numbers."
                return a + b

            client.chat([{"role": "user", "content": "2 + 40?"}], tools=[add]).text

        Only those functions can run; one that raises sends its error to the model.
        ``confirm`` says which calls wait for approval (``"marked"``: those of
        ``@tool(confirm=True)`` functions; ``"all"``; ``"none"``) and ``approve``
        gives it (default: print the call, ask on standard input); a call that does
        not get it is not run, and the model is told the user declined.
        An interrupt (Ctrl-C) closes the connection and is raised again.
        """
        registry, extra = split_tools(params.pop("tools", None))
        request = Request(params, stream, registry, extra, max_rounds=max_rounds)
        request.confirm, request.approve = confirm_choice(confirm), approve or ask_on_stdin
        model_id = model or self.model
        exchange = run_exchange(
            self.opener(model_id, api, stream=stream),
            check_messages(messages),
            request,
            RetryCallback(on_retry) if on_retry is not None else QUIET,
            model=model_id,
        )
        if exchange.by_keyboard:
            raise KeyboardInterrupt
        if exchange.error is not None:
            raise exchange.error
        return exchange.result

    # -- models -----------------------------------------------------------------

    def models(self, *, timeout: float | None = None) -> list[str]:
        """The model ids the service lists at ``GET /models`` (``timeout`` in seconds)."""
        payload = self._get_json("/models", timeout=timeout)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise APIError(f"GET /models returned an unexpected body: {str(payload)[:200]}")
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    def model_info(
        self, model: str | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """The service's description of one model (``GET /models/{id}``)."""
        payload = self._get_json(f"/models/{model or self.model}", timeout=timeout)
        if not isinstance(payload, dict):
            raise APIError(f"GET /models/{model} returned an unexpected body")
        return payload

    def _get_json(self, path: str, *, timeout: float | None) -> Any:
        """``GET path``'s JSON, through the cassette when there is one."""
        connection = self._connection
        cassette = self.active_cassette()
        if cassette is None:
            return connection.get_json(path, timeout=timeout)
        key = connection.key()
        plan = cassette.plan(
            path,
            {},
            can_send=connection.can_send,
            secrets=[key.reveal()] if key is not None else [],
        )
        response = plan.respond(
            connection.base_url + path,
            lambda: connection.get(path, timeout=timeout),
            stopped=lambda: False,
        )
        return connection.json_of(response, path)
