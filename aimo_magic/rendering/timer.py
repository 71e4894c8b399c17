"""A one-shot timer for flushing text held back by the render rate.

The callback runs on a timer thread inside a copy of the scheduling thread's context:
ipykernel (6.29+, 7) keeps the running cell's parent header in a context variable, so a
display update sent from that thread goes to the cell that scheduled it, not to whichever
cell runs when it fires.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable

Cancel = Callable[[], None]
Scheduler = Callable[[float, Callable[[], None]], Cancel]
"""``schedule(delay_s, callback)`` runs ``callback`` once after ``delay_s``; the returned
function cancels it if it has not started."""


def thread_timer(delay_s: float, callback: Callable[[], None]) -> Cancel:
    """The default scheduler: a daemon ``threading.Timer`` in the caller's context.

    Where no thread can start (Pyodide), nothing is scheduled: held-back text then
    shows with the next piece of the answer, or at its final render.
    """
    context = contextvars.copy_context()
    timer = threading.Timer(delay_s, context.run, args=(callback,))
    timer.daemon = True
    timer.name = "aimo-render-flush"
    try:
        timer.start()
    except RuntimeError:  # "can't start new thread"
        return _nothing_to_cancel
    return timer.cancel


def _nothing_to_cancel() -> None:
    pass
