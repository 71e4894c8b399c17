"""Running the async engine from blocking code, a notebook cell included.

A Jupyter kernel already runs an event loop in its main thread, so ``asyncio.run``
cannot be used there. The engine gets a thread of its own with its own loop; the
calling thread waits in short slices, drawing the progress bar between them, and
that wait is where Ctrl-C (or the notebook's stop button) lands. Then the engine's
task is cancelled, which cancels the requests in flight, and the thread is given up
to ``STOP_WITHIN_S`` to finish: rows already answered stay answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aimo_magic.core.errors import AimoError
from aimo_magic.core.workers import start_worker

T = TypeVar("T")

TICK_S = 0.2
STOP_WITHIN_S = 1.5


class _Box:
    def __init__(self) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[Any] | None = None
        self.ready = threading.Event()


def run_blocking(
    make: Callable[[], Coroutine[Any, Any, T]],
    tick: Callable[[], None] = lambda: None,
    interval: float = TICK_S,
) -> T:
    """Run ``make()`` to completion on a private loop in a worker thread.

    ``tick`` runs in the calling thread every ``interval`` seconds (the progress bar).
    A KeyboardInterrupt in the calling thread cancels the coroutine and is re-raised
    once it has stopped (or after ``STOP_WITHIN_S``, whichever comes first).
    """
    loop = asyncio.new_event_loop()
    box = _Box()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            box.task = loop.create_task(make())
            box.ready.set()
            box.result = loop.run_until_complete(box.task)
        except BaseException as exc:
            box.error = exc
        finally:
            box.ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    thread = threading.Thread(target=main, name="aimo-batch", daemon=True)
    try:
        start_worker(thread, "A batch")
    except AimoError:
        loop.close()
        raise
    try:
        box.ready.wait()
        while thread.is_alive():
            thread.join(interval)
            tick()
    except KeyboardInterrupt:
        task = box.task
        if task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing left to stop
                loop.call_soon_threadsafe(task.cancel)
        thread.join(STOP_WITHIN_S)
        tick()
        raise
    if box.error is not None:
        raise box.error
    result: T = box.result
    return result
