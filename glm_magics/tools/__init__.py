"""Plain Python functions as tools the model may call.

Decorate a function with :func:`tool` to offer it on every request, or pass
functions to one request (``GLMClient.chat(tools=[f])``, ``Session.ask(tools=[f])``,
``%%glm --tools f``). The schema the model sees comes from the signature, the type
hints and the docstring (:func:`function_schema`); the calls it asks for run through
a :class:`ToolRegistry` (:func:`run_tool_calls`), so nothing else can ever run.

The parts, a module each: :mod:`~glm_magics.tools.registry` (the registry and
``@tool``), :mod:`~glm_magics.tools.running` (running calls),
:mod:`~glm_magics.tools.schema` (the schema), :mod:`~glm_magics.tools.docstrings`
(reading docstrings), :mod:`~glm_magics.tools.arguments` (checking and converting
arguments), :mod:`~glm_magics.tools.hints` (what a type hint means as JSON) and
:mod:`~glm_magics.tools.approval` (calls that wait for a person: ``@tool(confirm=True)``).
"""

from __future__ import annotations

from glm_magics.tools.approval import (
    ApprovalRequest,
    Approver,
    ConfirmPolicy,
    StdinApprover,
    ask_on_stdin,
    confirm_policy,
)
from glm_magics.tools.registry import ToolRegistry, registered_tools, tool, unregister
from glm_magics.tools.running import (
    Approval,
    ToolOutcome,
    run_tool_call,
    run_tool_calls,
    tool_message,
)
from glm_magics.tools.schema import function_schema

__all__ = [
    "Approval",
    "ApprovalRequest",
    "Approver",
    "ConfirmPolicy",
    "StdinApprover",
    "ToolOutcome",
    "ToolRegistry",
    "ask_on_stdin",
    "confirm_policy",
    "function_schema",
    "registered_tools",
    "run_tool_call",
    "run_tool_calls",
    "tool",
    "tool_message",
    "unregister",
]
