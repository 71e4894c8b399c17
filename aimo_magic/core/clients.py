"""The one place clients are made: sync and async twins from the same resolved settings.

Every client made here carries the settings' budget (``core.budget``): the session's, so
a cell, a batch, a comparison and a tool loop all pass the same spending cap.

Every path gets its client here: a cell through ``ClientKeeper`` (one client, reused
while its settings stay the same, so its connections are kept warm), a batch and a
comparison through ``new_async_client`` (each on its own event loop), and a model list
asked outside a session through ``new_client``. The settings come from a
``Resolution`` (``core.resolution``); ``options`` override a setting for one use (a
batch makes one try per request: its engine does the retrying).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.async_client import AsyncClient
    from aimo_magic.core.base import CacheErrorHook
    from aimo_magic.core.client import Client
    from aimo_magic.core.config import Settings
    from aimo_magic.core.types import Model


def client_arguments(settings: Settings, **options: Any) -> dict[str, Any]:
    """What both twins are built from: the resolved settings, then ``options``."""
    return {
        "api_key": settings.api_key,
        "base_url": settings.base_url,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "max_retry_wait": settings.max_retry_wait,
        "model": settings.model,
        "price_unit": settings.price_unit,
        "budget": settings.budget,
        **options,
    }


def new_client(
    settings: Settings, *, catalogue: Sequence[Model] | None = None, **options: Any
) -> Client:
    """A ``Client`` for these settings; ``catalogue`` names the providers of its answers."""
    from aimo_magic.core.client import Client

    client = Client(**client_arguments(settings, **options))
    if catalogue is not None:
        client.catalogue = list(catalogue)
    return client


def new_async_client(
    settings: Settings, *, catalogue: Sequence[Model] | None = None, **options: Any
) -> AsyncClient:
    """The ``AsyncClient`` twin of ``new_client``."""
    from aimo_magic.core.async_client import AsyncClient

    client = AsyncClient(**client_arguments(settings, **options))
    if catalogue is not None:
        client.catalogue = list(catalogue)
    return client


class ClientKeeper:
    """One ``Client``, reused while its settings stay the same; a change makes a new one."""

    def __init__(self, on_cache_error: CacheErrorHook | None = None) -> None:
        self._on_cache_error = on_cache_error
        self._client: Client | None = None
        self._settings: Settings | None = None

    @property
    def current(self) -> Client | None:
        return self._client

    def client(self, settings: Settings) -> Client:
        if self._client is None or self._settings != settings:
            self.close()
            self._client = new_client(settings, on_cache_error=self._on_cache_error)
            self._settings = settings
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._settings = None
