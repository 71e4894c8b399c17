"""A model listing whose every name is hostile HTML, served from a real loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_KEY = "Evi1Key1111111111111111111111111111111111111"
HOSTILE_CATALOGUE = {
    "data": [
        {
            "name": HOSTILE_NAME,
            "display_name": "<script>alert(2)</script>\nEvil",
            "providers": [
                {
                    "id": HOSTILE_KEY,
                    "name": "<b onmouseover=alert(3)>prov</b>",
                    "pricing": {"prompt": 1, "completion": 2},
                }
            ],
            "context_length": 4096,
            "architecture": {"input_modalities": ["<svg onload=alert(4)>"]},
        }
    ]
}


@contextmanager
def serve_hostile_catalogue() -> Iterator[str]:
    """A base URL whose ``GET`` answers are ``HOSTILE_CATALOGUE``."""
    body = json.dumps(HOSTILE_CATALOGUE).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
