"""A question made into the prompt that is sent: references expanded, DataFrames attached.

:func:`compose` turns what the user typed into a :class:`Prompt`: ``{name}``
references replaced by the values they name (:mod:`~glm_magics.context.references`)
and the summaries of the DataFrames given (:mod:`~glm_magics.context.frames`) put
first, separated from the question by :data:`CONTEXT_SEPARATOR`::

    prompt = compose("Which region sells most?", frames={"sales": sales}, rows=0)
    prompt.text        # the summaries, the separator, the question
    prompt.question    # the question alone (what the history shows)
    prompt.notes       # what the user should be told: values cut short...
    prompt.untrusted   # ("rows of sales",): text nobody checked that rides along

Every frontend composes through here, so a question reads the same to the model
whether it came from a cell, the control panel or plain Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from glm_magics.context.frames import ContextOptions, FrameSummary, summarize
from glm_magics.context.references import expand, namespace_resolver
from glm_magics.errors import ParameterError

__all__ = ["CONTEXT_SEPARATOR", "Prompt", "compose", "frame_summaries"]

#: Between the DataFrame summaries attached to a question and the question itself.
CONTEXT_SEPARATOR = "\n\n---\n\n"


@dataclass(frozen=True)
class Prompt:
    """What is sent (``text``), what was asked (``question``) and notes for the user.

    ``untrusted`` names what in ``text`` came from data rather than from the person
    asking (DataFrame rows, cell outputs and errors): instructions hidden there could
    steer the model, so a tool call that waits for approval says so.
    """

    text: str
    question: str
    notes: tuple[str, ...] = ()
    untrusted: tuple[str, ...] = ()

    @property
    def has_context(self) -> bool:
        """Whether DataFrame summaries go with the question."""
        return self.text != self.question


def frame_summaries(frames: Mapping[str, object], options: ContextOptions) -> list[FrameSummary]:
    """One summary per frame, by the name it has in the notebook; ParameterError for a
    value that is not a pandas or polars DataFrame or Series."""
    summaries = []
    for name, frame in frames.items():
        try:
            summaries.append(summarize(frame, name, options))
        except TypeError as exc:
            raise ParameterError(str(exc)) from None
    return summaries


def compose(
    question: str,
    *,
    frames: Mapping[str, object] | None = None,
    options: ContextOptions | None = None,
    namespace: Mapping[str, object] | None = None,
) -> Prompt:
    """The prompt for ``question``: references looked up in ``namespace`` (if given),
    summaries of ``frames`` first."""
    notes: list[str] = []
    untrusted: list[str] = []
    if namespace is not None:
        expansion = expand(question, namespace_resolver(namespace))
        question = expansion.text
        notes += expansion.notes
        untrusted += [f"{{{ref}}}" for ref in expansion.references if _is_output(ref)]
    text = question
    if frames:
        options = options or ContextOptions()
        summaries = frame_summaries(frames, options)
        text = "\n\n".join(summary.text for summary in summaries) + CONTEXT_SEPARATOR + question
        if options.rows > 0:
            untrusted.append(f"rows of {', '.join(summary.name for summary in summaries)}")
    return Prompt(text, question, tuple(notes), tuple(untrusted))


_OUTPUTS = re.compile(r"(?:Out|Err|_oh|_\d+|_{1,3})(?!\w)")


def _is_output(reference: str) -> bool:
    """Whether a reference names a cell's output or error (``Out[3]``, ``Err[-1]``, ``_3``,
    ``_``): text a program produced, perhaps from data nobody checked."""
    return _OUTPUTS.match(reference) is not None
