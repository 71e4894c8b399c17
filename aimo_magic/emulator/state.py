"""What a running emulator remembers: queued faults, a log of the requests it saw, how
many chat requests it has had in flight at once (for tests of clients' concurrency), and
the gate that holds answers while a test acts (``gate``).

Both are read and written from the server's event loop and from the thread that holds
the EmulatorHandle, hence the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from aimo_magic.emulator.faults import parse_fault_spec
from aimo_magic.emulator.gate import AnswerGate
from aimo_magic.emulator.inflight import InFlight
from aimo_magic.emulator.providers import ProviderCounts, ProviderProfiles
from aimo_magic.emulator.served_models import Catalogue, build_catalogue
from aimo_magic.emulator.settings import EmulatorSettings

REQUEST_LOG_SIZE = 1000


class EmulatorState:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.catalogue = Catalogue(
            build_catalogue(settings.catalogue_size, settings.serve, settings.providers)
        )
        self.providers = ProviderCounts()
        self.profiles = ProviderProfiles(settings.providers)
        self._lock = threading.Lock()
        self._faults: deque[str] = deque()
        self._requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.in_flight = InFlight()
        self.gate = AnswerGate()

    def queue_faults(self, specs: Iterable[str]) -> None:
        """Queue fault specs for the next chat requests, one each; raises on a bad spec."""
        specs = list(specs)
        for spec in specs:
            parse_fault_spec(spec)
        with self._lock:
            self._faults.extend(specs)

    def next_fault(self) -> str:
        with self._lock:
            return self._faults.popleft() if self._faults else ""

    def queued_faults(self) -> list[str]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
