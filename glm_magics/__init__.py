"""glm-magics: GLM-4.7-Flash in Jupyter, streamed, with its reasoning.

In a notebook::

    %load_ext glm_magics

    %%glm
    Explain what a p-value is, in two sentences.

From Python::

    from glm_magics import GLMClient
    result = GLMClient().chat([{"role": "user", "content": "Hi"}])

Importing the package is cheap: the client, the magics and their dependencies load
on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from glm_magics.client import GLMClient
    from glm_magics.config import Settings, settings
    from glm_magics.control_panel import ControlPanel
    from glm_magics.errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
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
    from glm_magics.magics import GLMMagics
    from glm_magics.results import ChatResult, ToolCall, Usage
    from glm_magics.stream import ChatStream
    from glm_magics.tools import ToolRegistry, tool
    from glm_magics.web_search import SearchOptions, WebSource

_EXPORTS: dict[str, str] = {
    "GLMClient": "client",
    "ChatStream": "stream",
    "ChatResult": "results",
    "ToolCall": "results",
    "Usage": "results",
    "Settings": "config",
    "settings": "config",
    "GLMMagics": "magics",
    "ControlPanel": "control_panel",
    "tool": "tools",
    "ToolRegistry": "tools",
    "SearchOptions": "web_search",
    "WebSource": "web_search",
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
    "AuthenticationError",
    "BadRequestError",
    "ChatResult",
    "ChatStream",
    "ConfigurationError",
    "ContentFilteredError",
    "ControlPanel",
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
    "QuotaExceededError",
    "RateLimitError",
    "ReasoningDelta",
    "RetryScheduled",
    "SearchOptions",
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
    "panel",
    "settings",
    "tool",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'glm_magics' has no attribute {name!r}")
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

    shell = get_ipython()
    if shell is None:
        raise ConfigurationError(
            "the control panel runs inside IPython or Jupyter; from plain Python use GLMClient"
        )
    magics = shell.magics_manager.registry.get("GLMMagics")
    if magics is None:
        shell.extension_manager.load_extension("glm_magics")
        magics = shell.magics_manager.registry["GLMMagics"]
    result: ControlPanel = magics.open_panel()
    return result


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext glm_magics``: register ``%glm`` / ``%%glm``."""
    from glm_magics.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext glm_magics``."""
    from glm_magics.magics import unload

    unload(ipython)
