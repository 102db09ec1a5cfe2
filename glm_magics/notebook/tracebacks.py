"""An error's traceback as plain text that reads the same on every machine.

What ``Err[-1]`` and ``%glm fix`` send must not depend on where Python, the packages
or the kernel's temporary files live: a teacher's recorded ``%glm fix`` has to replay
on a student's laptop or on Binder, where pandas sits under another path and perhaps
at another version. So the traceback keeps what is the user's and summarises the rest:

- a cell's frames, its file named ``<notebook cell>`` (ipykernel compiles each cell
  into a file under a per-process folder, ``/tmp/ipykernel_4242/2884425318.py``);
- frames in files under the working folder (the notebook's own modules), by their
  relative path;
- every other run of frames (a package's internals, the standard library) as one
  line, ``… 3 frames in pandas``: their paths and line numbers change from one
  installation to the next and rarely say more than the message does;
- the exception lines as Python wrote them, chained exceptions included.

IPython's own frames that run the cell are left out and ANSI colour codes removed.
"""

from __future__ import annotations

import os
import re
import sysconfig
import traceback
from types import TracebackType

import IPython

__all__ = ["plain_traceback", "strip_ansi"]

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[ -/]*[0-~]"  # other escapes: charset selection, keypad modes
    r"|\x1b"  # and a stray escape byte on its own
)
_IPYTHON_DIR = os.path.dirname(IPython.__file__) + os.sep
_CELL_FILE = re.compile(r"[^\"\n]*ipykernel_\d+[/\\][^\"\n]*\.py\Z|<ipython-input-[^>]*>\Z")
_FRAME = re.compile(r'  File "(?P<path>[^"\n]*)", line \d+')
_PACKAGE = re.compile(r"[/\\](?:site|dist)-packages[/\\](?P<name>[^/\\]+)")
_STDLIB = sysconfig.get_paths()["stdlib"]


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences (colours, hyperlinks, cursor moves)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def plain_traceback(exc: BaseException, *, folder: str | None = None) -> str:
    """``exc``'s traceback (see the module docstring); ``folder``: the working folder."""
    try:
        lines = traceback.format_exception(type(exc), exc, _user_frames(exc.__traceback__))
    except Exception:  # a broken __str__ or linecache entry must not lose the error
        return f"{type(exc).__name__} (the traceback could not be formatted)"
    text = strip_ansi("".join(lines)).rstrip("\n")
    return _summarised(text.split("\n"), folder if folder is not None else os.getcwd())


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without IPython's leading frames (``run_code``, the compiler)."""
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_IPYTHON_DIR):
        tb = tb.tb_next
    return tb


def _summarised(lines: list[str], folder: str) -> str:
    kept: list[str] = []
    hidden: list[str] = []  # where each frame of the current hidden run is
    skipping = False

    def flush() -> None:
        if hidden:
            places = list(dict.fromkeys(hidden))
            count = f"{len(hidden)} frame{'s' if len(hidden) > 1 else ''}"
            kept.append(f"  … {count} in {', '.join(places)}")
            hidden.clear()

    for line in lines:
        frame = _FRAME.match(line)
        if frame is not None:
            path = frame.group("path")
            shown = _shown_path(path, folder)
            skipping = shown is None
            if skipping:
                hidden.append(_place(path))
                continue
            flush()
            kept.append(line.replace(f'"{path}"', f'"{shown}"', 1))
        elif skipping and line.startswith("    "):
            continue  # the hidden frame's source line and its ^^^ markers
        else:
            skipping = False
            flush()
            kept.append(line)
    flush()
    return "\n".join(kept)


def _shown_path(path: str, folder: str) -> str | None:
    """How a frame's file is named, or ``None`` when the frame is summarised."""
    if _CELL_FILE.search(path):
        return "<notebook cell>"
    if path.startswith("<"):
        return path
    absolute = os.path.abspath(path)
    if _PACKAGE.search(absolute) or absolute.startswith(_STDLIB):
        return None
    try:
        inside = os.path.commonpath([absolute, os.path.abspath(folder)]) == os.path.abspath(folder)
    except ValueError:  # another drive
        inside = False
    return os.path.relpath(absolute, folder) if inside else None


def _place(path: str) -> str:
    package = _PACKAGE.search(path)
    if package is not None:
        return package.group("name").removesuffix(".py")
    if os.path.abspath(path).startswith(_STDLIB):
        return "the standard library"
    return os.path.basename(path)
