"""The session's answer cache: opened on first use, reopened when its settings change,
and turned off (with one warning line) when its file cannot be used."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError


class SessionAnswerStore:
    """One open ``AnswerCache`` at a time, for the place and size last asked for."""

    def __init__(self) -> None:
        self.store: AnswerCache | None = None
        self.problem: CacheUnavailableError | None = None
        self._where: tuple[str | None, float | None] | None = None

    def open(self, directory: str | None, max_mb: float | None) -> AnswerCache | None:
        """The store at ``directory`` (None: the default place), opened on first use (so
        loading the extension pays nothing for SQLite); None while it is unusable there."""
        from aimo_magic.core.cache import DEFAULT_MAX_MB, AnswerCache, CacheUnavailableError

        where = (directory, max_mb)
        if self._where != where:
            self.close()
            self.problem = None
            self._where = where
        if self.store is None and self.problem is None:
            try:
                self.store = AnswerCache(
                    directory, max_mb=DEFAULT_MAX_MB if max_mb is None else max_mb
                )
            except CacheUnavailableError as exc:
                self.unusable(exc)
        return self.store

    def unusable(self, exc: CacheUnavailableError) -> bool:
        """Turn the cache off until its settings change; True the first time (say it then)."""
        if self.problem is not None:
            return False
        self.problem = exc
        self.close()
        print(
            f"⚠ The answer cache at {exc.path} cannot be used ({exc.reason}). Caching is off "
            "for this session and cells keep working; delete that file or set "
            "AimoMagics.cache_dir to fix it.",
            file=sys.stderr,
        )
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
