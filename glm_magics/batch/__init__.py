"""Batch work: the model over every row of a DataFrame (:func:`~glm_magics.batch.rows.map_rows`).

A frontend over the core, like the magics and the panel:

- :mod:`~glm_magics.batch.rows`: ``map_rows``, putting the parts together;
- :mod:`~glm_magics.batch.engine`: the workers, the re-ask, the packing, stopping;
- :mod:`~glm_magics.batch.template` and :mod:`~glm_magics.batch.schema`: a row's
  prompt, and what its answer becomes;
- :mod:`~glm_magics.batch.store`: finished rows kept for the next run;
- :mod:`~glm_magics.batch.frames`: pandas and polars in and out;
- :mod:`~glm_magics.batch.progress` and :mod:`~glm_magics.batch.estimate`.

The pace is the service's rate limiter's (:mod:`glm_magics.wire.limits`).
"""
