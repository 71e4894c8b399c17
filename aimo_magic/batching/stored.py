"""A batch's use of the answer cache: rows looked up in chunks, answers stored in groups.

Going through the client's per-request cache would cost two thread hops and one
SQLite transaction per row. Here rows are looked up a chunk at a time in a worker
thread, before they are sent (so a row already answered is never queued, and never
counts against ``max_cost``), and live answers are written a group at a time, in one
transaction (``AnswerCache.put_many``). The keys are the client's (``cache_key`` of the
base URL, the model as requested, the messages and the parameters), so a batch and a
``%%aimo`` cell asking the same thing share an answer. Whatever is pending is written
when the batch ends, is interrupted or is stopped.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from aimo_magic.core.answer_use import AnswerUse
    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError
    from aimo_magic.core.resolution import Resolution
    from aimo_magic.core.types import ChatResult
    from aimo_magic.session import AimoSession

T = TypeVar("T")

GROUP = 64
"""Answers written per transaction at most; fewer when ``FLUSH_S`` has passed."""
FLUSH_S = 1.0
RowMessages = Callable[[int], "list[dict[str, Any]]"]
"""A row's position to the messages its request sends (``core.protocol.Messages`` is
the messages themselves)."""


class QueuedRow(NamedTuple):
    """A row waiting to be sent, with what was made of it while looking it up: its
    messages and cache key, so neither is made twice (None when not made yet)."""

    position: int
    messages: list[dict[str, Any]] | None = None
    key: str | None = None


def open_store(
    choice: Any, where: Resolution, session: AimoSession | None
) -> tuple[AnswerCache | None, bool]:
    """The store ``cache=`` names, and whether the batch opened it (and must close it).

    In a notebook ``True`` is the session's own store (one file: ``%aimo cache stats``
    sees the batch); elsewhere the default file. A file that cannot be used is
    reported once and the batch runs without it.
    """
    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError

    if choice is None or choice is False:
        return None, False
    if isinstance(choice, AnswerCache):
        return choice, False
    if choice is True and session is not None:
        return session.answer_cache(where), False
    try:
        return AnswerCache(None if choice is True else choice), True
    except CacheUnavailableError as exc:
        report_unusable(exc, session)
        return None, False


def report_unusable(exc: CacheUnavailableError, session: AimoSession | None = None) -> None:
    """One line about a cache that cannot be used: the session's warning, else a CacheWarning."""
    if session is not None:
        session.cache_unusable(exc)
        return
    from aimo_magic.core.cache_use import CacheWarning

    warnings.warn(str(exc), CacheWarning, stacklevel=3)


class StoredAnswers:
    """Lookups and stores for one batch run; turns itself off if the file fails."""

    def __init__(
        self,
        store: AnswerCache,
        *,
        base_url: str,
        model: str,
        params: Mapping[str, Any],
        api_key: str | None,
        on_unusable: Callable[[CacheUnavailableError], None],
    ) -> None:
        self._store: AnswerCache | None = store
        self._base_url = base_url
        self._model = model
        self._params = dict(params)
        self._api_key = api_key
        self._on_unusable = on_unusable
        self._pending: list[tuple[str, ChatResult, str | None]] = []
        self._flushed_at = time.monotonic()
        self._lock = asyncio.Lock()

    def key(self, messages: Sequence[Mapping[str, Any]]) -> str:
        from aimo_magic.core.cache import cache_key

        return cache_key(self._base_url, self._model, messages, self._params)

    def _failed(self, exc: CacheUnavailableError) -> None:
        if self._store is not None:
            self._store = None
            self._on_unusable(exc)

    async def lookup(
        self, positions: Sequence[int], messages: RowMessages
    ) -> tuple[dict[int, ChatResult], list[QueuedRow]]:
        """The stored answers among ``positions`` (by position), and the rows left to send,
        each with the messages and key made for its lookup."""
        if self._store is None:
            return {}, [QueuedRow(position) for position in positions]
        return await to_the_end(self.lookup_now, positions, messages, using=True)

    def lookup_now(
        self, positions: Sequence[int], messages: RowMessages, *, using: bool = False
    ) -> tuple[dict[int, ChatResult], list[QueuedRow]]:
        """``lookup`` in the calling thread (an estimate counting what the cache holds).

        ``using``: the answers found are used (a run, not an estimate), so they go to
        the log of answers used, for ``%aimo answers save``."""
        from aimo_magic.core.cache import CacheUnavailableError

        found: dict[int, ChatResult] = {}
        missing: list[QueuedRow] = []
        store = self._store
        for index, position in enumerate(positions):
            try:
                sent = messages(position)
                key = self.key(sent)
            except Exception:  # a row the template cannot fill: its worker reports it
                missing.append(QueuedRow(position))
                continue
            use = self._answer_use(sent)
            recorded = use.recorded(note=using) if use is not None else None
            if recorded is not None:  # from the answer file replayed, as the client would
                found[position] = recorded
                continue
            try:
                stored = store.get(key) if store is not None else None
            except CacheUnavailableError as exc:
                self._failed(exc)
                rest = [QueuedRow(p) for p in positions[index + 1 :]]
                return found, [*missing, QueuedRow(position, sent, key), *rest]
            if stored is None:
                missing.append(QueuedRow(position, sent, key))
            else:
                found[position] = stored.result
                if use is not None and using:
                    use.used(stored.result)  # an answer used, for %aimo answers save
        return found, missing

    def _answer_use(self, messages: Sequence[Mapping[str, Any]]) -> AnswerUse | None:
        """The client's answer hook for a row looked up here (``core.answer_use``)."""
        from aimo_magic.core.answer_use import answer_use

        return answer_use(self._model, {"messages": messages, **self._params})

    async def remember(
        self, messages: Sequence[Mapping[str, Any]], result: ChatResult, key: str | None = None
    ) -> None:
        """Queue a live answer (``key``: its cache key, if made already); write the queue
        when it is full or has waited long enough."""
        if self._store is None or (self._api_key and self._api_key in result.text):
            return
        self._pending.append((key or self.key(messages), result, self._model))
        if len(self._pending) >= GROUP or time.monotonic() - self._flushed_at >= FLUSH_S:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            items, self._pending = self._pending, []
            self._flushed_at = time.monotonic()
            if items and self._store is not None:
                await to_the_end(self._write, items)

    def _write(self, items: list[tuple[str, ChatResult, str | None]]) -> None:
        from aimo_magic.core.cache import CacheUnavailableError

        try:
            if self._store is not None:
                self._store.put_many(items)
        except CacheUnavailableError as exc:
            self._failed(exc)


async def to_the_end(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function`` in a worker thread, finished even when the awaiting task is cancelled.

    A stopped run (Ctrl-C, a 402 that stops every model) closes its store right after;
    a thread left running would then meet a closed store: answers already paid for would
    not be kept for a resume, and a spurious "cannot be used" line would show. So the
    cancellation waits for the thread (a SQLite read or write of one group), then goes on.
    """
    work = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise
