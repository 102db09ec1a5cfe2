"""A throwaway Jupyter server (JupyterLab or Notebook 7) for the browser tests.

Every directory Jupyter reads or writes (config, data, runtime, lab settings and
workspaces, IPython profile) is fresh under ``base``, so neither the developer's
own setup nor an earlier run can change what the tests see::

    server = JupyterServer.start("lab", tmp_path)
    page.goto(server.url("lab/tree/demo.ipynb"))
    ...
    server.stop()

The port is chosen by the server itself (it writes the one it bound to into the
runtime directory), so two runs on one machine never race for a port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import httpx
import pytest

__all__ = ["JupyterServer"]

App = Literal["lab", "notebook"]

_START_TIMEOUT = 90.0
# User settings that keep pop-ups out of the page and every cell in the DOM.
_LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
# Settings a developer's shell may hold that would send the kernel elsewhere.
_DROPPED_ENV = (
    "EMPIRIOLABS_API_KEY",
    "GLM_BASE_URL",
    "GLM_MODEL",
    "JUPYTER_PATH",
    "JUPYTER_CONFIG_PATH",
    "JUPYTER_TOKEN",
)


@dataclass
class JupyterServer:
    """A running ``python -m jupyter lab|notebook``; build it with :meth:`start`."""

    app: App
    root: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]
    base_url: str = ""
    _log: IO[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        app: App,
        base: Path,
        *,
        without_glm_extension: bool = False,
        python: str = sys.executable,
    ) -> JupyterServer:
        """Start the server in ``base`` and return once its REST API answers.

        ``without_glm_extension`` disables this package's frontend extension in the
        server's fresh config, as if it were not installed. ``python`` runs the server
        (and so its kernels): another environment's, to test what is installed there.
        """
        root = base / "root"
        root.mkdir(parents=True)
        env = _fresh_env(base)
        if without_glm_extension:
            subprocess.run(
                # --level=user: only this server's fresh config dir, never the environment
                [
                    python,
                    "-m",
                    "jupyter",
                    "labextension",
                    "disable",
                    "--level=user",
                    "glm-magics",
                ],
                env=env,
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
        log_path = base / f"jupyter-{app}.log"
        log = log_path.open("wb")
        command = [
            python,
            "-m",
            "jupyter",
            app,
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            "--port=0",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={root}",
        ]
        process = subprocess.Popen(
            command,
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        server = cls(app, root, env, log_path, process, _log=log)
        try:
            server._wait_until_ready(Path(env["JUPYTER_RUNTIME_DIR"]))
        except BaseException:
            server.stop()
            raise
        return server

    def __enter__(self) -> JupyterServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str = "") -> str:
        """An absolute URL on this server, e.g. ``url("lab/tree/a.ipynb")``."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def log(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(errors="replace")

    def shut_down_kernels(self, notebook: str) -> None:
        """End the kernels of ``notebook`` (a path relative to the root), so idle kernels
        of finished tests do not compete for the CPU with the next one."""
        with httpx.Client(timeout=10) as client:
            for session in client.get(self.url("api/sessions")).json():
                if session.get("path") == notebook:
                    client.delete(self.url(f"api/sessions/{session['id']}"))

    def kernel_idle(self, notebook: str) -> bool:
        """Whether the server sees a kernel for ``notebook`` that is idle."""
        with httpx.Client(timeout=5) as client:
            sessions = client.get(self.url("api/sessions")).json()
        return any(
            s.get("path") == notebook and s["kernel"].get("execution_state") == "idle"
            for s in sessions
        )

    def stop(self) -> None:
        """Shut down kernels and the server: politely first, then by signal."""
        if self.process.poll() is None and self.base_url:
            try:
                httpx.post(self.url("api/shutdown"), timeout=5)
                self.process.wait(timeout=15)
            except (httpx.HTTPError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_until_ready(self, runtime: Path) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"exited with code {self.process.returncode}")
            if not self.base_url:
                self.base_url = _advertised_url(runtime)
            if self.base_url and _answers(self.url("api/status")):
                return
            time.sleep(0.2)
        self._fail(f"did not answer within {_START_TIMEOUT:.0f} s")

    def _fail(self, what: str) -> None:
        pytest.fail(
            f"`jupyter {self.app}` {what}; its log ({self.log_path}):\n{self.log()}",
            pytrace=False,
        )


def _fresh_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
    }
    for name, folder in dirs.items():
        path = base / folder
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    for plugin, values in _LAB_SETTINGS.items():
        target = base / "lab-settings" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return env


def _advertised_url(runtime: Path) -> str:
    """The URL from ``jpserver-<pid>.json``, once the server has written it."""
    for info_file in runtime.glob("jpserver-*.json"):
        try:
            info = json.loads(info_file.read_text())
        except (OSError, ValueError):
            continue  # still being written
        return f"http://127.0.0.1:{info['port']}"
    return ""


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
