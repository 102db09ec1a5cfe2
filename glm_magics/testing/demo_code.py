"""Runnable Python the local server's demo answers carry.

A demo answer that asks for code gets a small, real function (chosen by the words of
the question); a ``%glm fix`` request gets the failing cell back, guarded so that it
runs and reports its error. Either way a cell inserted from the answer runs.
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["FIX_REQUEST", "code_for", "error_name", "fixed_cell"]

# (trigger words, function source); the first template whose words occur wins.
_TEMPLATES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("plot", "chart", "graph", "histogram", "visuali"),
        '''import matplotlib.pyplot as plt


def plot_values(values: list[float], title: str = "Values") -> None:
    """Draw ``values`` as a line with markers."""
    fig, ax = plt.subplots()
    ax.plot(range(len(values)), values, marker="o")
    ax.set_title(title)
    ax.set_xlabel("index")
    ax.set_ylabel("value")
    plt.show()


plot_values([1, 4, 9, 16, 25], title="Squares")''',
    ),
    (
        ("fibonacci", "fib"),
        '''def fibonacci(n: int) -> list[int]:
    """Return the first ``n`` Fibonacci numbers."""
    numbers: list[int] = []
    a, b = 0, 1
    for _ in range(n):
        numbers.append(a)
        a, b = b, a + b
    return numbers


print(fibonacci(10))''',
    ),
    (
        ("prime",),
        '''def primes_up_to(limit: int) -> list[int]:
    """Return the primes up to ``limit`` with the sieve of Eratosthenes."""
    is_prime = [True] * (limit + 1)
    is_prime[:2] = [False] * min(2, limit + 1)
    for n in range(2, int(limit**0.5) + 1):
        if is_prime[n]:
            is_prime[n * n :: n] = [False] * len(range(n * n, limit + 1, n))
    return [n for n, prime in enumerate(is_prime) if prime]


print(primes_up_to(30))''',
    ),
    (
        ("sort", "order", "rank"),
        '''def sort_by_length(words: list[str]) -> list[str]:
    """Sort ``words`` by length, then alphabetically."""
    return sorted(words, key=lambda word: (len(word), word))


print(sort_by_length(["pear", "fig", "banana", "kiwi"]))''',
    ),
    (
        ("csv", "dataframe", "pandas", "table", "mean", "average", "statistic", "data"),
        '''import statistics


def summarize(values: list[float]) -> dict[str, float]:
    """Return count, mean, median and standard deviation of ``values``."""
    return {
        "count": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


print(summarize([3.0, 1.5, 4.0, 1.0, 5.5]))''',
    ),
)

_FALLBACK_TEMPLATE = '''from collections import Counter


def word_frequencies(text: str, top: int = 5) -> list[tuple[str, int]]:
    """Return the ``top`` most common words of ``text``, lower-cased."""
    words = [word.strip(".,;:!?\\"'()").lower() for word in text.split()]
    return Counter(word for word in words if word).most_common(top)


print(word_frequencies({prompt!r}))'''


FIX_REQUEST = re.compile(
    r"raised an error\..*?Cell:\n```python\n(?P<source>.*?)\n```\n\nError:\n```\n"
    r"(?P<error>.*?)\n```",
    re.DOTALL,
)


def error_name(error: str) -> str:
    """The exception's name, from the last line of a traceback."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "the error"
    return last.split(":", 1)[0] if ":" in last else last


def fixed_cell(source: str, error: str) -> str:
    """A cell that runs: the failing one, guarded so the error is reported, not raised.

    The local server cannot correct code; this keeps the demo's inserted cell
    runnable. A cell that does not even parse is kept as comments.
    """
    note = "# The local test server cannot fix code: this runs the cell and reports its error."
    try:
        compile(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        kept = "\n".join(f"# {line}" if line else "#" for line in source.splitlines())
        return f"{note}\n{kept}\nprint({error_name(error)!r} + ': fix the commented code above')"
    body = "\n".join(f"    {line}" if line else "" for line in source.splitlines())
    return (
        f"{note}\ntry:\n{body or '    pass'}\nexcept Exception as error:\n"
        '    print(f"{type(error).__name__}: {error}")'
    )


def code_for(prompt: str) -> str:
    """A small, runnable Python example chosen by the words of ``prompt``."""
    lowered = prompt.lower()
    for words, source in _TEMPLATES:
        if any(word in lowered for word in words):
            return source
    return _FALLBACK_TEMPLATE.format(prompt=textwrap.shorten(prompt, 60, placeholder="…"))
