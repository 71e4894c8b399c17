"""Waiting for an event in another thread or process: the only way tests wait.

A test never sleeps for a guessed time and never bounds how long something may take: on a
busy machine any guess is wrong. It waits until what it needs has happened (a server has
received or holds so many requests, a cell has shown some text), checked every few
milliseconds. The timeout only bounds a failure; a passing run never reaches it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aimo_magic.emulator import EmulatorHandle

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


def count_in_flight_afresh(emulator: EmulatorHandle) -> None:
    """Start the emulator's high-water mark of requests in flight (``max_in_flight``) from
    none: streams an earlier test cut may still be closing at the server."""
    wait_until(lambda: emulator.in_flight == 0, "no request of an earlier test is in flight")
    emulator.reset_in_flight()
