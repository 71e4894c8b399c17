"""Waiting for a coroutine from synchronous code, with or without threads.

The sync client blocks while the in-process emulator (a coroutine app) produces its
answer, so the app must make progress during that wait:

* on CPython, the app runs on an event loop in a daemon thread of its own, and the
  caller waits on a future (so it works inside a kernel whose own loop is running);
* in Pyodide there are no threads; ``pyodide.ffi.run_sync`` suspends the caller's
  WebAssembly stack (JavaScript Promise Integration) while the browser's event loop
  runs the app. Chromium has JSPI; a browser without it gets one clear line.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar, cast

T = TypeVar("T")
NO_JSPI = (
    "This browser cannot wait for the in-process emulator from synchronous code (it lacks "
    "WebAssembly JavaScript Promise Integration): use a Chromium-based browser "
    "(Chrome, Edge) or await aimo_magic.AsyncClient calls instead."
)


class ThreadRunner:
    """An event loop in a daemon thread; ``run`` waits for a coroutine submitted to it."""

    def __init__(self, name: str = "aimo-emulator-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine: Awaitable[T]) -> T:
        future = asyncio.run_coroutine_threadsafe(
            cast("Coroutine[Any, Any, T]", coroutine), self.loop
        )
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Cancel what still runs on the loop, then end the thread."""
        if not self._thread.is_alive():
            return

        async def _cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class JSPIRunner:
    """Pyodide: suspend this call (JSPI) while the browser's event loop runs the coroutine.

    Made where it will be used (a cell), it refuses at once, with ``NO_JSPI``, in a
    browser that cannot suspend, rather than at the first request.
    """

    running = True

    def __init__(self) -> None:
        from pyodide.ffi import can_run_sync

        if not can_run_sync():
            raise RuntimeError(NO_JSPI)

    def run(self, coroutine: Awaitable[T]) -> T:
        from pyodide.ffi import can_run_sync, run_sync

        if not can_run_sync():
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            raise RuntimeError(NO_JSPI)
        return cast("T", run_sync(coroutine))

    def stop(self) -> None:
        """Nothing to stop: the loop is the browser's."""


def sockets_available() -> bool:
    """False where no socket server can run: Pyodide (Emscripten) in a browser."""
    return sys.platform != "emscripten"


def default_runner() -> ThreadRunner | JSPIRunner:
    return JSPIRunner() if sys.platform == "emscripten" else ThreadRunner()
