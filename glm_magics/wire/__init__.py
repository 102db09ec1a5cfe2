"""Talking to a GLM service: HTTP, server-sent events, the three protocols, retries, presets.

The bottom working layer: it knows the service's wire formats and nothing of
conversations, notebooks or displays.

- :mod:`~glm_magics.wire.http`: a :class:`~glm_magics.wire.http.Connection` (base URL,
  key, preset) and the one place httpx's and the service's errors are mapped;
- :mod:`~glm_magics.wire.stream`: :class:`~glm_magics.wire.stream.ChatStream`, one
  request read as events, with the one retry loop;
- :mod:`~glm_magics.wire.protocols` with :mod:`~glm_magics.wire.chat`,
  :mod:`~glm_magics.wire.responses` and :mod:`~glm_magics.wire.messages` (each a request
  body and a reader on the :mod:`~glm_magics.wire.reader` base), and
  :mod:`~glm_magics.wire.message_parts`;
- :mod:`~glm_magics.wire.sse`, :mod:`~glm_magics.wire.think_tags`,
  :mod:`~glm_magics.wire.retry`, :mod:`~glm_magics.wire.params` (the documented ranges),
  :mod:`~glm_magics.wire.presets`, :mod:`~glm_magics.wire.keys`,
  :mod:`~glm_magics.wire.web_search`, :mod:`~glm_magics.wire.model_schema`.
"""
