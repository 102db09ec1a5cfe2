"""``{name}`` references in ``%%glm`` prompts, replaced by notebook values.

A prompt may name notebook values in braces; :func:`expand` swaps each one for
``str(value)`` before the prompt is sent::

    %%glm
    Why does {df.shape} differ from {expected[0]}? The error was:
    {Err[-1]}

Prompts are often code, JSON or LaTeX, full of braces that mean something else, so a
reference is recognised only when it fits a small, strict grammar and resolves:

* a name, then any number of ``.attribute`` or subscripts ``[3]``, ``[-1]``,
  ``['key']``, ``["key"]``: ``{x}``, ``{obj.attr.sub}``, ``{d['key']}``, ``{In[3]}``,
  ``{Out[3]}``, ``{Err[-1]}``;
* nothing else: no spaces (``{ x }``), no calls (``{f()}``), no format specs or
  conversions (``{x:>10}``, ``{x!r}``), no numbers (``{0}``), no expressions, and no
  dunder names (``{x.__class__}``, ``{__builtins__}``).

Everything that is not such a reference, every reference whose name is unknown, and
every reference whose lookup or ``str()`` raises (anything at all) is left exactly as
written, with no error: ``{"a": {"b": 1}}``, ``f"{total:.2f}"``, ``\\frac{a}{b}`` and
``{{ jinja }}`` pass through untouched.

The one ambiguity: a ``{x}`` inside pasted code *is* replaced when ``x`` is a notebook
variable, because the prompt cannot tell code from prose. Write ``{{x}}`` to keep it:
a doubled pair around anything that fits the grammar becomes the single pair
(``{{x}}`` gives ``{x}``, ``{{d['k']}}`` gives ``{d['k']}``), whether or not ``x`` is
defined, so the escape means the same thing in every notebook.

Unlike :meth:`str.format`, other doubled braces are *not* collapsed: a lone ``{{`` or
``}}`` is left as written. Collapsing every ``}}`` would corrupt nested dicts and JSON
(``{"a": {"b": 1}}``), LaTeX (``\\sqrt{\\frac{1}{2}}``) and template languages
(``{{ name }}``), which prompts quote all the time.

Replacement happens once, in a single left-to-right scan: a value that itself holds
``{secret}`` or ``{{`` is inserted verbatim and never expanded again. Long values are
cut to ``max_chars`` with a visible marker, and :attr:`Expansion.notes` says so.

Looking a reference up never evaluates code and never calls anything, with one
unavoidable exception: ``getattr`` runs a property's getter, as it would in a cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Expansion", "expand", "namespace_resolver", "referenced_names"]

_IDENT = r"[^\W\d]\w*"
_KEY = r"-?\d+|'[^'\\\n]*'|\"[^\"\\\n]*\""
_STEP = re.compile(rf"\.({_IDENT})|\[({_KEY})\]")
_EXPRESSION = rf"{_IDENT}(?:\.{_IDENT}|\[(?:{_KEY})\])*"
_FULL = re.compile(_EXPRESSION)
_REFERENCE = re.compile(rf"\{{({_EXPRESSION})\}}")
_ESCAPED = re.compile(rf"\{{\{{({_EXPRESSION})\}}\}}")
_LEADING_NAME = re.compile(_IDENT)

_Step = tuple[str, str | int]


@dataclass(frozen=True)
class Expansion:
    """The outcome of :func:`expand`.

    ``references`` lists the replaced expressions (without braces) in order of first
    appearance, each once; ``notes`` holds what the user should be told, such as a
    value that was cut. Neither mentions references that were left as written.
    """

    text: str
    references: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _parse(expression: str) -> tuple[str, list[_Step]] | None:
    """Split ``a.b[0]['k']`` into ``("a", [("attr", "b"), ("item", 0), ("item", "k")])``.

    Returns None when the expression does not fit the grammar or names a dunder.
    """
    if _FULL.fullmatch(expression) is None:
        return None
    head = _LEADING_NAME.match(expression)
    assert head is not None  # the full match above starts with a name
    name = head.group()
    if _is_dunder(name):
        return None
    steps: list[_Step] = []
    for match in _STEP.finditer(expression, head.end()):
        attribute, key = match.groups()
        if attribute is not None:
            if _is_dunder(attribute):
                return None
            steps.append(("attr", attribute))
        elif key[0] in "'\"":
            steps.append(("item", key[1:-1]))
        else:
            steps.append(("item", int(key)))
    return name, steps


def namespace_resolver(user_ns: Mapping[str, object]) -> Callable[[str], object]:
    """A ``resolve`` function for :func:`expand` that looks expressions up in ``user_ns``.

    ``resolve("d['key'].attr")`` is ``getattr(user_ns["d"]["key"], "attr")``. An
    expression outside the grammar raises ``ValueError``, an unknown name raises
    ``LookupError``, and attribute or subscript errors propagate as they are.
    To offer names that are not in the namespace (such as ``Err``), pass a
    ``collections.ChainMap({"Err": errors}, shell.user_ns)``.
    """

    def resolve(expression: str) -> object:
        parsed = _parse(expression)
        if parsed is None:
            raise ValueError(f"not a reference: {expression!r}")
        name, steps = parsed
        try:
            value: Any = user_ns[name]
        except KeyError:
            raise LookupError(f"unknown name {name!r}") from None
        for kind, key in steps:
            value = getattr(value, str(key)) if kind == "attr" else value[key]
        return value

    return resolve


def _cut(expression: str, text: str, max_chars: int) -> tuple[str, str | None]:
    if len(text) <= max_chars:
        return text, None
    shown, total = f"{max_chars:,}", f"{len(text):,}"
    marker = f"…[cut: {shown} of {total} characters]"
    return text[:max_chars] + marker, f"{{{expression}}} cut to {shown} of {total} characters"


def expand(template: str, resolve: Callable[[str], object], *, max_chars: int = 4000) -> Expansion:
    """Replace each ``{reference}`` in ``template`` by its value (see the module docstring).

    ``resolve`` turns an expression such as ``"df.shape"`` into its value; anything it
    raises leaves that reference as written. Each value is ``str()``-ed once, even if
    the reference repeats, and cut to ``max_chars`` characters. Never raises, except
    ``ValueError`` for a negative ``max_chars``.

    >>> expand("n = {n}, set = {{n}}, dict = {'n': 1}", {"n": 3}.__getitem__).text
    "n = 3, set = {n}, dict = {'n': 1}"
    """
    if max_chars < 0:
        raise ValueError(f"max_chars must be 0 or more, got {max_chars}")
    if "{" not in template:
        return Expansion(template)

    values: dict[str, str | None] = {}
    references: list[str] = []
    notes: list[str] = []

    def value_of(expression: str) -> str | None:
        """The text to insert for ``expression``, or None to leave it as written."""
        if expression in values:
            return values[expression]
        text: str | None = None
        if _parse(expression) is not None:
            try:
                text = str(resolve(expression))
            except Exception:  # any failure means "not a reference"
                text = None
        values[expression] = text
        return text

    out: list[str] = []
    position = 0
    while (start := template.find("{", position)) != -1:
        out.append(template[position:start])
        escaped = _ESCAPED.match(template, start)
        if escaped is not None:
            out.append(escaped.group()[1:-1])
            position = escaped.end()
            continue
        reference = _REFERENCE.match(template, start)
        if reference is not None:
            expression = reference.group(1)
            text = value_of(expression)
            if text is not None:
                text, note = _cut(expression, text, max_chars)
                out.append(text)
                if expression not in references:
                    references.append(expression)
                    if note is not None:
                        notes.append(note)
                position = reference.end()
                continue
        out.append("{")
        position = start + 1
    out.append(template[position:])
    return Expansion("".join(out), references, notes)


def referenced_names(template: str) -> list[str]:
    """The names ``template``'s references start with, in order, each once.

    Escaped pairs (``{{name}}``) and braces that do not fit the grammar are not
    references, exactly as :func:`expand` reads them::

        >>> referenced_names("{review} by {user.name}; {{literal}} {x:>3}")
        ['review', 'user']
    """
    names: list[str] = []
    position = 0
    while (start := template.find("{", position)) != -1:
        escaped = _ESCAPED.match(template, start)
        if escaped is not None:
            position = escaped.end()
            continue
        reference = _REFERENCE.match(template, start)
        parsed = _parse(reference.group(1)) if reference is not None else None
        if reference is not None and parsed is not None:
            if parsed[0] not in names:
                names.append(parsed[0])
            position = reference.end()
            continue
        position = start + 1
    return names
