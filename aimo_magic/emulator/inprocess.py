"""The emulator with no server: its ASGI app answers through an in-process transport.

Where no socket server can run (Pyodide in a browser tab, JupyterLite), the same
Starlette app is reached through ``StreamingASGITransport``: no uvicorn, no port, no
network, and answers still stream piece by piece. The handle looks like
``start()``'s (``base_url``, ``env``, faults, the request log) and adds the two
transports; ``configure()`` also mounts them for ``base_url`` in the core, so every
client built for that URL afterwards, ``%%aimo`` included, reaches this emulator.

The base URL's host ends in ``.invalid``, a name that never resolves: a client that
somehow misses the mount fails to connect instead of reaching anything real.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import httpx2

from aimo_magic.emulator.asgi_transport import (
    AsyncStreamingASGITransport,
    Runner,
    StreamingASGITransport,
)
from aimo_magic.emulator.handle import BaseHandle
from aimo_magic.emulator.runners import JSPIRunner, ThreadRunner, default_runner
from aimo_magic.emulator.settings import EmulatorSettings, Timing

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from aimo_magic.emulator.providers import ProviderChoice, ServeChoice
    from aimo_magic.emulator.state import EmulatorState

_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


def _base_url() -> str:
    with _numbers_lock:
        number = next(_numbers)
    host = "aimo-emulator.invalid" if number == 1 else f"aimo-emulator-{number}.invalid"
    return f"http://{host}/api"


class _Stoppable:
    """Wraps a runner so requests after ``stop()`` fail like a server that has gone."""

    def __init__(self, runner: ThreadRunner | JSPIRunner) -> None:
        self.runner = runner
        self.stopped = False

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        if self.stopped:
            if hasattr(coroutine, "close"):
                coroutine.close()
            raise httpx2.ConnectError("The in-process AiMo emulator was stopped")
        return self.runner.run(coroutine)


class _StoppableAsync(AsyncStreamingASGITransport):
    def __init__(self, app: Starlette, gate: _Stoppable) -> None:
        super().__init__(app)
        self._gate = gate

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._gate.stopped:
            raise httpx2.ConnectError("The in-process AiMo emulator was stopped")
        return await super().handle_async_request(request)


class InProcessEmulator(BaseHandle):
    """An emulator answering through transports in this process (no socket, no server)."""

    in_process = True

    def __init__(
        self,
        app: Starlette,
        runner: ThreadRunner | JSPIRunner,
        settings: EmulatorSettings,
        state: EmulatorState,
    ) -> None:
        super().__init__(settings, state)
        self.app = app
        self.base_url = _base_url()
        self._gate = _Stoppable(runner)
        gate: Runner = self._gate
        self.transport: httpx2.BaseTransport = StreamingASGITransport(app, gate)
        self.async_transport: httpx2.AsyncBaseTransport = _StoppableAsync(app, self._gate)

    def configure(self) -> InProcessEmulator:
        """Set ``AIMO_BASE_URL``/``AIMO_API_KEY`` and mount the transports for the URL."""
        from aimo_magic.core.transports import mount

        mount(self.base_url, self.transport, self.async_transport)
        super().configure()
        return self

    @property
    def running(self) -> bool:
        return not self._gate.stopped and self._gate.runner.running

    def stop(self) -> None:
        """Refuse new requests, cancel the ones in flight, and end the loop thread if any."""
        if self._gate.stopped:
            return
        self._gate.stopped = True
        self._gate.runner.stop()
        from aimo_magic.core.transports import unmount

        unmount(self.base_url)

    def __enter__(self) -> InProcessEmulator:
        return self


def start_in_process(
    *,
    latency_ms: float = 0,
    tokens_per_second: float | None = None,
    catalogue_size: int | None = None,
    runner: ThreadRunner | JSPIRunner | None = None,
    providers: Iterable[ProviderChoice] = (),
    serve: Iterable[ServeChoice] = (),
    accuracy: float | None = None,
    timing: Timing = "uniform",
) -> InProcessEmulator:
    """An emulator reachable without sockets; call ``.configure()`` to point clients at it.

    ``runner`` is how the sync transport waits: by default a loop thread on CPython and
    JSPI in Pyodide; the other settings as for ``start()``.
    """
    from aimo_magic.emulator.app import create_app
    from aimo_magic.emulator.providers import profiles_of, served_of

    settings = EmulatorSettings(
        latency_ms=latency_ms,
        tokens_per_second=tokens_per_second,
        catalogue_size=catalogue_size,
        providers=profiles_of(providers),
        serve=served_of(serve),
        accuracy=accuracy,
        timing=timing,
    )
    app = create_app(settings)
    return InProcessEmulator(app, runner or default_runner(), settings, app.state.emulator)
