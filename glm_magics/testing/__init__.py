"""A GLM-compatible local test server, so nothing needs the network or a key.

::

    from glm_magics.testing import LocalGLMServer, Reply, ToolCallSpec

    with LocalGLMServer() as server:
        server.queue(Reply(text="Hi", reasoning="think..."))
        ...  # point a client at server.base_url
        server.requests[0].body  # what the client sent

A busy service is one attribute away (``server.rate_limit = RateLimit(...)``: 429s
with code 1302 and an exact ``retry-after-ms``), a slow one another
(``server.latency``). ``python -m glm_magics.testing --port 8765`` runs one from a
terminal.
"""

from __future__ import annotations

from glm_magics.testing.default_reply import default_reply
from glm_magics.testing.rate_limit import RateLimit
from glm_magics.testing.recording import RecordedRequest
from glm_magics.testing.replies import Reply, ToolCallSpec, parse_recorded_stream, tokenize
from glm_magics.testing.server import LocalGLMServer
from glm_magics.testing.wire import KNOWN_MODELS

__all__ = [
    "KNOWN_MODELS",
    "LocalGLMServer",
    "RateLimit",
    "RecordedRequest",
    "Reply",
    "ToolCallSpec",
    "default_reply",
    "parse_recorded_stream",
    "tokenize",
]
