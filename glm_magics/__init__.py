"""glm-magics: GLM-4.7-Flash in Jupyter, streamed, with its reasoning.

In a notebook::

    %load_ext glm_magics

    %%glm
    Explain what a p-value is, in two sentences.

From Python::

    from glm_magics import GLMClient, Session
    result = GLMClient().chat([{"role": "user", "content": "Hi"}])
    session = Session()
    session.ask("What is a p-value?")

This module declares the public API, once (``__all__``). Importing the package is
cheap: the client, the magics and their dependencies load on first use. The layers
below it, each importing only those under it: the vocabulary (:mod:`~glm_magics.errors`,
:mod:`~glm_magics.results`, :mod:`~glm_magics.events`), :mod:`glm_magics.wire` (HTTP,
SSE, the three protocols, retries, presets), :mod:`glm_magics.tools` and
:mod:`glm_magics.context` beside :mod:`glm_magics.core` (the session),
:mod:`glm_magics.display` (views) and :mod:`glm_magics.batch` (``map_rows``),
:mod:`glm_magics.notebook` (magics, panel); and :mod:`glm_magics.testing` apart.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from glm_magics.version import __version__

if TYPE_CHECKING:
    from glm_magics.batch.estimate import Estimate
    from glm_magics.batch.rows import map_rows
    from glm_magics.cassette import Cassette
    from glm_magics.core.client import GLMClient
    from glm_magics.core.reporting import Reporter
    from glm_magics.core.session import Session
    from glm_magics.core.settings import Settings
    from glm_magics.errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        CassetteError,
        CassetteMissError,
        CassetteSecretError,
        ConfigurationError,
        ContentFilteredError,
        GLMError,
        InStreamError,
        InternalServerError,
        JSONAnswerError,
        NotFoundError,
        ParameterError,
        PermissionDeniedError,
        QuotaExceededError,
        RateLimitError,
        StreamError,
        ToolLoopError,
        TruncatedStreamError,
    )
    from glm_magics.events import (
        Finished,
        ReasoningDelta,
        RetryScheduled,
        StreamEvent,
        TextDelta,
        ToolCallDelta,
        UsageReported,
    )
    from glm_magics.notebook.magics import GLMMagics
    from glm_magics.notebook.panel import ControlPanel
    from glm_magics.results import ChatResult, Provenance, ToolCall, Usage, WebSource
    from glm_magics.tools import ApprovalRequest, ToolRegistry, tool
    from glm_magics.wire.stream import ChatStream
    from glm_magics.wire.web_search import SearchOptions

_EXPORTS: dict[str, str] = {
    "map_rows": "batch.rows",
    "Estimate": "batch.estimate",
    "Cassette": "cassette",
    "GLMClient": "core.client",
    "Session": "core.session",
    "Settings": "core.settings",
    "Reporter": "core.reporting",
    "ChatStream": "wire.stream",
    "ChatResult": "results",
    "Provenance": "results",
    "ToolCall": "results",
    "Usage": "results",
    "WebSource": "results",
    "GLMMagics": "notebook.magics",
    "ControlPanel": "notebook.panel",
    "tool": "tools",
    "ToolRegistry": "tools",
    "ApprovalRequest": "tools",
    "SearchOptions": "wire.web_search",
    **dict.fromkeys(
        (
            "Finished",
            "ReasoningDelta",
            "RetryScheduled",
            "StreamEvent",
            "TextDelta",
            "ToolCallDelta",
            "UsageReported",
        ),
        "events",
    ),
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APIError",
            "APIStatusError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "CassetteError",
            "CassetteMissError",
            "CassetteSecretError",
            "ConfigurationError",
            "ContentFilteredError",
            "GLMError",
            "InStreamError",
            "InternalServerError",
            "JSONAnswerError",
            "NotFoundError",
            "ParameterError",
            "PermissionDeniedError",
            "QuotaExceededError",
            "RateLimitError",
            "StreamError",
            "ToolLoopError",
            "TruncatedStreamError",
        ),
        "errors",
    ),
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "ApprovalRequest",
    "AuthenticationError",
    "BadRequestError",
    "Cassette",
    "CassetteError",
    "CassetteMissError",
    "CassetteSecretError",
    "ChatResult",
    "ChatStream",
    "ConfigurationError",
    "ContentFilteredError",
    "ControlPanel",
    "Estimate",
    "Finished",
    "GLMClient",
    "GLMError",
    "GLMMagics",
    "InStreamError",
    "InternalServerError",
    "JSONAnswerError",
    "NotFoundError",
    "ParameterError",
    "PermissionDeniedError",
    "Provenance",
    "QuotaExceededError",
    "RateLimitError",
    "ReasoningDelta",
    "Reporter",
    "RetryScheduled",
    "SearchOptions",
    "Session",
    "Settings",
    "StreamError",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolLoopError",
    "ToolRegistry",
    "TruncatedStreamError",
    "Usage",
    "UsageReported",
    "WebSource",
    "__version__",
    "load_ipython_extension",
    "map_rows",
    "panel",
    "tool",
    "unload_ipython_extension",
]


# Names earlier versions exported, with what to use instead.
_REMOVED = {
    "settings": "glm_magics.settings was removed: settings belong to a Session now; use "
    "Session(settings=Settings(...)) or session.settings (in a notebook: %glm config)",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(_REMOVED.get(name, f"module 'glm_magics' has no attribute {name!r}"))
    value = getattr(importlib.import_module(f"glm_magics.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def panel() -> ControlPanel:
    """The control panel for this IPython session; end a cell with it to show it.

    Loads the extension if needed; a panel shown earlier is closed (``%glm panel``
    does the same and shows the new one at once)::

        import glm_magics
        glm_magics.panel()
    """
    from IPython import get_ipython

    from glm_magics.errors import ConfigurationError
    from glm_magics.notebook.extension import host_of, open_panel

    shell = get_ipython()
    if shell is None:
        raise ConfigurationError(
            "the control panel runs inside IPython or Jupyter; from plain Python use Session"
        )
    return open_panel(host_of(shell))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext glm_magics``: register ``%glm`` / ``%%glm``."""
    from glm_magics.notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext glm_magics``."""
    from glm_magics.notebook.extension import unload

    unload(ipython)
