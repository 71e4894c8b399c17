"""Starting the worker threads that comparisons and batches run their event loops on.

A kernel already runs an event loop, so concurrent work gets a loop of its own on a
thread. Pyodide (JupyterLite) cannot start threads; there the work is refused with one
line instead of a RuntimeError's traceback.
"""

from __future__ import annotations

import threading

from aimo_magic.core.errors import AimoError


def start_worker(thread: threading.Thread, what: str) -> None:
    """Start ``thread``, or say in one line that ``what`` cannot run in this Python."""
    try:
        thread.start()
    except RuntimeError:  # "can't start new thread"
        raise AimoError(
            f"{what} needs a background thread, and this Python cannot start one "
            "(the browser's Pyodide kernel has none)",
            hint="Run it in a kernel of a Jupyter server, or ask one model per cell here.",
        ) from None
