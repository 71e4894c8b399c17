"""Transports mounted in-process for a base URL: how a client reaches a server with no socket.

Where no socket server can run (Pyodide in a browser tab), something in the same
process can answer instead, through an httpx2 transport. Whoever starts such a
server mounts its transports here for its base URL; every client built for that URL
afterwards (the magics', ``aimo_magic.Client()``) uses them, so pointing
``AIMO_BASE_URL`` at it is all the configuration there is. The core knows nothing of
what answers: only a URL prefix and two transports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx2


@dataclass(frozen=True)
class Mounted:
    """The sync and async transports that answer one base URL."""

    base_url: str
    transport: httpx2.BaseTransport
    async_transport: httpx2.AsyncBaseTransport


_lock = threading.Lock()
_mounted: dict[str, Mounted] = {}


def _key(base_url: str) -> str:
    return base_url.rstrip("/")


def mount(
    base_url: str,
    transport: httpx2.BaseTransport,
    async_transport: httpx2.AsyncBaseTransport,
) -> None:
    """Route clients for ``base_url`` (and paths below it) through these transports."""
    with _lock:
        _mounted[_key(base_url)] = Mounted(_key(base_url), transport, async_transport)


def unmount(base_url: str) -> None:
    """Forget the transports for ``base_url``; clients built later connect normally."""
    with _lock:
        _mounted.pop(_key(base_url), None)


def mounted_for(base_url: str) -> Mounted | None:
    """The transports mounted for ``base_url`` or a prefix of it, if any."""
    url = _key(base_url)
    with _lock:
        for prefix, entry in _mounted.items():
            if url == prefix or url.startswith(prefix + "/"):
                return entry
    return None
