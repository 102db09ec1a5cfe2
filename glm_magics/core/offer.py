"""What a session's ask offers the model: its tools, the web search, and who approves.

Each helper turns one ``Session.ask`` keyword and the settings into what the
exchange's :class:`~glm_magics.core.exchange.Request` takes, raising
:class:`~glm_magics.errors.ParameterError` (before anything is sent) for a value
that cannot be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from glm_magics.errors import ParameterError
from glm_magics.tools import ConfirmPolicy, ToolRegistry, confirm_policy

if TYPE_CHECKING:
    from glm_magics.core.settings import Settings
    from glm_magics.wire.web_search import SearchOptions

__all__ = ["confirm_choice", "search_for", "tools_for"]


def tools_for(
    offered: ToolRegistry, tools: Sequence[Any] | ToolRegistry | None
) -> tuple[ToolRegistry | None, list[Any]]:
    """The functions to offer (``tools`` plus ``offered``; ``None`` when none), and the
    tool dicts in ``tools``, sent as they are. A :class:`ToolRegistry`: exactly those."""
    extra: list[Any] = []
    if isinstance(tools, ToolRegistry):
        chosen = tools
    elif tools:
        functions = [tool for tool in tools if callable(tool)]
        extra = [tool for tool in tools if not callable(tool)]
        try:
            chosen = offered.merged(functions)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"tools: {exc}") from None
    else:
        chosen = offered
    return (chosen if len(chosen) else None), extra


def search_for(settings: Settings, search: SearchOptions | bool | None) -> SearchOptions | None:
    """The web search to ask for: ``search`` given, else the ``search`` setting's."""
    from glm_magics.wire.web_search import SearchOptions

    if isinstance(search, SearchOptions):
        search.tool()  # a ParameterError now, for an option out of range
        return search
    wanted = settings.search if search is None else search
    return SearchOptions() if wanted else None


def confirm_choice(value: object) -> ConfirmPolicy:
    """Which tool calls wait for approval: ``"marked"``, ``"all"`` or ``"none"``."""
    try:
        return confirm_policy(value)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
