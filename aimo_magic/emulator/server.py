"""Running the emulator in a background thread, for tests, notebooks and demos."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aimo_magic.emulator.handle import BaseHandle
from aimo_magic.emulator.providers import ProviderChoice, ServeChoice, profiles_of, served_of
from aimo_magic.emulator.settings import EmulatorSettings, ModelsShape, Timing, is_loopback

if TYPE_CHECKING:
    import uvicorn

    from aimo_magic.emulator.state import EmulatorState

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def bind_loopback(host: str, port: int) -> socket.socket:
    """A listening socket on a loopback address; any other host is refused."""
    if not is_loopback(host):
        raise ValueError(
            f"The emulator only listens on loopback; host {host!r} is not. "
            "Use 127.0.0.1, ::1 or localhost."
        )
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"Cannot listen on {host} port {port} ({exc.strerror}): "
            "pick another port, or port 0 for any free one."
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url_host(sock: socket.socket) -> str:
    host = sock.getsockname()[0]
    return f"[{host}]" if ":" in host else host


class EmulatorHandle(BaseHandle):
    """A running emulator served on loopback by uvicorn from a daemon thread."""

    def __init__(
        self,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
        settings: EmulatorSettings,
        state: EmulatorState,
    ) -> None:
        super().__init__(settings, state)
        self._server = server
        self._thread = thread
        self._socket = sock
        self.port: int = sock.getsockname()[1]
        self.base_url = f"http://{_url_host(sock)}:{self.port}/api"

    def configure(self) -> EmulatorHandle:
        super().configure()
        return self

    @property
    def max_in_flight(self) -> int:
        """The most chat requests served at once since the start or ``reset_in_flight``."""
        return self._state.in_flight.most

    def reset_in_flight(self) -> None:
        self._state.in_flight.reset()

    @property
    def in_flight(self) -> int:
        """Chat requests being served right now."""
        return self._state.in_flight.current

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and wait for the thread; open streams are cut after a grace period."""
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(STOP_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> EmulatorHandle:
        return self


def _wait_until_answering(
    server: uvicorn.Server, thread: threading.Thread, sock: socket.socket
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("The AiMo emulator did not start; see the log above for why.")
        time.sleep(0.005)
    host, port = sock.getsockname()[:2]
    connection = http.client.HTTPConnection(host, port, timeout=START_TIMEOUT_S)
    try:
        connection.request("GET", "/api/_emulator/health")
        connection.getresponse().read()
    finally:
        connection.close()


def start(
    *,
    port: int = 0,
    latency_ms: float = 0,
    tokens_per_second: float | None = None,
    catalogue_size: int | None = None,
    host: str = "127.0.0.1",
    models_shape: ModelsShape = "aimo",
    providers: Iterable[ProviderChoice] = (),
    serve: Iterable[ServeChoice] = (),
    accuracy: float | None = None,
    timing: Timing = "uniform",
) -> EmulatorHandle:
    """Serve an emulator on loopback from a daemon thread; returns once it answers.

    ``models_shape="openai"`` lists models without prices or modalities, as
    OpenAI-compatible servers do. ``providers`` (profiles or specs such as
    ``"fast;latency_ms=100;max_in_flight=16"``) give providers their own behaviour;
    ``serve`` (``"demo/model=fast,slow"``) adds models served by named providers.
    ``accuracy=1.0`` makes every model right on checkable questions (None: each its own);
    ``timing="varied"`` gives each model and provider its own share of the latency and pace.
    """
    import uvicorn

    from aimo_magic.emulator.app import create_app

    settings = EmulatorSettings(
        latency_ms=latency_ms,
        tokens_per_second=tokens_per_second,
        catalogue_size=catalogue_size,
        models_shape=models_shape,
        providers=profiles_of(providers),
        serve=served_of(serve),
        accuracy=accuracy,
        timing=timing,
    )
    app = create_app(settings)
    sock = bind_loopback(host, port)
    config = uvicorn.Config(
        app,
        http="h11",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="aimo-emulator", daemon=True
    )
    thread.start()
    try:
        _wait_until_answering(server, thread, sock)
    except BaseException:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        sock.close()
        raise
    return EmulatorHandle(server, thread, sock, settings, app.state.emulator)
