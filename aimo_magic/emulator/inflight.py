"""How many chat requests the emulator is serving at once, and the most it has served.

A test of concurrency counts at the server: requests overlap only if their answers were
being streamed at the same time, whatever the client claims. A request is in flight
from its arrival until the last byte of its response (a streamed answer included).
"""

from __future__ import annotations

import threading

from starlette.types import ASGIApp, Receive, Scope, Send

CHAT_PATH_SUFFIX = "/chat/completions"


class InFlight:
    """A thread-safe counter of requests in progress, with its high-water mark."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = 0
        self.most = 0

    def enter(self) -> None:
        with self._lock:
            self.current += 1
            self.most = max(self.most, self.current)

    def leave(self) -> None:
        with self._lock:
            self.current -= 1

    def reset(self) -> None:
        """Start a new high-water mark from the requests in progress now."""
        with self._lock:
            self.most = self.current


class InFlightMiddleware:
    """Counts chat requests while the app handles them (streamed bodies included)."""

    def __init__(self, app: ASGIApp, counter: InFlight) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(CHAT_PATH_SUFFIX):
            await self.app(scope, receive, send)
            return
        self.counter.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.leave()
