"""Where the simulated systems keep their records: one SQLite file per stack
(or memory), one row per record as JSON, keyed by (system, kind, key).

A request writes the rows it changed and nothing else, as a real system
commits a transaction: its cost does not grow with the records already held.
Each system sees its records as mappings (`Table`) and single values (`Kept`),
so its code reads as it did when they were dicts and attributes."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import structlog
from pydantic import TypeAdapter

K = TypeVar("K", str, int)
V = TypeVar("V")
T = TypeVar("T")

# Raised when what is kept changes shape (a record's fields, the tables):
# a file of another version is set aside and the systems start empty.
VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    system TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (system, kind, key)
);
-- len() of a kind without counting its rows (a count is as slow as a scan).
CREATE TABLE IF NOT EXISTS counts (
    system TEXT NOT NULL,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (system, kind)
);
-- An upsert that finds its key updates: only a new row counts.
CREATE TRIGGER IF NOT EXISTS counted AFTER INSERT ON records BEGIN
    INSERT INTO counts VALUES (new.system, new.kind, 1)
    ON CONFLICT (system, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS uncounted AFTER DELETE ON records BEGIN
    UPDATE counts SET n = n - 1 WHERE system = old.system AND kind = old.kind;
END;
"""


class Store:
    """One per app. Requests run on the event loop's thread, tests read from
    theirs: one connection, one lock, each statement committed on its own
    unless inside `atomic()`."""

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            _set_aside_if_foreign(path)
        self._db = sqlite3.connect(
            ":memory:" if path is None else path, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.RLock()
        self._depth = 0
        if path is not None:
            # A commit appends to the log; no fsync per request (a killed
            # process loses nothing, only a lost machine could).
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def run(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def rows(self, sql: str, params: tuple = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """All or nothing: what the block wrote is committed together, or,
        if it raises, not at all."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def clear(self) -> None:
        with self.atomic():
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM counts")

    def records(self, system: str) -> Records:
        return Records(self, system)


def _set_aside_if_foreign(path: Path) -> None:
    if not path.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        version = None
    if version == VERSION:
        return
    aside = path.with_name(path.name + ".old")
    path.replace(aside)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    structlog.get_logger().warning(
        "simulator records of another version set aside; starting empty", path=str(aside)
    )


class Records:
    """One system's part of the store."""

    def __init__(self, store: Store, system: str) -> None:
        self.store = store
        self.system = system

    def table(
        self,
        kind: str,
        value_type: Any,
        key_type: type[K] = str,  # type: ignore[assignment]
        indexed: tuple[str, ...] = (),
    ) -> Table[K, Any]:
        return Table(self, kind, value_type, key_type, indexed)

    def read(self, kind: str, key: str) -> str | None:
        found = self.store.rows(
            "SELECT value FROM records WHERE system = ? AND kind = ? AND key = ?",
            (self.system, kind, key),
        )
        return found[0][0] if found else None

    def write(self, kind: str, key: str, value: str) -> None:
        # An update keeps the row (and so its place in iteration order), as a dict does.
        self.store.run(
            "INSERT INTO records VALUES (?, ?, ?, ?)"
            " ON CONFLICT (system, kind, key) DO UPDATE SET value = excluded.value",
            (self.system, kind, key, value),
        )


class Table(MutableMapping[K, V]):
    """The records of one kind, as a dict in insertion order. A value read is
    a copy: a change is kept by assigning it back."""

    def __init__(
        self,
        records: Records,
        kind: str,
        value_type: Any,
        key_type: type[K],
        indexed: tuple[str, ...],
    ) -> None:
        self._records = records
        self._store = records.store
        self._where = (records.system, kind)
        self._kind = kind
        self._adapter: TypeAdapter[V] = TypeAdapter(value_type)
        self._key_type = key_type
        for field in indexed:
            self._store.run(
                f"CREATE INDEX IF NOT EXISTS records_by_{field}"
                f" ON records (system, kind, json_extract(value, '$.{field}'))"
            )
        self._indexed = indexed

    def _load(self, raw: str) -> V:
        return self._adapter.validate_json(raw)

    def __getitem__(self, key: K) -> V:
        raw = self._records.read(self._kind, str(key))
        if raw is None:
            raise KeyError(key)
        return self._load(raw)

    def __setitem__(self, key: K, value: V) -> None:
        self._records.write(self._kind, str(key), self._adapter.dump_json(value).decode())

    def __delitem__(self, key: K) -> None:
        gone = self._store.run(
            "DELETE FROM records WHERE system = ? AND kind = ? AND key = ?",
            (*self._where, str(key)),
        )
        if not gone.rowcount:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self._records.read(self._kind, str(key)) is not None

    def __iter__(self) -> Iterator[K]:
        rows = self._store.rows(
            "SELECT key FROM records WHERE system = ? AND kind = ? ORDER BY rowid", self._where
        )
        return iter([self._key_type(key) for (key,) in rows])

    def __len__(self) -> int:
        found = self._store.rows("SELECT n FROM counts WHERE system = ? AND kind = ?", self._where)
        return found[0][0] if found else 0

    def values(self) -> list[V]:  # type: ignore[override]
        rows = self._store.rows(
            "SELECT value FROM records WHERE system = ? AND kind = ? ORDER BY rowid", self._where
        )
        return [self._load(raw) for (raw,) in rows]

    def items(self) -> list[tuple[K, V]]:  # type: ignore[override]
        rows = self._store.rows(
            "SELECT key, value FROM records WHERE system = ? AND kind = ? ORDER BY rowid",
            self._where,
        )
        return [(self._key_type(key), self._load(raw)) for key, raw in rows]

    def clear(self) -> None:
        self._store.run("DELETE FROM records WHERE system = ? AND kind = ?", self._where)

    def find(self, field: str, value: str) -> list[V]:
        """The records whose `field` is `value`, through its index."""
        if field not in self._indexed:
            raise ValueError(f"{self._kind}.{field} is not indexed")
        rows = self._store.rows(
            "SELECT value FROM records WHERE system = ? AND kind = ?"
            f" AND json_extract(value, '$.{field}') = ? ORDER BY rowid",
            (*self._where, value),
        )
        return [self._load(raw) for (raw,) in rows]

    def where(self, **equal: str | None) -> list[V]:
        """The records whose fields equal every value given (None: any field
        value), found through the first one's index; none given: every record."""
        given = [(field, value) for field, value in equal.items() if value is not None]
        if not given:
            return self.values()
        (field, value), *rest = given
        return [r for r in self.find(field, value) if all(getattr(r, f) == v for f, v in rest)]

    def page(self, after: str | None, limit: int) -> list[V]:
        """Up to `limit` records in key order, from the first key after `after`."""
        rows = self._store.rows(
            "SELECT value FROM records WHERE system = ? AND kind = ? AND key > ?"
            " ORDER BY key LIMIT ?",
            (*self._where, after if after is not None else "", limit),
        )
        return [self._load(raw) for (raw,) in rows]


class Kept(Generic[T]):
    """A single value a system keeps (a counter, a setting the tester put), read
    and assigned as an attribute of an object with `records`."""

    def __init__(self, value_type: Any, default: T) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(value_type)
        self._default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Kept[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object, owner: type | None = None) -> T | Kept[T]:
        if obj is None:
            return self
        raw = obj.records.read("kept", self._name)  # type: ignore[attr-defined]
        return self._default if raw is None else self._adapter.validate_json(raw)

    def __set__(self, obj: object, value: T) -> None:
        obj.records.write("kept", self._name, self._adapter.dump_json(value).decode())  # type: ignore[attr-defined]
