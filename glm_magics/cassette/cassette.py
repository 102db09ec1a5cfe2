"""``Cassette``: one lesson's answers in a file, recorded once and replayed anywhere.

::

    from glm_magics import Cassette, Session

    session = Session(cassette=Cassette("lesson.cassette.jsonl"))   # mode="auto"
    session.ask("What is a p-value?")      # recorded on the first run, replayed after

Modes: ``record`` always asks the service and writes what came back; ``replay``
never touches the network (a request not in the file is a
:class:`~glm_magics.errors.CassetteMissError` naming the nearest recorded one);
``auto`` replays what is recorded and asks and records the rest. The environment
can decide for every notebook: ``GLM_CASSETTE_MODE=replay|record|auto`` overrides a
cassette's own mode (CI, Binder), ``GLM_CASSETTE=PATH`` gives a cassette to clients
that were given none, and ``GLM_CASSETTE=off`` turns every cassette off.

A client consults its cassette once per request (:meth:`Cassette.plan`); the plan
replays a recorded response, or sends the request and records the answer as it is
read. An identical request asked again gets the next sequence number (recorded in
record mode); asked more often than it was recorded, the last answer plays again (a
cell run twice replays; ``mode=record`` asks again).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from glm_magics.cassette.entries import (
    FORMAT,
    Entry,
    header_line,
    normalise_request,
    request_key,
)
from glm_magics.cassette.nearest import nearest
from glm_magics.cassette.plan import Plan
from glm_magics.cassette.replay import PACES
from glm_magics.cassette.secrets import find_secret, streamed_text
from glm_magics.errors import CassetteError, CassetteSecretError, ConfigurationError

__all__ = [
    "MODES",
    "MODE_ENV",
    "PATH_ENV",
    "Cassette",
    "Plan",
    "as_cassette",
    "cassette_from_env",
    "effective_cassette",
]

MODES = ("auto", "record", "replay")
MODE_ENV = "GLM_CASSETTE_MODE"
PATH_ENV = "GLM_CASSETTE"
_OFF = ("off", "none", "0", "false")


class Cassette:
    """A cassette file and how to use it; see the module docstring.

    Safe to share between threads (``map_rows`` asks from several).
    """

    __module__ = "glm_magics"

    def __init__(self, path: str | os.PathLike[str], mode: str = "auto", *, pace: str = "fast"):
        if mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if pace not in PACES:
            raise ConfigurationError(f"pace must be one of {', '.join(PACES)}, got {pace!r}")
        self.path = Path(path)
        self.own_mode = mode
        """The mode asked for here (the environment may override it: see :attr:`mode`)."""
        self.pace = pace
        self.hits = 0
        """Answers replayed from the file by this object."""
        self.misses = 0
        """Requests not found (in replay mode, or in auto mode with no way to ask)."""
        self.recorded = 0
        """Answers written (new or changed) by this object."""
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, int], Entry] | None = None
        self._top: dict[str, int] = {}  # the highest sequence number recorded per key
        self._counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"<Cassette {self.path.name}: {len(self)} entries, mode {self.mode}, "
            f"{self.hits} replayed, {self.recorded} recorded, {self.misses} missed>"
        )

    @property
    def mode(self) -> str:
        """The mode in force: ``$GLM_CASSETTE_MODE`` when set, else :attr:`own_mode`."""
        forced = os.environ.get(MODE_ENV, "").strip().lower()
        if not forced:
            return self.own_mode
        if forced not in MODES:
            raise ConfigurationError(
                f"{MODE_ENV} must be one of {', '.join(MODES)}, got {forced!r}"
            )
        return forced

    @property
    def forced(self) -> bool:
        """Whether the environment decides the mode (``$GLM_CASSETTE_MODE``)."""
        return bool(os.environ.get(MODE_ENV, "").strip())

    def entries(self) -> list[Entry]:
        """The recorded entries, in the file's order."""
        with self._lock:
            return list(self._loaded().values())

    def __len__(self) -> int:
        return len(self.entries())

    def count(self, what: str) -> None:
        """Add one to ``hits``, ``misses`` or ``recorded``."""
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    # -- one request ---------------------------------------------------------------

    def plan(
        self,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        can_send: Callable[[], bool],
        secrets: Sequence[str] = (),
    ) -> Plan:
        """What to do with one request: replay it, or send and record it (see :class:`Plan`).

        ``can_send`` says whether the request could go to the service (a key is set,
        or the server is on this machine); ``secrets`` are what no entry may hold.
        """
        mode = self.mode
        normalised = normalise_request(body)
        key = request_key(endpoint, normalised)
        with self._lock:
            seq = self._counts[key] = self._counts.get(key, 0) + 1
            exact, earlier = self._find(key, seq)
        request = (self, endpoint, body, normalised, key, seq)
        if mode == "record":
            return Plan(*request, "record", secrets=secrets)
        recorded = exact or earlier  # asked more often than recorded: the last answer again
        if recorded is not None:
            return Plan(*request, "replay", entry=recorded)
        if mode == "auto" and can_send():
            return Plan(*request, "record", secrets=secrets)
        return Plan(*request, "miss", secrets=secrets)

    def _find(self, key: str, seq: int) -> tuple[Entry | None, Entry | None]:
        """The entry recorded for ``(key, seq)``, and the last one recorded before it
        (found through the highest number recorded for ``key``: no scan of the file)."""
        entries = self._loaded()
        for earlier in range(min(seq - 1, self._top.get(key, 0)), 0, -1):
            if (key, earlier) in entries:
                return entries.get((key, seq)), entries[(key, earlier)]
        return entries.get((key, seq)), None

    def miss_message(self, plan: Plan) -> str:
        """The one line a miss shows: not in the cassette, the nearest entry, what differs."""
        with self._lock:
            entries = list(self._loaded().values())
        name = self.path.name
        mode = self.mode
        why = f"{MODE_ENV}={mode}" if self.forced else f"mode {mode}"
        text = f"not in the cassette {name} ({why}; nothing was sent)"
        found = nearest(plan.endpoint, plan.normalised, entries)
        if not self.path.exists():
            text += (
                f": there is no file at {self.path} (check the path: a relative one starts "
                "from the notebook's folder)"
            )
        elif found is None:
            text += ": it holds no answers yet"
        else:
            entry, differs = found
            number = entries.index(entry) + 1
            where = f"the nearest recorded request (#{number}, recorded {entry.recorded})"
            if differs:
                text += f": {where} differs in " + "; ".join(differs)
            else:
                text += f": {where} is the same, asked fewer times"
        if mode == "auto":
            return text + (
                ". No API key is set to ask the service: set EMPIRIOLABS_API_KEY (or run "
                "`%glm key`) and run it again to record the answer."
            )
        return text + (
            ". Undo the change, or record it: run with a key in auto or record mode "
            f"(`%glm cassette {name} mode=auto`)."
        )

    # -- the file ------------------------------------------------------------------

    def _loaded(self) -> dict[tuple[str, int], Entry]:
        if self._entries is None:
            self._entries = self._read()
            for key, seq in self._entries:
                self._top[key] = max(seq, self._top.get(key, 0))
        return self._entries

    def _read(self) -> dict[tuple[str, int], Entry]:
        import json

        entries: dict[tuple[str, int], Entry] = {}
        if not self.path.exists():
            return entries
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CassetteError(f"cannot read the cassette {self.path}: {exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if number == 1 and "glm_magics_cassette" in data:
                    if data["glm_magics_cassette"] != FORMAT:
                        raise ValueError(f"format {data['glm_magics_cassette']} is not {FORMAT}")
                    continue
                entry = Entry.from_json(data)
            except (ValueError, KeyError, TypeError) as exc:
                raise CassetteError(
                    f"line {number} of the cassette {self.path} is not an entry ({exc}); "
                    "fix or delete that line, or record the cassette again"
                ) from None
            entries[(entry.key, entry.seq)] = entry
        return entries

    def store(self, entry: Entry, secrets: Sequence[str] = ()) -> None:
        """Write ``entry`` unless it holds a secret; an unchanged answer leaves the file as is."""
        line = entry.line()
        pieces = streamed_text(event.get("data") for event in entry.events or ())
        found = find_secret(line + "\n" + pieces, secrets)
        if found is not None:
            raise CassetteSecretError(
                f"Nothing was written to the cassette {self.path.name}: the answer to "
                f"{_cut(entry.question)!r} holds {found} (in the question, the answer or a "
                "tool result). Take it out and ask again."
            )
        with self._lock:
            entries = self._loaded()
            old = entries.get((entry.key, entry.seq))
            if old is not None and old.same_answer(entry):
                return
            entries[(entry.key, entry.seq)] = entry
            self._top[entry.key] = max(entry.seq, self._top.get(entry.key, 0))
            self.recorded += 1
            if old is None and self.path.exists():
                with self.path.open("a", encoding="utf-8") as file:
                    file.write(line + "\n")
            else:
                self._rewrite(entries.values())

    def _rewrite(self, entries: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        lines = [header_line(), *(entry.line() for entry in entries)]
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    # -- what it holds -------------------------------------------------------------

    def describe(self, limit: int = 20) -> str:
        """What ``%glm cassette`` shows: the file, the mode, the counts and the entries."""
        entries = self.entries()
        size = self.path.stat().st_size if self.path.exists() else 0
        mode = self.mode
        if self.forced and mode != self.own_mode:
            mode += f" (set by {MODE_ENV}; asked for {self.own_mode})"
        elif self.forced:
            mode += f" (set by {MODE_ENV})"
        answers = sum(1 for entry in entries if entry.request)
        lines = [
            f"cassette  {self.path} ({answers} answers, {_size(size)})",
            f"mode      {mode}, pace {self.pace}",
            f"session   {self.hits} replayed, {self.recorded} recorded, {self.misses} missed",
        ]
        for number, entry in enumerate(entries[:limit], 1):
            if not entry.request:  # a GET: the models, or one model's ranges
                lines.append(f"{number:>4}. {entry.recorded}  GET {entry.endpoint}")
                continue
            flag = "" if entry.complete else " (stopped)"
            lines.append(
                f"{number:>4}. {entry.recorded}  {entry.model or '?'}  {entry.endpoint}"
                f"{flag}  {_cut(entry.question, 60)}"
            )
        if len(entries) > limit:
            lines.append(f"      … and {len(entries) - limit} more")
        return "\n".join(lines)


def _cut(text: str, width: int = 50) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _size(size: int) -> str:
    return f"{size / 1024:.1f} kB" if size >= 1024 else f"{size} bytes"


def as_cassette(value: object) -> Cassette | bool | None:
    """What ``cassette=`` takes, checked: a :class:`Cassette`, a path (made into one),
    ``False`` (none) or ``None`` (the default)."""
    if value is None or value is False or isinstance(value, Cassette):
        return value
    if isinstance(value, str | os.PathLike):
        return Cassette(value)
    raise ConfigurationError(
        f"cassette takes a Cassette, a file's path, False or None, not {type(value).__name__}"
    )


_SHARED: dict[Path, Cassette] = {}
_SHARED_LOCK = threading.Lock()


def effective_cassette(given: Cassette | bool | None) -> Cassette | None:
    """The cassette a request goes through: ``given``, else ``$GLM_CASSETTE``'s; none
    when either says ``False``/``off``."""
    from_env = cassette_from_env()
    if from_env is False or given is False:
        return None
    chosen = from_env if given is None else given
    return chosen if isinstance(chosen, Cassette) else None


def cassette_from_env() -> Cassette | bool | None:
    """The cassette ``$GLM_CASSETTE`` names (one object per file in the process),
    ``False`` when it says ``off``, ``None`` when unset."""
    value = os.environ.get(PATH_ENV, "").strip()
    if not value:
        return None
    if value.lower() in _OFF:
        return False
    path = Path(value).expanduser().resolve()
    with _SHARED_LOCK:
        if path not in _SHARED:
            _SHARED[path] = Cassette(path)
        return _SHARED[path]
