"""httpx2 transports that hand requests to an ASGI app in this process, streaming included.

httpx2's own ``ASGITransport`` is async only and gathers the whole body before it
returns, so a streamed answer would arrive in one piece at the end. These transports
pass each ``http.response.body`` message on as it is sent, so ``%%aimo`` shows the
answer growing exactly as it does over a socket, and they behave like a server where
it matters to a client:

* an app that fails before its response starts gives a 500, as uvicorn does;
* an app that fails part-way (``disconnect_after``) or stops without finishing its body
  gives ``httpx2.RemoteProtocolError``, as a dropped connection does;
* a body piece slower than the read timeout gives ``httpx2.ReadTimeout``;
* a client that closes the response early gets the app cancelled.

The sync transport needs a way to wait for a coroutine from synchronous code: a
``Runner`` (see ``aimo_magic.emulator.runners``). The async one runs the app on the
caller's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any, Protocol, TypeVar

import httpx2

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]
T = TypeVar("T")
logger = logging.getLogger(__name__)

BODY_BUFFER = 64  # body pieces held before the app waits for the client (back-pressure)
_END = object()
_INTERNAL_ERROR = (
    500,
    [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")],
    b"Internal Server Error",
)


class Runner(Protocol):
    """Runs a coroutine to completion from synchronous code and returns its result."""

    def run(self, coroutine: Awaitable[T]) -> T: ...


def _scope(request: httpx2.Request, client: tuple[str, int]) -> dict[str, Any]:
    url = request.url
    return {
        "type": "http",
        # 2.4: apps need not listen for http.disconnect; a closed client shows as OSError.
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "client": client,
    }


def _read_timeout(request: httpx2.Request) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    value = timeouts.get("read")
    return float(value) if value else None


class Exchange:
    """One request and its response between a client and the app, on one event loop."""

    def __init__(
        self, app: ASGIApp, scope: dict[str, Any], body: bytes, read_timeout: float | None
    ):
        self._app = app
        self._scope = scope
        self._body = body
        self._read_timeout = read_timeout
        self._queue: asyncio.Queue[Any] | None = None
        self._closed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._request_sent = False
        self._ended = False

    async def _receive(self) -> Message:
        assert self._closed is not None
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        await self._closed.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        assert self._queue is not None and self._closed is not None
        if self._closed.is_set():
            raise OSError("the client closed the response")
        await self._queue.put(message)

    async def _serve(self) -> None:
        assert self._queue is not None
        try:
            await self._app(self._scope, self._receive, self._send)
        except Exception as exc:  # the app's failure is the client's broken connection
            logger.debug("ASGI app failed in-process", exc_info=True)
            await self._queue.put(exc)
            return
        await self._queue.put(_END)

    async def start(self) -> tuple[int, list[tuple[bytes, bytes]], bytes | None]:
        """Run the app until its response starts: status, headers, and a whole body if the
        app failed before starting (then the answer is uvicorn's plain 500)."""
        self._queue = asyncio.Queue(BODY_BUFFER)
        self._closed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._serve())
        first = await self._next()
        if isinstance(first, dict) and first.get("type") == "http.response.start":
            headers = [(bytes(k), bytes(v)) for k, v in first.get("headers", [])]
            return int(first["status"]), headers, None
        self._ended = True
        status, headers, body = _INTERNAL_ERROR
        return status, headers, body

    async def _next(self) -> Any:
        """The app's next message, within the read timeout as a socket read would be."""
        assert self._queue is not None
        try:
            return await asyncio.wait_for(self._queue.get(), self._read_timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise httpx2.ReadTimeout("No data from the app within the read timeout") from None

    async def next_piece(self) -> bytes | None:
        """The next piece of the body, or None at its end."""
        assert self._queue is not None
        while not self._ended:
            item = await self._next()
            if isinstance(item, dict) and item.get("type") == "http.response.body":
                if not item.get("more_body", False):
                    self._ended = True
                if item.get("body"):
                    return bytes(item["body"])
                continue
            self._ended = True
            raise httpx2.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )
        return None

    async def close(self) -> None:
        """The client is done (or gave up): tell the app, and cancel it if still running."""
        if self._closed is not None:
            self._closed.set()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class _SyncBody(httpx2.SyncByteStream):
    def __init__(self, exchange: Exchange, runner: Runner) -> None:
        self._exchange = exchange
        self._runner = runner

    def __iter__(self) -> Iterator[bytes]:
        while (piece := self._runner.run(self._exchange.next_piece())) is not None:
            yield piece

    def close(self) -> None:
        self._runner.run(self._exchange.close())


class _AsyncBody(httpx2.AsyncByteStream):
    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (piece := await self._exchange.next_piece()) is not None:
            yield piece

    async def aclose(self) -> None:
        await self._exchange.close()


class StreamingASGITransport(httpx2.BaseTransport):
    """A synchronous httpx2 transport into an ASGI app, each body piece as it is sent."""

    def __init__(
        self, app: ASGIApp, runner: Runner, client: tuple[str, int] = ("127.0.0.1", 0)
    ) -> None:
        self.app = app
        self.runner = runner
        self.client = client

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        exchange = Exchange(self.app, _scope(request, self.client), body, _read_timeout(request))
        status, headers, whole = self.runner.run(exchange.start())
        if whole is not None:
            return httpx2.Response(status, headers=headers, content=whole)
        return httpx2.Response(status, headers=headers, stream=_SyncBody(exchange, self.runner))

    def close(self) -> None:
        """Nothing to release: the app belongs to whoever made this transport."""


class AsyncStreamingASGITransport(httpx2.AsyncBaseTransport):
    """The async twin: the app runs as a task on the caller's event loop."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        exchange = Exchange(self.app, _scope(request, self.client), body, _read_timeout(request))
        status, headers, whole = await exchange.start()
        if whole is not None:
            return httpx2.Response(status, headers=headers, content=whole)
        return httpx2.Response(status, headers=headers, stream=_AsyncBody(exchange))

    async def aclose(self) -> None:
        """Nothing to release: the app belongs to whoever made this transport."""
