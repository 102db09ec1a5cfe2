"""Split GLM's inline ``<think>…</think>`` reasoning from the answer text.

A server without a reasoning parser (vLLM or SGLang started without
``--reasoning-parser``, llama.cpp with ``--reasoning-format none``, a proxy that
flattens the stream) sends GLM's reasoning inside the answer::

    <think>The user greets me…</think>
    Hello!

or, when the chat template already opened the tag in the prompt (GLM-4.7 does
when thinking is on), only ``…reasoning…</think>answer``. :class:`ThinkTagSplitter`
takes the answer as it streams in and gives back what is reasoning and what is
text, whatever way the deltas cut the tags::

    splitter = ThinkTagSplitter()
    for delta in deltas:
        for kind, part in splitter.feed(delta):
            show(kind, part)           # kind is "reasoning" or "text"
    for kind, part in splitter.flush():
        show(kind, part)

Only a leading block counts: ``<think>`` must open the answer (after optional
whitespace, which then goes to the reasoning), and the first ``</think>`` ends
the reasoning for good, with one ``\\n`` right after it dropped. Any later tag is
ordinary text. Nothing else is added or removed, and ordinary text is held back
only while it could still be the start of a tag: at most 7 characters.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CLOSE_TAG", "OPEN_TAG", "Part", "PartKind", "ThinkTagSplitter", "split_think_tags"]

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

PartKind = Literal["reasoning", "text"]
Part = tuple[PartKind, str]
Phase = Literal["undecided", "reasoning", "text"]

_START, _REASONING, _AFTER_CLOSE, _TEXT = range(4)


class ThinkTagSplitter:
    """Streaming splitter for one answer; see the module docstring.

    With ``expect_open_tag_in_prompt`` (the chat template opened ``<think>`` in the
    prompt), everything before the first ``</think>`` is reasoning, and a leading
    ``<think>`` the model writes anyway is dropped as well. Use it only when
    thinking is on: with thinking off GLM's template closes the block in the prompt,
    no ``</think>`` comes, and the whole answer would be taken for reasoning.
    """

    def __init__(self, *, expect_open_tag_in_prompt: bool = False) -> None:
        self.expect_open_tag_in_prompt = expect_open_tag_in_prompt
        self._state = _START
        # Leading whitespace seen before the decision (kept apart so that a long
        # run of whitespace deltas is not scanned again at every feed).
        self._lead: list[str] = []
        # A possible "<think>" prefix before the decision, or a possible
        # "</think>" prefix inside the reasoning: never more than 7 characters.
        self._pending = ""

    @property
    def phase(self) -> Phase:
        """Where the answer is: not known yet, inside the reasoning, or past it."""
        if self._state == _START:
            return "undecided"
        return "reasoning" if self._state == _REASONING else "text"

    @property
    def settled(self) -> bool:
        """True once everything still to come is plain answer text."""
        return self._state == _TEXT

    def feed(self, text: str) -> list[Part]:
        """Take the next delta; return the parts it completed (same kinds merged)."""
        parts: list[Part] = []
        if not text:
            return parts
        if self._state == _TEXT:
            return [("text", text)]
        data = self._pending + text
        self._pending = ""
        while data:
            if self._state == _START:
                data = self._decide(data, parts)
            elif self._state == _REASONING:
                data = self._reason(data, parts)
            elif self._state == _AFTER_CLOSE:
                self._state = _TEXT
                data = data.removeprefix("\n")
            else:
                _add(parts, "text", data)
                data = ""
        return parts

    def flush(self) -> list[Part]:
        """The end of the answer: return whatever was held back.

        Text held at the start (whitespace, a ``<thin`` that never became a tag)
        is text, or reasoning when the tag was expected in the prompt; a held
        ``</thi`` inside reasoning is reasoning, since the block never closed.
        """
        parts: list[Part] = []
        pending, self._pending = self._pending, ""
        if self._state == _START:
            pending = self._take_lead() + pending
            self._state = _REASONING if self.expect_open_tag_in_prompt else _TEXT
            _add(parts, "reasoning" if self.expect_open_tag_in_prompt else "text", pending)
        elif self._state == _REASONING:
            _add(parts, "reasoning", pending)
        return parts

    def _decide(self, data: str, parts: list[Part]) -> str:
        """Start of the answer: is there a leading ``<think>``? Returns what is left."""
        body = data.lstrip()
        if len(body) < len(data):
            self._lead.append(data[: len(data) - len(body)])
        if not body:
            return ""
        if body.startswith(OPEN_TAG):
            _add(parts, "reasoning", self._take_lead())
            self._state = _REASONING
            return body[len(OPEN_TAG) :]
        if len(body) < len(OPEN_TAG) and OPEN_TAG.startswith(body):
            self._pending = body
            return ""
        self._state = _REASONING if self.expect_open_tag_in_prompt else _TEXT
        return self._take_lead() + body

    def _take_lead(self) -> str:
        lead = "".join(self._lead)
        self._lead.clear()
        return lead

    def _reason(self, data: str, parts: list[Part]) -> str:
        """Inside the reasoning: look for ``</think>``. Returns what is left."""
        end = data.find(CLOSE_TAG)
        if end >= 0:
            _add(parts, "reasoning", data[:end])
            self._state = _AFTER_CLOSE
            return data[end + len(CLOSE_TAG) :]
        hold = _tag_prefix_length(data, CLOSE_TAG)
        _add(parts, "reasoning", data[: len(data) - hold])
        self._pending = data[len(data) - hold :]
        return ""


def _tag_prefix_length(data: str, tag: str) -> int:
    """Length of the longest end of ``data`` that begins ``tag`` (a tag cut in two)."""
    for length in range(min(len(tag) - 1, len(data)), 0, -1):
        if data.endswith(tag[:length]):
            return length
    return 0


def _add(parts: list[Part], kind: PartKind, text: str) -> None:
    if not text:
        return
    if parts and parts[-1][0] == kind:
        parts[-1] = (kind, parts[-1][1] + text)
    else:
        parts.append((kind, text))


def split_think_tags(text: str, *, expect_open_tag_in_prompt: bool = False) -> tuple[str, str]:
    """``(reasoning, text)`` of a whole, non-streamed answer; same rules as the splitter."""
    splitter = ThinkTagSplitter(expect_open_tag_in_prompt=expect_open_tag_in_prompt)
    reasoning: list[str] = []
    answer: list[str] = []
    for kind, part in (*splitter.feed(text), *splitter.flush()):
        (reasoning if kind == "reasoning" else answer).append(part)
    return "".join(reasoning), "".join(answer)
