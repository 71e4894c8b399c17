"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aimo_magic.emulator import EmulatorHandle, start
from aimo_magic.emulator.inprocess import InProcessEmulator, start_in_process


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorHandle]:
    """One AiMo emulator on loopback for the session: no latency, no pacing, and every
    model always right on checkable questions (``accuracy=1.0``), so that tests of clients
    see the answers the rules give; tests of the models' own accuracy start their own.

    It is shared: a test that queues faults (``emulator.queue_faults``) must leave the
    queue empty, e.g. by calling ``emulator.clear_faults()`` in a ``finally``.
    """
    with start(accuracy=1.0) as handle:
        yield handle


@pytest.fixture(scope="session")
def in_process_emulator() -> Iterator[InProcessEmulator]:
    """The same emulator with no server: reached through its in-process ASGI transport.

    Not configured (nothing mounted, no environment set): tests pass its transports.
    """
    with start_in_process(accuracy=1.0) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _no_answer_left_held(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test did with an emulator's gate (``hold``), the next test finds it open:
    an answer left held would hang whoever asks next."""
    names = ("emulator", "in_process_emulator", "browser_emulator")
    handles = [request.getfixturevalue(n) for n in names if n in request.fixturenames]
    yield
    for handle in handles:
        handle.release()


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The shared emulator with an empty fault queue and request log, and no faults left."""
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def hostile_server() -> Iterator[str]:
    """A loopback server listing one model whose every name is hostile HTML."""
    from hostile_catalogue import serve_hostile_catalogue

    with serve_hostile_catalogue() as base_url:
        yield base_url
