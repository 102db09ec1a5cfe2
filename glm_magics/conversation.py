"""The running conversation of ``%%glm`` cells, trimmed to fit the context window.

Token counts are estimated before sending with a documented heuristic (the service
reports the real count afterwards):

* about 4 characters per token for Latin-script text, code and punctuation;
* about 1.5 characters per token for CJK (Chinese, Japanese, Korean) characters;
* 4 tokens of framing per message.

The estimate errs a little high on purpose, so trimming leaves room to spare.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from glm_magics.errors import ParameterError
from glm_magics.params import CONTEXT_WINDOW

__all__ = ["CONTEXT_SEPARATOR", "Conversation", "Turn", "estimate_tokens"]

#: Between the DataFrame summaries attached to a question and the question itself.
CONTEXT_SEPARATOR = "\n\n---\n\n"

_MESSAGE_OVERHEAD = 4
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x9FFF),  # CJK radicals, kana, CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x2FFFF),  # CJK extensions
)


def _is_cjk(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _CJK_RANGES)


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (see the module docstring)."""
    if not text:
        return 0
    if text.isascii():
        return math.ceil(len(text) / 4)
    cjk = sum(1 for char in text if ord(char) >= 0x1100 and _is_cjk(char))
    return math.ceil((len(text) - cjk) / 4 + cjk / 1.5)


def message_tokens(message: dict[str, Any]) -> int:
    """Estimated tokens of one chat message, framing included."""
    total = _MESSAGE_OVERHEAD
    for key in ("content", "reasoning_content"):
        value = message.get(key)
        if isinstance(value, str):
            total += estimate_tokens(value)
    for call in message.get("tool_calls") or ():
        function = call.get("function", {}) if isinstance(call, dict) else {}
        total += estimate_tokens(str(function.get("name", "")))
        total += estimate_tokens(str(function.get("arguments", "")))
    return total


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

    @property
    def question(self) -> str:
        """What the user asked, without any attached DataFrame context."""
        content = str(self.user.get("content", ""))
        _, separator, question = content.partition(CONTEXT_SEPARATOR)
        return question if separator else content

    @property
    def has_context(self) -> bool:
        """Whether DataFrame summaries were attached to the question."""
        return CONTEXT_SEPARATOR in str(self.user.get("content", ""))

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
    ) -> None:
        """Record an exchange; one from a cell that asked before replaces that turn."""
        turn = Turn(dict(user), dict(assistant), interrupted, key, list(steps or ()))
        with self._lock:
            position = self._position(key)
            if position is None:
                self.turns.append(turn)
            else:
                self.turns[position] = turn

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
