"""Typed events that :meth:`GLMClient.stream` yields as a response arrives.

Each event is a small frozen dataclass; match on the type::

    for event in client.stream(messages):
        if isinstance(event, TextDelta):
            print(event.text, end="")
"""

from __future__ import annotations

from dataclasses import dataclass

from glm_magics.results import Usage

__all__ = [
    "Finished",
    "ReasoningDelta",
    "RetryScheduled",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "UsageReported",
]


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's reasoning (``reasoning_content`` or ``reasoning``)."""

    text: str


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer (``content``)."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A tool call or a fragment of one; fragments share ``index``."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True)
class UsageReported:
    """Token counts, usually in the finishing chunk or one right after it."""

    usage: Usage


@dataclass(frozen=True)
class Finished:
    """The service said why it stopped: ``stop``, ``length``, ``tool_calls``, ``sensitive``…"""

    finish_reason: str


@dataclass(frozen=True)
class RetryScheduled:
    """A request failed before any answer arrived and will be sent again after ``delay``."""

    reason: str
    delay: float
    attempt: int
    max_attempts: int

    @property
    def message(self) -> str:
        """The line shown to the user while waiting."""
        return (
            f"{self.reason}, retrying in {self.delay:.1f} s, "
            f"attempt {self.attempt} of {self.max_attempts}"
        )


StreamEvent = ReasoningDelta | TextDelta | ToolCallDelta | UsageReported | Finished | RetryScheduled
