"""The IPython and Jupyter frontends over a session: magics, line commands, control panel.

- :mod:`~glm_magics.notebook.extension`: ``%load_ext`` puts them together;
- :mod:`~glm_magics.notebook.host`: what the frontends share of the notebook;
- :mod:`~glm_magics.notebook.magics` and :mod:`~glm_magics.notebook.commands`;
- :mod:`~glm_magics.notebook.panel` with :mod:`~glm_magics.notebook.panel_settings`
  and :mod:`~glm_magics.notebook.panel_output`;
- :mod:`~glm_magics.notebook.state` (cells and their errors),
  :mod:`~glm_magics.notebook.bridge` and :mod:`~glm_magics.notebook.insertion` (new
  cells through the notebook extension).
"""
