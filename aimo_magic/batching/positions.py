"""The rows still to send, in order, for the engine's workers.

Without a cache it is the positions as given. With one, a producer looks the rows up
a chunk at a time (in a worker thread) and queues only those with no stored answer,
with the messages and key their lookup made (so a row's prompt is rendered once); the
stored ones are handed straight to ``on_hit``. The producer stays at most ``lookahead``
rows ahead of the workers, so memory does not grow with the rows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aimo_magic.batching.stored import QueuedRow

if TYPE_CHECKING:
    from aimo_magic.batching.stored import RowMessages, StoredAnswers
    from aimo_magic.core.types import ChatResult

CHUNK = 256


class RowQueue:
    def __init__(
        self,
        positions: Sequence[int],
        stored: StoredAnswers | None,
        messages: RowMessages,
        on_hit: Callable[[int, ChatResult], object],
        lookahead: int,
    ) -> None:
        self._positions = positions
        self._stored = stored
        self._messages = messages
        self._on_hit = on_hit
        self._lookahead = max(lookahead, CHUNK)
        self._pending: deque[QueuedRow] = deque(
            (QueuedRow(p) for p in positions) if stored is None else ()
        )
        self._filled = stored is None
        self._more = asyncio.Event()
        self._room = asyncio.Event()

    @property
    def needs_filling(self) -> bool:
        return not self._filled

    async def fill(self) -> None:
        """Look the rows up chunk by chunk; queue the misses, hand over the hits."""
        assert self._stored is not None
        try:
            for start in range(0, len(self._positions), CHUNK):
                while len(self._pending) >= self._lookahead:
                    self._room.clear()
                    await self._room.wait()
                chunk = self._positions[start : start + CHUNK]
                hits, missing = await self._stored.lookup(chunk, self._messages)
                for position, result in hits.items():
                    self._on_hit(position, result)
                self._pending.extend(missing)
                self._more.set()
        finally:
            self._filled = True
            self._more.set()

    async def next(self) -> QueuedRow | None:
        """The next row to send, or None when there are no more."""
        pending = self._pending
        while not pending:
            if self._filled:
                return None
            self._more.clear()
            await self._more.wait()
        row = pending.popleft()
        if not self._filled and len(pending) < self._lookahead:
            self._room.set()
        return row
