"""The IPython shell a :class:`~glm_magics.core.session.Session` answers in.

The magics and the control panel are two frontends over one session; what they both
need of the notebook lives here, once: its variables (DataFrames by name,
``{references}``, functions offered as tools), the cell being run and the errors of
earlier cells (:mod:`~glm_magics.notebook.state`), a live view for the cell's output,
inserting generated code as new cells, and the boundary where the session's errors
are told apart (:func:`request_mistake`)::

    host = NotebookHost(shell, Session())
    prompt = host.compose("Why? {Err[-1]}", frames="sales")
    result = host.ask(prompt, temperature=0.2)
"""

from __future__ import annotations

import sys
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError

from glm_magics.core.session import Session
from glm_magics.errors import ConfigurationError, GLMError, ParameterError
from glm_magics.notebook.state import NotebookState

if TYPE_CHECKING:
    from glm_magics.context.prompt import Prompt
    from glm_magics.display.view import StreamView
    from glm_magics.notebook.insertion import Insertion
    from glm_magics.results import ChatResult

__all__ = ["NotebookHost", "kind_of", "request_mistake"]


def kind_of(value: object) -> str:
    """``value``'s type with its article: "an int", "a str", "a DataFrame"."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def request_mistake(error: BaseException) -> bool:
    """Whether ``error`` is a mistake in the request, raised before anything was sent or
    shown (a bad parameter or setting, no key), rather than a failure the live view
    has already shown."""
    return isinstance(error, ParameterError | ConfigurationError)


class Closable(Protocol):
    """A frontend the host can close (the control panel)."""

    def close(self) -> None: ...


class NotebookHost:
    """One shell and its session; see the module docstring.

    ``open_panel`` is set by the extension (the host does not know the panel); the
    panel shown last is kept in ``panel`` so that a new one, or unloading, closes it.
    """

    def __init__(self, shell: Any, session: Session) -> None:
        self.shell = shell
        self.session = session
        self.state: NotebookState | None = None
        if shell is not None:
            self.state = NotebookState(shell)
            self.state.install()
        self.panel: Closable | None = None
        self.open_panel: Callable[[], Closable] | None = None

    # -- the notebook's variables ------------------------------------------------

    @property
    def in_notebook(self) -> bool:
        """Whether a notebook frontend drives the shell (a kernel), not a terminal."""
        return getattr(self.shell, "kernel", None) is not None

    @property
    def where(self) -> str:
        """Where the user's variables live, as a message says it."""
        return "in the notebook" if self.in_notebook else "in this session"

    @property
    def namespace(self) -> dict[str, Any]:
        """The notebook's variables (empty without a shell)."""
        return self.shell.user_ns if self.shell is not None else {}

    def references(self) -> Mapping[str, object]:
        """What ``{name}`` may refer to: the variables, and ``Err`` (earlier errors)."""
        extra: dict[str, object] = {"Err": self.state.err} if self.state is not None else {}
        return ChainMap(self.namespace, extra)

    def frames(self, names: str) -> dict[str, object]:
        """The DataFrames named in ``names`` (comma-separated); UsageError for a bad name."""
        from glm_magics.context.frames import is_frame

        namespace = self.namespace
        chosen: dict[str, object] = {}
        for name in (part.strip() for part in names.split(",")):
            if not name:
                continue
            if name not in namespace:
                raise UsageError(f"no variable named {name!r} {self.where}")
            value = namespace[name]
            if not is_frame(value):
                raise UsageError(
                    f"{name!r} is {kind_of(value)}, not a pandas or polars DataFrame or Series"
                )
            chosen[name] = value
        if not chosen:
            raise UsageError("name at least one DataFrame, e.g. -d sales or `%glm context sales`")
        return chosen

    def frame_names(self) -> list[str]:
        """Names of the pandas/polars DataFrames and Series in the notebook, sorted."""
        from glm_magics.context.frames import is_frame

        return sorted(
            name
            for name, value in list(self.namespace.items())
            if not name.startswith("_") and is_frame(value)
        )

    def functions(self, names: str) -> list[Callable[..., Any]]:
        """The notebook functions named in ``names`` (``--tools f,g``)."""
        namespace = self.namespace
        found = []
        for name in (part.strip() for part in names.split(",")):
            if not name:
                continue
            if name not in namespace:
                raise UsageError(f"--tools: no function named {name!r} {self.where}")
            if not callable(namespace[name]):
                raise UsageError(f"--tools: {name!r} is {kind_of(namespace[name])}, not a function")
            found.append(namespace[name])
        return found

    def compose(
        self, question: str, *, frames: str | None = None, rows: int | None = None
    ) -> Prompt:
        """``question`` with its ``{references}`` expanded and the named frames attached."""
        chosen = self.frames(frames) if frames else None
        try:
            return self.session.compose(
                question, frames=chosen, rows=rows, namespace=self.references()
            )
        except ValueError as exc:  # rows out of range
            raise UsageError(str(exc)) from None

    def turn_key(self, cell: str | None, text: str) -> str:
        """Which cell is asking: the frontend's cell id when known, else the source.

        Asking again from the same cell replaces its earlier turn.
        """
        current = self.state.current if self.state is not None else None
        body = cell if cell is not None else text
        if current is not None and body.strip() and body.strip() in current.raw_cell:
            if current.cell_id:
                return f"cell:{current.cell_id}" + ("" if cell is not None else f":{text}")
            return f"src:{current.raw_cell}" + ("" if cell is not None else f":{text}")
        return f"src:{text}\n{cell}" if cell is not None else f"src:{text}"

    @property
    def anchor(self) -> str | None:
        """The frontend's id of the cell being run (new cells go below it)."""
        current = self.state.current if self.state is not None else None
        return current.cell_id if current is not None else None

    # -- asking ------------------------------------------------------------------

    def view(self, model: str, show_reasoning: bool) -> StreamView:
        """The live view for the running cell: HTML in a notebook, text in a terminal."""
        from glm_magics.display.notebook_view import NotebookView
        from glm_magics.display.plain_view import PlainView

        settings = self.session.settings
        mode = settings.display
        if mode == "auto":
            mode = "rich" if getattr(self.shell, "kernel", None) is not None else "plain"
        if mode == "rich":
            return NotebookView(
                model, show_reasoning=show_reasoning, min_interval=settings.update_interval
            )
        return PlainView(model, show_reasoning=show_reasoning, stream=sys.stdout)

    def ask(
        self,
        prompt: Prompt,
        *,
        out: str | None = None,
        show_reasoning: bool | None = None,
        **options: Any,
    ) -> ChatResult | None:
        """Ask in the running cell, its answer streaming into the cell's output.

        A mistake in the request is raised (nothing was sent or shown); a failure of
        the service is already shown in the output, so it ends the cell quietly, as
        an interrupt does. ``out`` names a variable to keep the :class:`ChatResult` in.
        """
        session = self.session
        model = options.get("model") or session.model
        if show_reasoning is None:
            show_reasoning = session.settings.show_reasoning
        view = self.view(model, show_reasoning)
        if session.approve is None:  # the view shows the call; the question is one line
            from glm_magics.tools import StdinApprover

            options.setdefault("approve", StdinApprover(show_call=False))
        result: ChatResult | None
        try:
            result = session.ask(prompt, reporter=view, **options)
        except GLMError as exc:
            if request_mistake(exc):
                raise  # nothing was sent or shown: the magic says it in one line
            return None  # shown in the cell's output already
        except KeyboardInterrupt:
            result = session.last_result
            if result is None:  # stopped before the request went out: say so all the same
                from glm_magics.core.reporting import Answered
                from glm_magics.results import ChatResult

                result = ChatResult(model=model, interrupted=True)
                view.report(Answered(result))
        if out:
            self.namespace[out] = result
        return result

    def insert_code(
        self,
        result: ChatResult,
        language: str,
        *,
        anchor: str | None = None,
        from_widget: bool = False,
    ) -> Insertion:
        """Put the answer's ``language`` code blocks in new cells below ``anchor`` (never run)."""
        from glm_magics.display.code_blocks import extract_code_blocks, select_blocks
        from glm_magics.notebook.bridge import current_requester, shared_bridge
        from glm_magics.notebook.insertion import insert_code

        return insert_code(
            self.shell,
            select_blocks(extract_code_blocks(result.text), language),
            model=result.model,
            language=language,
            header=self.session.settings.generated_header,
            bridge=shared_bridge(),
            anchor=anchor if anchor is not None else self.anchor,
            from_widget=from_widget,
            requester=None if from_widget else current_requester(),
        )

    def close(self) -> None:
        """Close the panel, stop following the cells and close the session."""
        if self.panel is not None:
            self.panel.close()
            self.panel = None
        if self.state is not None:
            self.state.uninstall()
        self.session.close()
