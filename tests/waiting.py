"""Waiting for an event in another thread or process: the only way tests wait.

A test never sleeps for a guessed time and never bounds how long something may take: on a
busy machine any guess is wrong. It waits until what it needs has happened (a server has
received or holds so many requests, a cell has shown some text), checked every few
milliseconds. The timeout only bounds a failure; a passing run never reaches it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CHECK_EVERY_S = 0.005
FAILURE_AFTER_S = 60.0


def wait_until(
    condition: Callable[[], object], what: str, timeout: float = FAILURE_AFTER_S
) -> None:
    """Return as soon as ``condition()`` is true; fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s in vain until {what}")
        time.sleep(CHECK_EVERY_S)
