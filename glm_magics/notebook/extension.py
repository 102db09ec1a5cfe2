"""``%load_ext glm_magics``: one session per shell, and the frontends put together on it.

:func:`load` makes the shell's :class:`~glm_magics.core.session.Session`, its
:class:`~glm_magics.notebook.host.NotebookHost`, the magics, and the way to open the
control panel (the magics never import the panel, nor the panel the magics). It also
keeps ``%glm Is this a question?`` a question, opens the channel to the notebook
extension, and shows a :class:`~glm_magics.results.ChatResult` at the end of a cell
as its safely rendered answer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from glm_magics.core.session import Session, default_session, set_default_session
from glm_magics.notebook.host import NotebookHost
from glm_magics.notebook.magics import GLMMagics

if TYPE_CHECKING:
    from glm_magics.notebook.panel import ControlPanel
    from glm_magics.results import ChatResult

__all__ = ["load", "open_panel", "protect_question_marks", "unload"]

_LINE_MAGIC = re.compile(r"^([ \t]*)%glm[ \t]+(\S.*?)[ \t]*$")


def load(ipython: Any) -> None:
    """Register the magics on ``ipython`` with a new session."""
    host = NotebookHost(ipython, Session())
    host.open_panel = lambda: open_panel(host)
    set_default_session(host.session)  # map_rows(client=None) asks with the notebook's settings
    ipython.register_magics(GLMMagics(ipython, host=host))
    if getattr(ipython, "kernel", None) is not None:  # a frontend may have the extension
        from glm_magics.notebook.bridge import shared_bridge

        shared_bridge().open()
    transformers = getattr(ipython, "input_transformers_cleanup", None)
    if transformers is not None and protect_question_marks not in transformers:
        transformers.append(protect_question_marks)
    formatter = _html_formatter(ipython)
    if formatter is not None:  # by name: the class is imported when a result first exists
        formatter.for_type_by_name("glm_magics.results", "ChatResult", answer_html)


def unload(ipython: Any) -> None:
    """Close the session's panel and connections; forget its conversation."""
    transformers = getattr(ipython, "input_transformers_cleanup", None)
    if transformers is not None and protect_question_marks in transformers:
        transformers.remove(protect_question_marks)
    formatter = _html_formatter(ipython)
    if formatter is not None:
        formatter.deferred_printers.pop(("glm_magics.results", "ChatResult"), None)
        for kind in list(formatter.type_printers):
            if kind.__module__ == "glm_magics.results" and kind.__name__ == "ChatResult":
                del formatter.type_printers[kind]
    magics = ipython.magics_manager.registry.get("GLMMagics")
    if isinstance(magics, GLMMagics):
        magics.detach()
        magics.host.close()
        if default_session() is magics.session:
            set_default_session(None)


def open_panel(host: NotebookHost) -> ControlPanel:
    """A new control panel on ``host``'s session; the one shown before is closed."""
    from glm_magics.notebook.panel import ControlPanel

    if host.panel is not None:
        host.panel.close()
    panel = ControlPanel(host, anchor=host.anchor)
    host.panel = panel
    return panel


def host_of(ipython: Any) -> NotebookHost:
    """The host of ``ipython``'s loaded extension, loading it first if needed."""
    magics = ipython.magics_manager.registry.get("GLMMagics")
    if not isinstance(magics, GLMMagics):
        ipython.extension_manager.load_extension("glm_magics")
        magics = ipython.magics_manager.registry["GLMMagics"]
    host: NotebookHost = magics.host
    return host


def answer_html(result: ChatResult) -> str:
    """A result shown at the end of a cell: its answer, rendered safely (untrusted text)."""
    from glm_magics.display.markdown import render_markdown

    return f'<div class="glm-answer">{render_markdown(result.text)}</div>'


def protect_question_marks(lines: list[str]) -> list[str]:
    """Keep ``%glm Is this a question?`` a question.

    IPython reads a line ending in ``?`` as a help request (``%pinfo``), which
    would swallow every one-line question. This input transformer turns such
    ``%glm`` lines into the equivalent explicit call first; ``%glm?`` itself
    still shows help.
    """
    if lines and lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is its own text
    out = []
    for line in lines:
        match = _LINE_MAGIC.match(line)
        if match and match.group(2).rstrip("?") and line.rstrip().endswith("?"):
            indent, text = match.groups()
            out.append(f"{indent}get_ipython().run_line_magic('glm', {text!r})\n")
        else:
            out.append(line)
    return out


def _html_formatter(ipython: Any) -> Any:
    formatters = getattr(getattr(ipython, "display_formatter", None), "formatters", None)
    return formatters.get("text/html") if isinstance(formatters, dict) else None
