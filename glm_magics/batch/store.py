"""Where finished rows are kept, so a rerun sends only what is missing.

Each row is keyed by what decides its answer: the prompt it renders to (so the row's
content and the template), the system prompt, the model, the endpoint, the request
parameters and the schema (:func:`row_key`). Only answers that fit the schema are
kept; a failed row is asked again on the next run. There is no expiry: the same
question gets the same stored answer until the store is deleted.

* :class:`SQLiteStore` (``store="labels.sqlite"``) writes each row as it completes,
  one small transaction each, so a kernel restart or a crash loses nothing finished;
* :class:`MemoryStore` keeps the rows of this process (what ``map_rows`` uses without
  ``store=``), so rerunning a cell after an interrupt still resumes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from glm_magics.errors import ConfigurationError

__all__ = [
    "PROCESS_STORE",
    "MemoryStore",
    "RowStore",
    "SQLiteStore",
    "StoredRow",
    "open_store",
    "row_key",
]


@dataclass(frozen=True)
class StoredRow:
    """A finished row: its column values, the asks it took and the tokens it cost."""

    values: dict[str, Any]
    attempts: int
    tokens: int


class RowStore(Protocol):
    """What the batch needs of a store; thread-safe."""

    def get_many(self, keys: list[str]) -> dict[str, StoredRow]: ...

    def put(self, key: str, row: StoredRow) -> None: ...


def row_key(prompt: str, request: Mapping[str, Any]) -> str:
    """The key of one row's answer: a hash of its prompt and everything else asked."""
    text = json.dumps([prompt, request], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class MemoryStore:
    """Finished rows in this process, the most recent ``limit`` of them."""

    def __init__(self, limit: int = 200_000) -> None:
        self._rows: OrderedDict[str, StoredRow] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> dict[str, StoredRow]:
        """The stored rows among ``keys``."""
        with self._lock:
            return {key: self._rows[key] for key in keys if key in self._rows}

    def put(self, key: str, row: StoredRow) -> None:
        """Keep ``row`` (the oldest go past ``limit``)."""
        with self._lock:
            self._rows[key] = row
            self._rows.move_to_end(key)
            while len(self._rows) > self._limit:
                self._rows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rows)

    def clear(self) -> None:
        """Forget every row."""
        with self._lock:
            self._rows.clear()


class SQLiteStore:
    """Finished rows in an SQLite file; safe to share between threads and reruns."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, "
                "answer TEXT NOT NULL, attempts INTEGER NOT NULL, tokens INTEGER NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"the store {str(path)!r} cannot be opened ({exc}): give a path to a file "
                "in a folder you can write"
            ) from None
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> dict[str, StoredRow]:
        """The stored rows among ``keys`` (read in batches)."""
        found: dict[str, StoredRow] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                query = f"SELECT key, answer, attempts, tokens FROM rows WHERE key IN ({marks})"  # noqa: S608 - only placeholders are formatted in
                for key, answer, attempts, tokens in self._db.execute(query, batch):
                    found[key] = StoredRow(json.loads(answer), attempts, tokens)
        return found

    def put(self, key: str, row: StoredRow) -> None:
        """Write ``row`` now, in its own transaction."""
        answer = json.dumps(row.values, ensure_ascii=False, default=_jsonable)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO rows (key, answer, attempts, tokens) VALUES (?, ?, ?, ?)",
                (key, answer, row.attempts, row.tokens),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM rows").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


def _jsonable(value: Any) -> Any:
    """Column values a schema made (dataclasses, tuples...) as JSON."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


PROCESS_STORE = MemoryStore()
"""The rows this process finished without a store of its own (a rerun resumes from it)."""


def open_store(store: str | Path | RowStore | None) -> RowStore:
    """The store ``map_rows(store=...)`` names: a path, a store, or this process's memory."""
    if store is None:
        return PROCESS_STORE
    if isinstance(store, str | Path):
        return SQLiteStore(store)
    return store
