"""Paying the renderer's one-time costs while the first answer is still on its way.

Building the markdown parser and pygments' lexers takes a few hundred milliseconds
once per process; done mid-stream it shows as a stall in the first answer. The
request's wait for its first token is idle time for the kernel, so spend it here.
"""

from __future__ import annotations

import threading

COMMON_LANGUAGES = ("python", "javascript", "sql", "bash", "json")
_started = threading.Event()


def _warm() -> None:
    from aimo_magic.rendering.highlight import highlight_inner
    from aimo_magic.rendering.markdown import render_markdown

    render_markdown("# a\n\n- b\n\n| c |\n|---|\n| d |\n\n`e` $f$\n")
    for language in COMMON_LANGUAGES:
        highlight_inner("x = 1\n", language)


def warm_up_in_background() -> None:
    """Start the warm-up once per process; later calls return at once."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_warm, name="aimo-render-warmup", daemon=True).start()
