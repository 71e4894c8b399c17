"""Paying the renderer's one-time costs while the first answer is still on its way.

Building the markdown parser and pygments' lexers takes a few hundred milliseconds
once per process; done mid-stream it shows as a stall in the first answer. The
request's wait for its first token is idle time for the kernel, so spend it here.
Pygments' lazy module loading is not safe to run from two threads at once, so the
caller waits for the warm-up (``wait_until_warm``) before it renders anything.
"""

from __future__ import annotations

import threading

COMMON_LANGUAGES = ("python", "javascript", "sql", "bash", "json")
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _warm() -> None:
    from aimo_magic.rendering.highlight import highlight_inner
    from aimo_magic.rendering.markdown import render_markdown

    try:
        render_markdown("# a\n\n- b\n\n| c |\n|---|\n| d |\n\n`e` $f$\n")
        for language in COMMON_LANGUAGES:
            highlight_inner("x = 1\n", language)
    except Exception:  # a failed warm-up only means the first render pays instead
        return


def warm_up_in_background() -> None:
    """Start the warm-up once per process; later calls return at once."""
    global _thread
    with _lock:
        if _thread is None:
            thread = threading.Thread(target=_warm, name="aimo-render-warmup", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no threads (Pyodide): the first render pays instead
                return
            _thread = thread


def wait_until_warm(timeout: float = 10.0) -> None:
    """Block until a started warm-up has finished (at once when none is running)."""
    thread = _thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        thread.join(timeout)
