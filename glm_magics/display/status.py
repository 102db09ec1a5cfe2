"""The one-line summary under an answer, and the warning line when one is due.

For example ``glm-4-7-flash · first token 0.41 s · total 3.20 s · 62 tok/s ·
tokens in 1,204 / out 173 · finish: stop``, then, for an answer cut at
``max_tokens`` or stopped by the user, one line saying so and what to do.
"""

from __future__ import annotations

from glm_magics.results import ChatResult

__all__ = ["format_status"]


def format_status(result: ChatResult, *, max_tokens: int | None = None) -> tuple[str, str | None]:
    """The one-line summary under an answer, and a warning line when one is due."""
    timings = result.timings
    provenance = result.provenance.describe(result.model)
    if result.provenance.source == "replayed":
        timings = {}  # the replay's own pace says nothing about the model
        parts = [provenance or ""]
    else:
        parts = [result.model or "?"]
    if "ttft" in timings:
        parts.append(f"first token {timings['ttft']:.2f} s")
    if "total" in timings:
        parts.append(f"total {timings['total']:.2f} s")
    usage = result.usage
    generation = timings.get("total", 0.0) - timings.get("ttft", 0.0)
    if usage.completion_tokens and generation > 0:
        parts.append(f"{usage.completion_tokens / generation:.0f} tok/s")
    if usage.total_tokens:
        detail = f"tokens in {usage.prompt_tokens:,}"
        if usage.cached_tokens:
            detail += f" ({usage.cached_tokens:,} cached)"
        detail += f" / out {usage.completion_tokens:,}"
        if usage.reasoning_tokens:
            detail += f" ({usage.reasoning_tokens:,} reasoning)"
        parts.append(detail)
    parts.append(
        f"finish: {result.finish_reason or ('interrupted' if result.interrupted else '?')}"
    )
    if provenance and result.provenance.source != "replayed":
        parts.append(provenance)
    warning = None
    if result.interrupted:
        if result.text.strip():
            warning = "Stopped: the answer above is partial."
        elif result.finish_reason == "tool_calls":
            warning = "Stopped at a tool call: no answer."
        elif result.reasoning.strip():
            warning = "Stopped while the model was reasoning: no answer yet."
        else:
            warning = "Stopped before the model answered: no answer."
    elif result.finish_reason == "length":
        limit = f" ({max_tokens:,})" if max_tokens else ""
        warning = (
            f"The answer reached max_tokens{limit} and was cut off: "
            "raise it with --max-tokens or `%glm config max_tokens=...`."
        )
    return " · ".join(parts), warning
