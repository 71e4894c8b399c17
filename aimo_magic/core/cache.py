"""An answer cache in one SQLite file: re-running a notebook pays nothing and shows the same.

A complete answer is stored under a hash of what decides it (base URL, model as
requested, the exact messages, every parameter that affects the answer). The file
holds neither that key, nor the messages, nor any API key: each row is found by a
hash of the key and carries only the answer (text, finish reason, usage, the model
and provider that served it, timings, when it was stored).

Several kernels and a batch's concurrent writers share the file: WAL mode, a busy
timeout and write transactions that take the write lock up front (``BEGIN
IMMEDIATE``) keep "database is locked" away. A size cap evicts the least recently
used answers. A file that cannot be used (corrupt, unreadable, from a newer
version, on a read-only disk) raises :class:`CacheUnavailableError`, so that
callers can warn once and carry on without the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aimo_magic.core.protocol import Messages, normalise_messages
from aimo_magic.core.types import ChatResult, Timings, ToolCall, Usage

ENV_CACHE_DIR = "AIMO_CACHE_DIR"
FILE_NAME = "answers.sqlite3"
FILE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
DEFAULT_MAX_MB = 200.0
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
# A hit refreshes its "last used" time at most this often, so a Run All of hits
# mostly reads instead of queueing for the write lock.
TOUCH_EVERY_S = 60.0
# The WAL file is cut back to this after a checkpoint, so it does not stay at its peak.
WAL_SIZE_LIMIT = 1024 * 1024
# Eviction brings the file down to this share of the cap, so that it does not run
# again on the very next answer.
EVICT_TO = 0.9

# Parameters that change how an answer travels, not what it says.
NOT_IN_KEY = frozenset({"stream", "stream_options"})
# A finish reason that means the text is not a whole answer worth replaying (an answer
# that asks for tool calls is one when it carries them: a tool loop's step).
NOT_STORED_FINISH = frozenset({"error", "tool_calls", "function_call", "content_filter"})

T = TypeVar("T")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS answers (
    id BLOB NOT NULL UNIQUE,
    model TEXT NOT NULL,
    served_model TEXT NOT NULL,
    provider TEXT,
    text TEXT NOT NULL,
    finish_reason TEXT,
    usage TEXT,
    timings TEXT,
    stored_at REAL NOT NULL,
    used_at REAL NOT NULL,
    size INTEGER NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS answers_used_at ON answers (used_at)",
)
# Added after schema 1 shipped, to files of either age: older readers name their columns,
# so the extra one is invisible to them.
_LATER_COLUMNS = {"tool_calls": "TEXT"}


class CacheUnavailableError(Exception):
    """The cache file cannot be used; the caller should warn once and go on without it.

    ``reason`` says what is wrong in a few words, ``path`` where; ``str()`` is one
    line that also says what to do.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"The answer cache at {self.path} cannot be used ({reason}); caching is off. "
            f"Delete the file, or choose another place with AIMO_CACHE_DIR."
        )


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer: the result as first received (``cached_at`` set) and when stored."""

    result: ChatResult
    stored_at: float


@dataclass(frozen=True)
class CacheStats:
    """What the cache holds, where, and how this instance's lookups went."""

    path: str
    entries: int
    content_bytes: int
    file_bytes: int
    max_bytes: int
    hits: int
    misses: int
    stores: int


def cache_key(
    base_url: str, model: str, messages: str | Messages, params: Mapping[str, Any]
) -> str:
    """The hex SHA-256 of everything that decides an answer, as canonical JSON.

    Parameters that only change how the answer travels (``stream``,
    ``stream_options``) are left out, so a streamed and a non-streamed request for
    the same thing share an entry. ``model`` is the model as requested: a routing
    name and a ``provider:model`` id are different keys.
    """
    material = {
        "v": 1,
        "base_url": base_url.rstrip("/"),
        "model": model,
        "messages": normalise_messages(messages),
        "params": {k: v for k, v in params.items() if k not in NOT_IN_KEY},
    }
    canonical = json.dumps(
        material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_storable(result: ChatResult) -> bool:
    """Only a whole answer is stored: text that finished, or the tool calls a step of a
    tool loop asked for; never partial or failed ones."""
    if result.tool_calls:
        return result.finish_reason is not None and result.finish_reason != "error"
    return (
        bool(result.text)
        and result.finish_reason is not None
        and result.finish_reason not in NOT_STORED_FINISH
    )


def _calls_json(calls: tuple[ToolCall, ...]) -> str | None:
    return json.dumps([call.as_dict() for call in calls]) if calls else None


def _calls_from(raw: str | None) -> tuple[ToolCall, ...]:
    if not raw:
        return ()
    return tuple(
        ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
        for c in json.loads(raw)
    )


def default_directory() -> Path:
    """``AIMO_CACHE_DIR`` when set, else the platform's user cache directory."""
    configured = os.environ.get(ENV_CACHE_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("aimo-magic", appauthor=False))


def cache_file(path: str | os.PathLike[str] | None) -> Path:
    """The SQLite file for ``path``: a ``.sqlite``/``.sqlite3``/``.db`` name is the file
    itself, anything else a directory that holds ``answers.sqlite3``."""
    chosen = default_directory() if path is None else Path(path).expanduser()
    if chosen.suffix.lower() in FILE_SUFFIXES:
        return chosen
    return chosen / FILE_NAME


def _row_id(key: str) -> bytes:
    """What the file stores instead of the key: a hash of it, so the key never lands there."""
    return hashlib.sha256(b"aimo-magic answer cache row\0" + key.encode("utf-8")).digest()


def _usage_json(usage: Usage | None) -> str | None:
    return json.dumps(usage.as_dict()) if usage is not None else None


def _usage_from(raw: str | None) -> Usage | None:
    return Usage.from_dict(json.loads(raw)) if raw else None


def _timings_from(raw: str | None) -> Timings:
    data = json.loads(raw) if raw else {}
    return Timings(first_token=data.get("first_token"), total=float(data.get("total") or 0.0))


def _value(db: sqlite3.Connection, sql: str) -> Any:
    """The single value a query returns, read to the end so no read stays open (an
    open read would make the next write transaction fail instead of waiting)."""
    return db.execute(sql).fetchall()[0][0]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "not a database" in text or "malformed" in text:
        return f"the file is corrupt: {text}"
    if "readonly" in text or "read-only" in text:
        return f"the disk or file is read-only: {text}"
    return text


class AnswerCache:
    """Complete answers in one SQLite file, safe across threads and processes.

    ``AnswerCache()`` uses ``AIMO_CACHE_DIR`` or the platform's user cache
    directory; ``path`` may name a directory or the file itself. ``max_mb`` caps the
    file's live pages; the least recently used answers go first. Every method raises
    :class:`CacheUnavailableError` when the file cannot be used.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, max_mb: float = DEFAULT_MAX_MB
    ) -> None:
        if max_mb <= 0:
            raise ValueError(f"max_mb must be positive, got {max_mb}.")
        self.path = cache_file(path)
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._db = self._guard(self._open)

    def __repr__(self) -> str:
        return f"AnswerCache({str(self.path)!r}, max_mb={self.max_bytes / 1024 / 1024:g})"

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Opening ---------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        version = _value(db, "PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise CacheUnavailableError(
                self.path,
                f"it was written by a newer aimo-magic (schema {version}, this one reads "
                f"{SCHEMA_VERSION})",
            )
        if version < SCHEMA_VERSION:
            # A new file: pages freed by eviction go back to the disk, and WAL lets
            # readers and one writer work at once across processes.
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = _value(db, "PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            raise CacheUnavailableError(self.path, f"SQLite refused WAL mode (got {mode})")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        if version < SCHEMA_VERSION:
            with self._write(db):
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if self._missing_columns(db):
            with self._write(db):  # under the write lock, so two kernels add it once
                for name in self._missing_columns(db):
                    db.execute(f"ALTER TABLE answers ADD COLUMN {name} {_LATER_COLUMNS[name]}")
        # Reading one row proves the file is a database we understand.
        db.execute("SELECT id FROM answers LIMIT 1").fetchall()

    @staticmethod
    def _missing_columns(db: sqlite3.Connection) -> list[str]:
        present = {row[1] for row in db.execute("PRAGMA table_info(answers)").fetchall()}
        return [name for name in _LATER_COLUMNS if name not in present]

    # Plumbing --------------------------------------------------------------
    def _guard(self, operation: Callable[[], T]) -> T:
        """Run under the lock; turn every way SQLite or the disk can fail into one error."""
        with self._lock:
            try:
                return operation()
            except CacheUnavailableError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise CacheUnavailableError(self.path, _reason(exc)) from exc

    @contextmanager
    def _write(self, db: sqlite3.Connection) -> Iterator[None]:
        """A write transaction that takes the write lock at once, so the busy timeout
        applies (a read that upgrades to a write would fail at once instead)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise CacheUnavailableError(self.path, "the cache was closed")
        return self._db

    # The interface ---------------------------------------------------------
    def transact(self, operation: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """Run ``operation`` on the file's connection under the lock (inside a write
        transaction with ``write``), every failure turned into CacheUnavailableError.

        For other tables kept with the answers, in the same file (``core.provider_log``):
        they share its place, its locking and its one error.
        """

        def run() -> T:
            db = self._connection()
            if not write:
                return operation(db)
            with self._write(db):
                return operation(db)

        return self._guard(run)

    def get(self, key: str) -> CachedAnswer | None:
        """The answer stored under ``key`` (from :func:`cache_key`), or None."""
        return self._guard(lambda: self._get(key))

    def _get(self, key: str) -> CachedAnswer | None:
        db = self._connection()
        row_id = _row_id(key)
        rows = db.execute(
            "SELECT served_model, provider, text, finish_reason, usage, timings, "
            "stored_at, used_at, tool_calls FROM answers WHERE id = ?",
            (row_id,),
        ).fetchall()
        if not rows:
            self.misses += 1
            return None
        served, provider, text, finish, usage, timings, stored_at, used_at, calls = rows[0]
        now = time.time()
        if now - used_at > TOUCH_EVERY_S:
            with self._write(db):
                db.execute("UPDATE answers SET used_at = ? WHERE id = ?", (now, row_id))
        self.hits += 1
        result = ChatResult(
            text=text,
            finish_reason=finish,
            usage=_usage_from(usage),
            model=served,
            provider=provider,
            timings=_timings_from(timings),
            request_id=None,
            cached_at=stored_at,
            tool_calls=_calls_from(calls),
        )
        return CachedAnswer(result=result, stored_at=stored_at)

    def put(self, key: str, result: ChatResult, *, model: str | None = None) -> None:
        """Store a complete answer under ``key``; anything else is silently not stored.

        ``model`` is the model as requested, kept (besides ``result.model``, the one
        that served it) so that ``clear(model=...)`` finds the answer by either name.
        """
        self.put_many([(key, result, model)])

    def put_many(self, items: Iterable[tuple[str, ChatResult, str | None]]) -> int:
        """Store several answers in one write transaction; returns how many were stored.

        Each item is ``(key, result, model as requested or None)``; as for :meth:`put`,
        only complete answers are kept. A batch stores its answers this way, so that
        thousands of rows cost one transaction and one size check per group, not each.
        """
        rows = [
            row
            for key, result, model in items
            if is_storable(result)
            for row in [self._row(key, result, model or result.model)]
            if row is not None
        ]
        if rows:
            self._guard(lambda: self._insert(rows))
        return len(rows)

    def _row(self, key: str, result: ChatResult, requested_model: str) -> tuple[Any, ...] | None:
        calls = _calls_json(result.tool_calls)
        size = len(result.text.encode("utf-8")) + len((calls or "").encode("utf-8")) + 200
        if size > self.max_bytes:
            return None
        timings = json.dumps(
            {"first_token": result.timings.first_token, "total": result.timings.total}
        )
        now = time.time()
        return (
            _row_id(key),
            requested_model,
            result.model,
            result.provider,
            result.text,
            result.finish_reason,
            _usage_json(result.usage),
            timings,
            now,
            now,
            size,
            calls,
        )

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        db = self._connection()
        with self._write(db):
            db.executemany(
                "INSERT OR REPLACE INTO answers (id, model, served_model, provider, text, "
                "finish_reason, usage, timings, stored_at, used_at, size, tool_calls) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            evicted = self._evict(db)
        self.stores += len(rows)
        if evicted:
            db.execute("PRAGMA incremental_vacuum")

    def _used_bytes(self, db: sqlite3.Connection) -> int:
        pages = _value(db, "PRAGMA page_count")
        free = _value(db, "PRAGMA freelist_count")
        return int((pages - free) * _value(db, "PRAGMA page_size"))

    def _evict(self, db: sqlite3.Connection) -> int:
        """Drop least recently used answers until the live pages fit under the cap."""
        excess = self._used_bytes(db) - self.max_bytes
        if excess <= 0:
            return 0
        target = excess + int(self.max_bytes * (1 - EVICT_TO))
        doomed: list[bytes] = []
        freed = 0
        oldest_first = db.execute("SELECT id, size FROM answers ORDER BY used_at").fetchall()
        for row_id, size in oldest_first:
            doomed.append(row_id)
            freed += size
            if freed >= target:
                break
        db.executemany("DELETE FROM answers WHERE id = ?", [(d,) for d in doomed])
        return len(doomed)

    def stats(self) -> CacheStats:
        """Entries, bytes of answers and of the file (with its WAL), and this instance's
        hits, misses and stores."""

        def read() -> CacheStats:
            db = self._connection()
            entries, content = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM answers"
            ).fetchall()[0]
            file_bytes = sum(
                Path(f"{self.path}{suffix}").stat().st_size
                for suffix in ("", "-wal")
                if Path(f"{self.path}{suffix}").exists()
            )
            return CacheStats(
                path=str(self.path),
                entries=int(entries),
                content_bytes=int(content),
                file_bytes=file_bytes,
                max_bytes=self.max_bytes,
                hits=self.hits,
                misses=self.misses,
                stores=self.stores,
            )

        return self._guard(read)

    def clear(self, model: str | None = None, older_than_days: float | None = None) -> int:
        """Forget answers (all, one model's as requested or served, or those stored more
        than ``older_than_days`` ago); returns how many went."""
        clauses: list[str] = []
        values: list[Any] = []
        if model is not None:
            clauses.append("(model = ? OR served_model = ?)")
            values += [model, model]
        if older_than_days is not None:
            clauses.append("stored_at < ?")
            values.append(time.time() - older_than_days * 86400)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""

        def delete() -> int:
            db = self._connection()
            with self._write(db):
                removed = db.execute(f"DELETE FROM answers{where}", values).rowcount
            db.execute("PRAGMA incremental_vacuum")
            return int(removed)

        return self._guard(delete)

    def close(self) -> None:
        """Close the file; later calls raise :class:`CacheUnavailableError`."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                with suppress(sqlite3.Error):
                    db.close()
