#!/usr/bin/env python3
"""The project's two entry points; each sets itself up in ``.venv`` first.

    python3 dev.py demo [--headless]   open notebooks/quickstart.ipynb in JupyterLab;
                                       --headless: execute it and write
                                       notebooks/quickstart.executed.ipynb instead
    python3 dev.py test                lint, type-check, check the layers and run every test
    python3 dev.py record [NOTEBOOK..]  record the notebooks' answers into their cassettes
                                       (all of them by default), then save the outputs
                                       a student with no key will see

Without EMPIRIOLABS_API_KEY the demo answers from the bundled local test server;
with it, from the real service (the demo asks: its cassette is not used). The same
goes for what `record` records.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
QUICKSTART = ROOT / "notebooks" / "quickstart.ipynb"
FRONTEND = ROOT / "glm_magics" / "frontend"
BUILT_FRONTEND = FRONTEND / "labextension" / "package.json"


def run(*command: str | Path, **kwargs: object) -> None:
    """Run a command, echoing it; stop with its exit code if it fails."""
    print("+", " ".join(str(part) for part in command), flush=True)
    done = subprocess.run([str(part) for part in command], check=False, **kwargs)  # type: ignore[call-overload]  # noqa: S603
    if done.returncode != 0:
        sys.exit(done.returncode)


def ensure_env(extra: str) -> None:
    """Create ``.venv`` and install the package with ``extra``, unless already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - says so clearly on an older Python
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"Creating {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    build_frontend()
    stamp = VENV / f".installed-{extra}"
    # The built extension's package.json names its hashed bundle: a rebuild reinstalls.
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + BUILT_FRONTEND.read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".[{extra}]", cwd=ROOT)
    stamp.write_text(digest)


def _newest_source_mtime() -> float:
    sources = [FRONTEND / name for name in ("package.json", "package-lock.json", "tsconfig.json")]
    for folder in ("src", "style"):
        sources += [path for path in (FRONTEND / folder).rglob("*") if path.is_file()]
    return max(path.stat().st_mtime for path in sources if path.exists())


def build_frontend() -> None:
    """Build the JupyterLab extension into ``glm_magics/frontend/labextension``.

    Skipped when the build is newer than every source. Needs Node.js 20+ with npm;
    ``jupyter labextension build`` comes from JupyterLab, installed first if missing.
    """
    if BUILT_FRONTEND.exists() and BUILT_FRONTEND.stat().st_mtime >= _newest_source_mtime():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "npm was not found: the notebook extension in glm_magics/frontend is built with "
            "Node.js 20 or newer and npm; install them and run this again"
        )
    if not (BIN / "jupyter-labextension").exists():
        run(PYTHON, "-m", "pip", "install", "--quiet", "jupyterlab>=4.2")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    lock = FRONTEND / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        run(npm, "ci", "--no-audit", "--no-fund", cwd=FRONTEND, env=env, stdin=subprocess.DEVNULL)
    run(npm, "run", "build", cwd=FRONTEND, env=env, stdin=subprocess.DEVNULL)
    BUILT_FRONTEND.touch()  # an unchanged rebuild still counts as current


def demo(headless: bool) -> None:
    """Open the quickstart notebook, or execute it without a screen."""
    ensure_env("demo")
    # The demo asks, live: the local test server without a key, the service with one.
    live = {**os.environ, "GLM_CASSETTE": "off"}
    if headless:
        out = QUICKSTART.with_suffix(".executed.ipynb")
        code = (
            "import sys, nbformat; from nbclient import NotebookClient\n"
            "nb = nbformat.read(sys.argv[1], as_version=4)\n"
            "NotebookClient(nb, timeout=600, kernel_name='python3',"
            " resources={'metadata': {'path': sys.argv[3]}}).execute()\n"
            "nbformat.write(nb, sys.argv[2])\n"
            "print('Executed notebook written to', sys.argv[2])\n"
        )
        run(PYTHON, "-c", code, QUICKSTART, out, QUICKSTART.parent, env=live)
        return
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    run(BIN / "jupyter", "lab", *as_root, str(QUICKSTART), cwd=ROOT, env=live)


def record(notebooks: list[str]) -> None:
    """Record notebooks' answers into their cassettes, then save their replayed outputs."""
    ensure_env("demo")
    chosen = notebooks or sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "notebooks").rglob("*.ipynb")
        if not path.name.endswith(".executed.ipynb") and ".ipynb_checkpoints" not in path.parts
    )
    run(PYTHON, "-m", "glm_magics", "record", *chosen, cwd=ROOT)


def test(pytest_args: list[str]) -> None:
    """Lint, type-check, check the import layers, then run every test."""
    ensure_env("test")
    run(BIN / "ruff", "check", ".", cwd=ROOT)
    run(BIN / "ruff", "format", "--check", ".", cwd=ROOT)
    run(BIN / "mypy", cwd=ROOT)
    run(BIN / "lint-imports", "--no-cache", "--no-logo", cwd=ROOT)  # the layers contract
    run(PYTHON, "-m", "pytest", *pytest_args, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="open (or with --headless, execute) the quickstart"
    )
    demo_parser.add_argument("--headless", action="store_true", help="execute without a browser")
    test_parser = commands.add_parser("test", help="lint, type-check and run all tests")
    test_parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    record_parser = commands.add_parser(
        "record", help="record notebooks' answers into their cassettes, save replayed outputs"
    )
    record_parser.add_argument("notebooks", nargs="*", help="default: every notebook")
    args = parser.parse_args()
    if args.command == "demo":
        demo(args.headless)
    elif args.command == "record":
        record(args.notebooks)
    else:
        test(args.pytest_args)


if __name__ == "__main__":
    main()
