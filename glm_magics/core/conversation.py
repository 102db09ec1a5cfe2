"""The running conversation: turns in notebook order, trimmed to fit the context window.

Token counts are estimated before sending (:mod:`glm_magics.tokens`) and calibrated
against what the service counts afterwards.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from glm_magics.errors import ParameterError
from glm_magics.tokens import message_tokens
from glm_magics.wire.params import CONTEXT_WINDOW

__all__ = ["Conversation", "Turn"]


@dataclass
class Turn:
    """One exchange: the user's message and the assistant's reply.

    ``key`` names the cell that asked (the frontend's cell id, else the cell's
    source), so running that cell again replaces this turn.
    """

    user: dict[str, Any]
    assistant: dict[str, Any]
    interrupted: bool = False
    key: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    """Tool rounds in between: assistant tool-call messages and tool results."""
    question: str = ""
    """What the user asked, without any attached DataFrame context (default: all of it)."""
    has_context: bool = False
    """Whether DataFrame summaries were attached to the question."""
    untrusted: tuple[str, ...] = ()
    """The text nobody checked that the turn carried (web search results, DataFrame
    rows, cell outputs): it stays in what later questions send."""

    def __post_init__(self) -> None:
        if not self.question:
            self.question = str(self.user.get("content", ""))

    def messages(self) -> list[dict[str, Any]]:
        """The turn as sent: the question, any tool rounds, the answer."""
        return [self.user, *self.steps, self.assistant]

    @property
    def raw_tokens(self) -> int:
        """Uncalibrated estimate of all its messages."""
        return sum(message_tokens(message) for message in self.messages())


class Conversation:
    """Turns in notebook order; :meth:`messages_for` builds the next request.

    Thread-safe: the control panel adds turns from its background thread while
    cells may ask too.

    Estimates are calibrated: after each reply :meth:`calibrate` compares the
    estimate of what was sent with the ``usage.prompt_tokens`` the service counted,
    and later estimates are scaled by that ratio (smoothed, kept within 0.25-4).
    """

    def __init__(self, window: int = CONTEXT_WINDOW) -> None:
        self.window = window
        self.turns: list[Turn] = []
        self.scale = 1.0
        self._calibrated = False
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.turns)

    def __iter__(self) -> Iterator[Turn]:
        with self._lock:
            return iter(list(self.turns))

    def reset(self) -> None:
        """Forget every turn (the calibration is kept: it describes the tokenizer)."""
        with self._lock:
            self.turns.clear()

    def estimate(self, messages: list[dict[str, Any]]) -> int:
        """Calibrated token estimate of ``messages``."""
        return math.ceil(sum(message_tokens(m) for m in messages) * self.scale)

    def turn_tokens(self, turn: Turn) -> int:
        """Calibrated token estimate of one turn."""
        return math.ceil(turn.raw_tokens * self.scale)

    def calibrate(self, sent: list[dict[str, Any]], prompt_tokens: int) -> None:
        """Learn from the service's count of the tokens in ``sent``."""
        estimated = sum(message_tokens(m) for m in sent)
        if estimated <= 0 or prompt_tokens <= 0:
            return
        ratio = prompt_tokens / estimated
        with self._lock:
            scale = ratio if not self._calibrated else 0.5 * self.scale + 0.5 * ratio
            self.scale = min(4.0, max(0.25, scale))
            self._calibrated = True

    def _position(self, key: str | None) -> int | None:
        if key is None:
            return None
        for index, turn in enumerate(self.turns):
            if turn.key == key:
                return index
        return None

    def add(
        self,
        user: dict[str, Any],
        assistant: dict[str, Any],
        *,
        interrupted: bool = False,
        key: str | None = None,
        steps: list[dict[str, Any]] | None = None,
        question: str = "",
        has_context: bool = False,
        untrusted: tuple[str, ...] = (),
    ) -> None:
        """Record an exchange; one from a cell that asked before replaces that turn.

        ``question`` is what the user typed when ``user`` carries more (DataFrame
        context): the history shows it.
        """
        turn = Turn(
            dict(user),
            dict(assistant),
            interrupted,
            key,
            list(steps or ()),
            question,
            has_context,
            tuple(untrusted),
        )
        with self._lock:
            position = self._position(key)
            if position is None:
                self.turns.append(turn)
            else:
                self.turns[position] = turn

    def untrusted(self, key: str | None = None) -> tuple[str, ...]:
        """What untrusted text the turns before ``key``'s (all, without one) carried."""
        with self._lock:
            position = self._position(key)
            history = self.turns if position is None else self.turns[:position]
            return tuple(dict.fromkeys(item for turn in history for item in turn.untrusted))

    def messages_for(
        self, prompt: str, *, system: str = "", reserve: int = 4096, key: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Messages for a new ``prompt`` and how many old turns were left out.

        When the cell ``key`` asked before, only the turns before its earlier
        exchange are sent (as in the notebook, where that cell comes before the
        ones after it). The oldest turns go first until the estimate plus
        ``reserve`` (the answer's ``max_tokens``) fits the window. A prompt that
        cannot fit even alone is refused with the estimate in the message.
        """
        head = [{"role": "system", "content": system}] if system else []
        user = {"role": "user", "content": prompt}
        fixed = self.estimate([*head, user])
        budget = self.window - reserve
        if fixed > budget:
            raise ParameterError(
                f"the prompt is about {fixed:,} tokens; with {reserve:,} reserved for the "
                f"answer (max_tokens) it cannot fit the {self.window:,}-token context window. "
                "Shorten the prompt or lower max_tokens."
            )
        with self._lock:
            position = self._position(key)
            history = list(self.turns if position is None else self.turns[:position])
        kept: list[Turn] = []
        used = fixed
        for turn in reversed(history):
            cost = self.turn_tokens(turn)
            if used + cost > budget:
                break
            kept.append(turn)
            used += cost
        kept.reverse()
        messages = list(head)
        for turn in kept:
            messages.extend(turn.messages())
        messages.append(user)
        return messages, len(history) - len(kept)
