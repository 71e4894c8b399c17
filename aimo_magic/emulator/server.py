"""Running the emulator in a background thread, for tests, notebooks and demos."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aimo_magic.emulator.settings import EmulatorSettings, ModelsShape, is_loopback

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


class EmulatorHandle:
    """A running emulator: where to reach it, with which key, and how to stop it."""

    def __init__(
        self,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
        settings: EmulatorSettings,
        state: EmulatorState,
    ) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        self._state = state
        self.settings = settings
        self.port: int = sock.getsockname()[1]
        self.base_url = f"http://{_url_host(sock)}:{self.port}/api"
        self.api_key = settings.api_key

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point a client at this emulator."""
        return {"AIMO_BASE_URL": self.base_url, "AIMO_API_KEY": self.api_key}

    def queue_faults(self, *specs: str) -> None:
        """Queue fault specs, consumed one per chat request (see ``faults``)."""
        self._state.queue_faults(specs)

    def clear_faults(self) -> None:
        self._state.clear_faults()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Chat requests received so far (authorization redacted), oldest first."""
        return self._state.requests()

    def clear_requests(self) -> None:
        self._state.clear_requests()

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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"EmulatorHandle(base_url={self.base_url!r}, api_key='{self.api_key[:11]}…', {state})"
        )


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
) -> EmulatorHandle:
    """Serve an emulator on loopback from a daemon thread; returns once it answers.

    ``models_shape="openai"`` lists models without prices or modalities, as
    OpenAI-compatible servers do.
    """
    import uvicorn

    from aimo_magic.emulator.app import create_app

    settings = EmulatorSettings(
        latency_ms=latency_ms,
        tokens_per_second=tokens_per_second,
        catalogue_size=catalogue_size,
        models_shape=models_shape,
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
