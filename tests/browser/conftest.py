"""Fixtures for the browser tests: Debian's Chromium, JupyterLab and Notebook 7.

The browser is the system's ``/usr/bin/chromium``, never one Playwright would
download. Without it the tests are skipped on a developer's machine; in CI
(``CI`` set) they fail instead, so a broken install cannot pass unnoticed.

Each test gets a fresh tab; whatever the test's outcome, a screenshot of the tab
is saved to ``artifacts/browser/<test>.png`` when it ends (before its kernels are
shut down, so the picture shows the notebook as the test left it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, sync_playwright

from tests.browser.jupyter_server import JupyterServer
from tests.browser.notebook_page import OpenNotebook, notebook_session

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 1400}
# Playwright's default wait for a single action; the slow steps pass their own.
ACTION_TIMEOUT_MS = 15_000


def in_ci() -> bool:
    """Whether this run is CI's (where a missing browser is an error)."""
    return bool(os.environ.get("CI"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab or Notebook 7 in Chromium (slow, needs a browser)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() or in_ci():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is not installed (apt-get install chromium); in CI this fails"
    )
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile, shared by all browser tests (one tab each)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing but CI is set: .ci/run should have installed Debian's "
            "chromium package",
            pytrace=False,
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    with JupyterServer.start("lab", tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="session")
def plain_lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """JupyterLab with the glm-magics extension disabled: the kernel must fall back."""
    with JupyterServer.start(
        "lab", tmp_path_factory.mktemp("plain-jupyterlab"), without_glm_extension=True
    ) as server:
        yield server


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    with JupyterServer.start("notebook", tmp_path_factory.mktemp("notebook7")) as server:
        yield server


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A fresh tab in the shared browser."""
    tab = browser_context.new_page()
    try:
        yield tab
    finally:
        if not tab.is_closed():
            tab.close()


@pytest.fixture
def open_in_lab(
    page: Page, lab_server: JupyterServer, request: pytest.FixtureRequest
) -> Iterator[OpenNotebook]:
    """``open_in_lab(name, cells)`` writes a notebook and opens it in JupyterLab."""
    with notebook_session(page, lab_server, request.node.name) as open_notebook:
        yield open_notebook


@pytest.fixture
def open_in_plain_lab(
    page: Page, plain_lab_server: JupyterServer, request: pytest.FixtureRequest
) -> Iterator[OpenNotebook]:
    """Like ``open_in_lab``, in JupyterLab without the glm-magics extension."""
    with notebook_session(page, plain_lab_server, request.node.name) as open_notebook:
        yield open_notebook


@pytest.fixture
def open_in_notebook7(
    page: Page, notebook7_server: JupyterServer, request: pytest.FixtureRequest
) -> Iterator[OpenNotebook]:
    """``open_in_notebook7(name, cells)`` writes a notebook and opens it in Notebook 7."""
    with notebook_session(page, notebook7_server, request.node.name) as open_notebook:
        yield open_notebook
