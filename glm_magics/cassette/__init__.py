"""Cassettes: a lesson's answers recorded once with a key, replayed anywhere offline.

The layer between the wire and the core. A :class:`~glm_magics.cassette.cassette.Cassette`
is one JSON-lines file (:mod:`~glm_magics.cassette.entries`); a client asks it, per
request, whether to replay a recorded answer (:mod:`~glm_magics.cassette.replay`, as a
real HTTP response streamed at a chosen pace) or to send the request and record the
answer as it is read (:mod:`~glm_magics.cassette.record`). Every entry is scanned for
keys and tokens before it is written (:mod:`~glm_magics.cassette.secrets`); a request
that is not recorded is explained by the nearest one that is
(:mod:`~glm_magics.cassette.nearest`).
"""

from __future__ import annotations

from glm_magics.cassette.cassette import (
    MODE_ENV,
    MODES,
    PATH_ENV,
    Cassette,
    Plan,
    as_cassette,
    cassette_from_env,
    effective_cassette,
)
from glm_magics.cassette.replay import PACES

__all__ = [
    "MODES",
    "MODE_ENV",
    "PACES",
    "PATH_ENV",
    "Cassette",
    "Plan",
    "as_cassette",
    "cassette_from_env",
    "effective_cassette",
]
