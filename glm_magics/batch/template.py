"""A prompt template for every row: ``"Sentiment of this review: {review}"``.

The references follow the prompt grammar (:mod:`~glm_magics.context.references`):
``{column}``, ``{column.attr}``, ``{column[0]}``; ``{{ }}`` is a literal pair; braces
that are not a reference (JSON, code) stay as written. A column whose name is not an
identifier is reached through ``row``: ``{row['review text']}``. A reference to a name
that is no column is a mistake, said before anything is sent::

    template = RowTemplate("Sentiment of this review: {review}", columns=["id", "review"])
    template.render({"id": 7, "review": "Loved it"})   # 'Sentiment of this review: Loved it'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from glm_magics.context.references import expand, namespace_resolver, referenced_names
from glm_magics.errors import ParameterError

__all__ = ["RowTemplate"]

_ROW = "row"
_MAX_VALUE_CHARS = 20_000  # one cell's text in a prompt, before it is cut with a note


class RowTemplate:
    """``template`` checked against a frame's ``columns``; :meth:`render` fills it for a row."""

    def __init__(self, template: str, columns: Sequence[str]) -> None:
        if not isinstance(template, str) or not template.strip():
            raise ParameterError("the template is empty: write the prompt for one row")
        self.text = template
        self.columns = [str(column) for column in columns]
        names = referenced_names(template)
        known = {*self.columns, _ROW}
        unknown = [name for name in names if name not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], self.columns, n=1)
            hint = f" Did you mean {{{close[0]}}}?" if close else ""
            raise ParameterError(
                f"the template refers to {{{unknown[0]}}}, which is not a column.{hint} "
                f"Columns: {', '.join(self.columns)}; reach any column as {{row['name']}}."
            )
        if not names:
            raise ParameterError(
                "the template refers to no column, so every row would get the same question: "
                "name one, e.g. {" + (self.columns[0] if self.columns else "text") + "}"
            )
        self.used = [name for name in names if name != _ROW]
        """The columns the template names (all of them when it uses ``row``)."""
        if _ROW in names:
            self.used = list(self.columns)

    def render(self, row: Mapping[str, Any]) -> str:
        """The prompt for one row (its values as text; a very long one is cut)."""
        namespace = {**{str(k): v for k, v in row.items()}, _ROW: row}
        return expand(self.text, namespace_resolver(namespace), max_chars=_MAX_VALUE_CHARS).text
