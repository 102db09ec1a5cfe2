"""Fixtures for the local server's behaviour tests: a fresh server, one client.

Each test gets its own :class:`LocalGLMServer` (the knobs and the rate limiter's
state are per server), while one httpx client serves the whole module: building
a client per request costs more than the loopback requests themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from glm_magics.testing import LocalGLMServer


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def server() -> Iterator[LocalGLMServer]:
    with LocalGLMServer() as running:
        yield running
