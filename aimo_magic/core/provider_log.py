"""What this user's answers measured of each provider: kept with the answer cache, per server.

Routing by speed needs figures nobody publishes: how soon a provider's first token comes
and how fast the rest follows, here, for this user. Every live answer served by a listed
provider adds one row (its first-token time and its rate of tokens), and every failure
that would make a request fall back adds one too; the newest ``KEEP`` per server, model
and provider are kept. The rows live in the answer cache's SQLite file (a table of their
own: ``AnswerCache.transact``), so they share its place (``AIMO_CACHE_DIR``,
``%config AimoMagics.cache_dir``), its locking across kernels and its one error. A file
that cannot be used turns the log off quietly: routing then knows nothing, and says so.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os
    import sqlite3

    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError
    from aimo_magic.core.types import ChatResult, Model

KEEP = 100
"""Rows kept per server, model and provider: the figures follow recent behaviour."""
MIN_RATE_SECONDS = 0.01
"""A stream shorter than this after its first token says nothing about its rate."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS provider_answers (
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL,
    first_token REAL,
    rate REAL
)""",
    "CREATE INDEX IF NOT EXISTS provider_answers_key "
    "ON provider_answers (base_url, model, provider, at)",
)


@dataclass(frozen=True)
class ProviderFigures:
    """One provider's recent record for one model here; medians over its answers."""

    answers: int = 0
    failures: int = 0
    first_token_s: float | None = None
    tokens_per_second: float | None = None

    @property
    def measured(self) -> bool:
        """Whether an answer gave a first-token time (what ``fastest`` ranks by)."""
        return self.first_token_s is not None


@dataclass(frozen=True)
class Outcome:
    """One answer (``ok``) or failure of one provider serving one model."""

    model: str
    provider: str
    ok: bool
    first_token_s: float | None = None
    tokens_per_second: float | None = None


def answer_outcome(result: ChatResult, catalogue: Sequence[Model] | None) -> Outcome | None:
    """What a live answer measured of the provider that served it; None for a cached or
    replayed answer (its timings, if any, were measured earlier and elsewhere) or one
    whose server id names no listed provider."""
    if result.cached_at is not None:
        return None
    served = served_offer(result.model, catalogue)
    if served is None:
        return None
    model, provider = served
    first, total = result.timings.first_token, result.timings.total
    rate = None
    tokens = result.usage.completion_tokens if result.usage is not None else 0
    if first is not None and tokens > 1 and total - first >= MIN_RATE_SECONDS:
        rate = tokens / (total - first)
    return Outcome(model, provider, True, first, rate)


def failure_outcome(model_id: str, catalogue: Sequence[Model] | None) -> Outcome | None:
    """A failure of the provider a pinned id names (a routing name's is AiMo's to know)."""
    served = served_offer(model_id, catalogue)
    return Outcome(served[0], served[1], False) if served is not None else None


def served_offer(model_id: str, catalogue: Sequence[Model] | None) -> tuple[str, str] | None:
    """(model name, provider id) for a ``provider_pubkey:model`` id the catalogue lists."""
    from aimo_magic.core.catalogue import find_model

    found = find_model(catalogue or (), model_id)
    if found is None or found[1] is None:
        return None
    return found[0].name, found[1].provider_id


class ProviderLog:
    """The measurements in the answer cache's file at ``directory`` (None: the default
    place), opened on first use; off for good once the file cannot be used."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = directory
        self.problem: CacheUnavailableError | None = None
        self._store: AnswerCache | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ProviderLog({self.directory!r})"

    def record(self, base_url: str, outcomes: Iterable[Outcome | None]) -> int:
        """Add these outcomes (Nones skipped) in one transaction; how many were added."""
        now = time.time()
        rows = [
            (base_url, o.model, o.provider, now, int(o.ok), o.first_token_s, o.tokens_per_second)
            for o in outcomes
            if o is not None
        ]
        if not rows:
            return 0

        def insert(db: sqlite3.Connection) -> int:
            db.executemany(
                "INSERT INTO provider_answers (base_url, model, provider, at, ok, "
                "first_token, rate) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            for key in {row[:3] for row in rows}:
                db.execute(
                    "DELETE FROM provider_answers WHERE rowid IN (SELECT rowid FROM "
                    "provider_answers WHERE base_url = ? AND model = ? AND provider = ? "
                    "ORDER BY at DESC LIMIT -1 OFFSET ?)",
                    (*key, KEEP),
                )
            return len(rows)

        return self._use(insert, write=True) or 0

    def figures(self, base_url: str, model: str) -> dict[str, ProviderFigures]:
        """Each measured provider of ``model`` at ``base_url``, by provider id."""

        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                "SELECT provider, ok, first_token, rate FROM provider_answers "
                "WHERE base_url = ? AND model = ? ORDER BY at DESC",
                (base_url, model),
            ).fetchall()

        rows = self._use(read) or []
        by_provider: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_provider.setdefault(row[0], []).append(row)
        return {provider: _figures(found[:KEEP]) for provider, found in by_provider.items()}

    def _use(self, operation: Any, *, write: bool = False) -> Any:
        from aimo_magic.core.cache import AnswerCache, CacheUnavailableError

        with self._lock:
            if self.problem is not None:
                return None
            try:
                if self._store is None:
                    self._store = AnswerCache(self.directory)
                if not self._ready:
                    self._store.transact(_create, write=True)
                    self._ready = True
                return self._store.transact(operation, write=write)
            except CacheUnavailableError as exc:
                self.problem = exc
                self._close()
                return None

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._ready = False


def _create(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        db.execute(statement)


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _figures(rows: list[tuple[Any, ...]]) -> ProviderFigures:
    answered = [row for row in rows if row[1]]
    return ProviderFigures(
        answers=len(answered),
        failures=len(rows) - len(answered),
        first_token_s=_median(row[2] for row in answered),
        tokens_per_second=_median(row[3] for row in answered),
    )


_LOGS: dict[str, ProviderLog] = {}
_LOGS_LOCK = threading.Lock()


def log_at(place: str | os.PathLike[str] | None) -> ProviderLog:
    """The process's one log at ``place`` (a cache directory or file; None: the default
    place), so clients and sessions measuring there share one connection."""
    from aimo_magic.core.cache import cache_file

    key = str(cache_file(place))
    with _LOGS_LOCK:
        log = _LOGS.get(key)
        if log is None:
            log = _LOGS[key] = ProviderLog(key)
        return log
