"""The plain-Python core: a :class:`~glm_magics.core.session.Session` and what it is made of.

Nothing here imports IPython or ipywidgets; the magics, the control panel and batch
work are thin frontends over it.

- :mod:`~glm_magics.core.session`: the session (settings, conversation, usage, tools);
- :mod:`~glm_magics.core.client`: :class:`~glm_magics.core.client.GLMClient`;
- :mod:`~glm_magics.core.exchange`: the one tool loop, driven by
  :mod:`~glm_magics.core.driver` (a worker thread, ticks, stopping);
- :mod:`~glm_magics.core.reporting`: the events a live display is told;
- :mod:`~glm_magics.core.settings`: every setting, declared once;
- :mod:`~glm_magics.core.conversation`, :mod:`~glm_magics.core.usage`.
"""
