"""Real loopback servers shaped like the other OpenAI-compatible servers people point us at.

Each is the emulator's app behind a small ASGI wrapper that changes only the model
list: absent (404), failing (500), or listing other models than it serves (as
LiteLLM's wildcard routes do). Chat requests reach the emulator unchanged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from aimo_magic.emulator.app import create_app
from aimo_magic.emulator.server import bind_loopback

Listing = str | list[str]  # "absent", "failing", or the ids the list names


class ModelsServer:
    """The emulator's app, with ``/v1/models`` answered as ``listing`` says."""

    def __init__(self, listing: Listing) -> None:
        self.listing = listing
        self.inner = create_app()
        self.base_url = ""
        self.model_lists = 0  # how many times the model list was asked for

    def requests(self) -> list[dict[str, Any]]:
        """Chat requests received, oldest first."""
        return self.inner.state.emulator.requests()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/v1/models"):
            await self.inner(scope, receive, send)
            return
        self.model_lists += 1
        if self.listing == "absent":
            status, body, kind = 404, b"Not Found", b"text/plain"
        elif self.listing == "failing":
            status, body, kind = 500, b'{"error": "model list unavailable"}', b"application/json"
        else:
            data = [{"id": name, "object": "model", "owned_by": "proxy"} for name in self.listing]
            status, kind = 200, b"application/json"
            body = json.dumps({"object": "list", "data": data}).encode()
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def serve_models(listing: Listing) -> Iterator[ModelsServer]:
    """A server on loopback whose chat is the emulator's and whose model list is ``listing``."""
    app = ModelsServer(listing)
    sock = bind_loopback("127.0.0.1", 0)
    config = uvicorn.Config(app, http="h11", lifespan="off", log_config=None, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fixture server did not start")
        time.sleep(0.01)
    app.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
