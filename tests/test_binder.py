"""Binder's configuration: the notebooks open ready, replaying, with the extension built."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

BINDER = Path(__file__).parent.parent / "binder"


def test_the_session_replays_every_notebook() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GLM_")}
    done = subprocess.run(
        [str(BINDER / "start"), "env"], capture_output=True, text=True, check=True, env=env
    )
    assert "GLM_CASSETTE_MODE=replay" in done.stdout.splitlines()


def test_the_build_installs_the_package_with_its_extension_and_what_notebooks_need() -> None:
    subprocess.run(["bash", "-n", str(BINDER / "postBuild")], check=True)
    build = (BINDER / "postBuild").read_text()
    assert 'pip install --no-cache-dir ".[demo]"' in build  # builds the extension from source
    assert "glm-magics.*enabled.*OK" in build  # the build fails without the extension
    environment = (BINDER / "environment.yml").read_text()
    for needed in ("python=3.11", "nodejs=20", "pandas", "matplotlib"):
        assert f"  - {needed}" in environment
    assert os.access(BINDER / "postBuild", os.X_OK) and os.access(BINDER / "start", os.X_OK)
