"""A gate that holds chat answers until a test lets them go: synchronisation without sleeps.

A test that must act while answers are still on their way (press stop mid-batch, see a
partial answer on screen, prove that requests overlap) cannot rely on an answer being
slow enough: on a busy machine any delay can pass before the test gets to act. Instead it
closes the gate, waits for what it needs (``held`` requests waiting, text shown), and
opens it again; what happens in between cannot depend on timing.

The gate is open unless a test closes it, so ordinary use never meets it. A request waits
at its *hold point*: before its answer starts, or after N chunks of a stream when its fault
says ``hold_after=N``. A request whose client goes away while it waits stops waiting and is
counted in ``abandoned``: that is how a test sees that a stop button cancelled what was in
flight. Every method is safe to call from any thread; waiters may be on any event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[Any]]


class AnswerGate:
    """Open, or closed with an allowance of requests that may still pass, or a barrier."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = True
        self._passes = 0
        self._until: int | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.abandoned = 0
        """Requests whose client went away while they waited, since the last ``hold``."""

    @property
    def held(self) -> int:
        """Requests waiting at the gate now."""
        with self._lock:
            return len(self._waiters)

    @property
    def holding(self) -> bool:
        with self._lock:
            return not self._open

    def hold(self, *, after: int = 0, until: int | None = None) -> None:
        """Close the gate: answers wait at their hold point until ``release()``.

        ``after``: that many requests still pass before the gate starts holding.
        ``until``: a barrier; once that many requests wait together, the gate opens.
        """
        if after < 0 or (until is not None and until < 1):
            raise ValueError("hold(after=N) takes N >= 0 and hold(until=N) takes N >= 1")
        with self._lock:
            self._open = False
            self._passes = after
            self._until = until
            self.abandoned = 0

    def release(self) -> None:
        """Open the gate: every waiting answer goes on, and later ones pass."""
        with self._lock:
            self._open = True
            self._until = None
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            _wake(loop, future)

    async def wait(self, receive: Receive) -> bool:
        """Wait here while the gate is closed; False if the client went away meanwhile.

        ``receive`` is the request's ASGI receive: once the body has been read, it only
        returns when the client disconnects.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._open:
                return True
            if self._passes > 0:
                self._passes -= 1
                return True
            self._waiters.append((loop, future))
            barrier_full = self._until is not None and len(self._waiters) >= self._until
        if barrier_full:
            self.release()
        gone = asyncio.ensure_future(receive())
        try:
            await asyncio.wait({future, gone}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the response was cancelled: the client went away
            self._leave(future, abandoned=True)
            raise
        finally:
            gone.cancel()
        passed = future.done()
        self._leave(future, abandoned=not passed)
        return passed

    def _leave(self, future: asyncio.Future[None], *, abandoned: bool) -> None:
        with self._lock:
            self._waiters = [(lp, f) for lp, f in self._waiters if f is not future]
            if abandoned:
                self.abandoned += 1
        if not future.done():
            future.cancel()


def _wake(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    def set_result() -> None:
        if not future.done():
            future.set_result(None)

    # A loop that has closed meanwhile has nobody waiting on it any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(set_result)
