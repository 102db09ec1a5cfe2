"""Named presets for where GLM-4.7-Flash runs, and how to talk to each server.

The hosted services and the local inference servers all speak the OpenAI chat API,
but they disagree on the details: the model id, whether a key is needed, how
thinking is switched on or off, and which GLM extensions (``tool_stream``, the
``web_search`` tool, ``do_sample``...) they understand. A :class:`Preset` records
those details so one set of chat parameters can be sent anywhere::

    >>> preset = get_preset("vllm")
    >>> preset.base_url, preset.model
    ('http://localhost:8000/v1', 'zai-org/GLM-4.7-Flash')
    >>> thinking_fields(preset, False)
    {'chat_template_kwargs': {'enable_thinking': False}}
    >>> adapt_params(preset, {"thinking": {"type": "enabled"}, "tool_stream": True})
    ({'chat_template_kwargs': {'enable_thinking': True}}, ['tool_stream'])

How each server switches thinking (``thinking_style``):

``"thinking_type"``
    Z.ai's own field, ``{"thinking": {"type": "enabled" | "disabled"}}``.
``"chat_template_kwargs"``
    vLLM, SGLang and llama.cpp's ``llama-server`` pass
    ``{"chat_template_kwargs": {"enable_thinking": bool}}`` to GLM's chat template.
``"reasoning_effort"``
    Ollama's ``/v1/chat/completions`` reads ``reasoning_effort`` (``"none"`` turns
    thinking off) and silently ignores its native ``/api/chat`` field ``think``.
    Thinking models think by default there, so "on" sends nothing: some Ollama
    releases answer 400 to an effort level for a model without thinking levels.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from glm_magics.errors import ConfigurationError, ParameterError
from glm_magics.wire.keys import API_KEY_ENV, ZAI_KEY_ENV
from glm_magics.wire.limits import Limits

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "DEFAULT_PRESET",
    "HOSTED_LIMITS",
    "KNOWN_MODELS",
    "LOCAL_LIMITS",
    "MODEL_ENV",
    "MODEL_NOTES",
    "PRESETS",
    "UNKNOWN_LIMITS",
    "ZAI_ONLY_FIELDS",
    "Preset",
    "ThinkingStyle",
    "adapt_params",
    "check_base_url",
    "get_preset",
    "preset_for_url",
    "thinking_fields",
]

DEFAULT_BASE_URL = "https://api.empiriolabs.ai/v1"
DEFAULT_MODEL = "glm-4-7-flash"
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

#: What ``%glm models`` says beside a model id it knows.
MODEL_NOTES = {
    "glm-4-7-flash": "GLM-4.7-Flash: the default service's id, use this one there",
    "glm-4.7-flash": "GLM-4.7-Flash: Z.ai's id (preset=zai), and the name answers report",
}

#: Assumed for a hosted service until it publishes its limits: a conservative pace.
HOSTED_LIMITS = Limits(requests_per_minute=50, concurrency=4)
#: Assumed for a server on this machine: no request cap, as many in flight as it takes.
LOCAL_LIMITS = Limits(concurrency=16)
#: Assumed for a server no preset describes: no known pace (one is learnt from 429s).
UNKNOWN_LIMITS = Limits(concurrency=8)

ThinkingStyle = Literal["thinking_type", "chat_template_kwargs", "reasoning_effort"]

#: Request fields only Z.ai-compatible services understand; other servers ignore
#: them silently (``do_sample=False`` would quietly stop meaning "greedy").
ZAI_ONLY_FIELDS = ("do_sample", "user_id", "request_id")

DEFAULT_PRESET = "empiriolabs"


@dataclass(frozen=True)
class Preset:
    """Where the model runs and what that server understands.

    ``needs_key`` says whether requests must carry a key; ``api_key_env`` names the
    environment variable that usually holds it (``None`` for local servers).
    ``supports_web_search`` covers the ``{"type": "web_search"}`` tool,
    ``supports_tool_stream`` the streamed tool-call arguments, and
    ``supports_zai_fields`` the fields in :data:`ZAI_ONLY_FIELDS`. ``limits`` are the
    rate limits assumed until the server publishes its own or the user sets some.
    ``search_in_tools``: the web search goes as a ``tools`` entry (Z.ai's form) rather
    than as the hosted service's top-level fields (:mod:`~glm_magics.wire.web_search`).
    """

    name: str
    base_url: str
    model: str
    description: str
    needs_key: bool
    api_key_env: str | None
    thinking_style: ThinkingStyle
    supports_web_search: bool
    supports_tool_stream: bool
    supports_zai_fields: bool
    limits: Limits = HOSTED_LIMITS
    search_in_tools: bool = False


def _local(name: str, port: int, model: str, style: ThinkingStyle, description: str) -> Preset:
    return Preset(
        name=name,
        base_url=f"http://localhost:{port}/v1",
        model=model,
        description=description,
        needs_key=False,
        api_key_env=None,
        thinking_style=style,
        supports_web_search=False,
        supports_tool_stream=False,
        supports_zai_fields=False,
        limits=LOCAL_LIMITS,
    )


PRESETS: dict[str, Preset] = {
    "empiriolabs": Preset(
        name="empiriolabs",
        base_url=DEFAULT_BASE_URL,
        model=DEFAULT_MODEL,
        description="EmpirioLabs' hosted GLM-4.7-Flash (the default)",
        needs_key=True,
        api_key_env=API_KEY_ENV,
        thinking_style="thinking_type",
        supports_web_search=True,
        supports_tool_stream=True,
        supports_zai_fields=True,
    ),
    "zai": Preset(
        name="zai",
        base_url="https://api.z.ai/api/paas/v4",
        model="glm-4.7-flash",
        description="Z.ai's own OpenAI-compatible API",
        needs_key=True,
        api_key_env=ZAI_KEY_ENV,
        thinking_style="thinking_type",
        supports_web_search=True,
        supports_tool_stream=True,
        supports_zai_fields=True,
        search_in_tools=True,
    ),
    "vllm": _local(
        "vllm",
        8000,
        "zai-org/GLM-4.7-Flash",
        "chat_template_kwargs",
        "vLLM on this machine (`vllm serve zai-org/GLM-4.7-Flash`); SGLang fits it too",
    ),
    "sglang": _local(
        "sglang",
        30000,
        "zai-org/GLM-4.7-Flash",
        "chat_template_kwargs",
        "SGLang on this machine (`python -m sglang.launch_server`)",
    ),
    "ollama": _local(
        "ollama",
        11434,
        "glm-4.7-flash",
        "reasoning_effort",
        "Ollama on this machine (`ollama pull glm-4.7-flash`)",
    ),
    "llamacpp": _local(
        "llamacpp",
        8080,
        "glm-4.7-flash",
        "chat_template_kwargs",
        "llama.cpp's llama-server on this machine (run it with --jinja)",
    ),
}
"""Every preset by name; the first one is the default."""


def _normalise(name: str) -> str:
    # "llama.cpp", "Z.ai" and "empirio-labs" are how people write these names.
    return "".join(ch for ch in name.strip().lower() if ch not in "._- ")


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case, dots and dashes ignored), or ConfigurationError."""
    key = _normalise(name) if isinstance(name, str) else ""
    preset = PRESETS.get(key)
    if preset is not None:
        return preset
    close = difflib.get_close_matches(key, list(PRESETS), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigurationError(f"unknown preset {name!r}.{hint} Known presets: {', '.join(PRESETS)}.")


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})  # noqa: S104
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _where(url: str) -> tuple[str, str, int | None, tuple[str, ...]] | None:
    """``(scheme, host, port, path segments)``, loopback names folded; None if unusable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if host in _LOOPBACK:
        host = "localhost"
    segments = tuple(segment for segment in parts.path.split("/") if segment)
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme], segments


def preset_for_url(base_url: str) -> Preset | None:
    """The preset whose server ``base_url`` points at, or None.

    Scheme, host and port must match and the preset's path must be a prefix of the
    URL's path (whole segments, so ``/v1`` matches ``/v1/`` but not ``/v10``).
    ``localhost``, ``127.0.0.1``, ``::1`` and ``0.0.0.0`` count as the same host.
    """
    where = _where(base_url)
    if where is None:
        return None
    best: Preset | None = None
    best_depth = -1
    for preset in PRESETS.values():
        known = _where(preset.base_url)
        if known is None or known[:3] != where[:3]:
            continue
        prefix = known[3]
        if where[3][: len(prefix)] == prefix and len(prefix) > best_depth:
            best, best_depth = preset, len(prefix)
    return best


def thinking_fields(preset: Preset, thinking: bool | None) -> dict[str, Any]:
    """The request fields that switch thinking on or off on ``preset``'s server.

    ``None`` means "the server's default" and gives ``{}``.
    """
    if thinking is None:
        return {}
    if preset.thinking_style == "thinking_type":
        return {"thinking": {"type": "enabled" if thinking else "disabled"}}
    if preset.thinking_style == "chat_template_kwargs":
        return {"chat_template_kwargs": {"enable_thinking": thinking}}
    return {} if thinking else {"reasoning_effort": "none"}


def adapt_params(preset: Preset, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Rewrite checked chat parameters for ``preset``'s server.

    ``params`` is what :func:`glm_magics.wire.params.build_params` returns (thinking as
    ``{"thinking": {"type": ...}}``). The thinking field is translated to the
    server's form, and what the server would not understand is removed rather than
    sent to be ignored or rejected. Returns the new parameters (``params`` is left
    as it was) and the names of what was dropped, for telling the user: field
    names, or ``"web_search"`` for web search tools (``tool_choice`` goes too when
    no tool is left).
    """
    adapted = dict(params)
    dropped: list[str] = []

    if "thinking" in adapted and preset.thinking_style != "thinking_type":
        fields = thinking_fields(preset, _thinking_flag(adapted.pop("thinking")))
        kwargs = fields.get("chat_template_kwargs")
        existing = adapted.get("chat_template_kwargs")
        if isinstance(kwargs, dict) and isinstance(existing, Mapping):
            # Keep other template arguments the caller sent through extra_body.
            fields["chat_template_kwargs"] = {**existing, **kwargs}
        adapted.update(fields)

    if "tool_stream" in adapted and not preset.supports_tool_stream:
        del adapted["tool_stream"]
        dropped.append("tool_stream")

    if not preset.supports_zai_fields:
        for name in ZAI_ONLY_FIELDS:
            if name in adapted:
                del adapted[name]
                dropped.append(name)

    tools = adapted.get("tools")
    if isinstance(tools, list | tuple) and not preset.supports_web_search:
        kept = [tool for tool in tools if not _is_web_search(tool)]
        if len(kept) < len(tools):
            dropped.append("web_search")
            if kept:
                adapted["tools"] = kept
            else:
                del adapted["tools"]
                if adapted.pop("tool_choice", None) is not None:
                    dropped.append("tool_choice")
    return adapted, dropped


def _thinking_flag(value: object) -> bool:
    if isinstance(value, Mapping):
        value = value.get("type")
    if value is True or value == "enabled":
        return True
    if value is False or value == "disabled":
        return False
    raise ParameterError(f"thinking must be True/False or 'enabled'/'disabled', got {value!r}")


def _is_web_search(tool: object) -> bool:
    return isinstance(tool, Mapping) and tool.get("type") == "web_search"


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
