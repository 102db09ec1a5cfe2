"""Showing an answer as it streams: HTML for notebooks and widgets, text for terminals.

- :mod:`~glm_magics.display.view`: the :class:`~glm_magics.display.view.StreamView` base,
  a reporter that turns events into drawing;
- :mod:`~glm_magics.display.notebook_view` and :mod:`~glm_magics.display.plain_view`;
- :mod:`~glm_magics.display.markdown` (safe rendering of untrusted text) and
  :mod:`~glm_magics.display.markdown_column` (bounded, linear live redraws);
- :mod:`~glm_magics.display.status`, :mod:`~glm_magics.display.sources`,
  :mod:`~glm_magics.display.code_blocks`.
"""
