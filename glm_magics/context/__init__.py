"""What goes with a question: DataFrame summaries and ``{references}`` to notebook values.

- :mod:`~glm_magics.context.prompt`: a question made into the prompt that is sent;
- :mod:`~glm_magics.context.frames` with :mod:`~glm_magics.context.frame_stats` and
  :mod:`~glm_magics.context.frame_adapters`: bounded, deterministic summaries of pandas
  and polars frames;
- :mod:`~glm_magics.context.references`: the ``{name}`` grammar and its lookup.
"""
