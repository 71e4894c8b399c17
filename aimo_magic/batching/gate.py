"""One shared backoff for the whole batch: a 429 pauses every row, not just the one that got it.

Without it, each of 64 rows in flight retries on its own schedule into the same rate
limit. Here a rate-limited answer closes the gate for the server's Retry-After (or the
client's backoff); when it reopens a single request probes, and each success doubles
how many may be in flight until the batch is back at full concurrency.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class BackoffGate:
    """Admission for requests: at most ``allowed`` in flight, none while paused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.allowed = limit
        self.active = 0
        self.paused_until = 0.0
        self.pauses = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _open(self) -> bool:
        if self.active >= self.allowed:
            return False
        return not self.paused_until or time.monotonic() >= self.paused_until

    async def acquire(self) -> None:
        while not self._open():
            wait = self.paused_until - time.monotonic() if self.paused_until else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    waiter.cancel()
        self.active += 1

    def release(self, succeeded: bool) -> None:
        self.active -= 1
        if succeeded and self.allowed < self.limit:
            self.allowed = min(self.limit, self.allowed * 2)
        self._wake()

    def rate_limited(self, delay: float) -> None:
        """Pause everyone for ``delay`` seconds, then let one request probe."""
        self.paused_until = max(self.paused_until, time.monotonic() + delay)
        self.allowed = 1
        self.pauses += 1

    def _wake(self) -> None:
        free = self.allowed - self.active
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1
