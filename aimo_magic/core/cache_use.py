"""How a client uses the answer cache: open it, look an answer up, remember a new one.

Shared by the sync and async clients (the async one runs these calls in a worker
thread, because SQLite may wait on another process's write lock). A cache that
turns out to be unusable is reported once and dropped; the request goes on as if
there had never been a cache.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, Union

from aimo_magic.core.cache import AnswerCache, CacheUnavailableError, cache_key
from aimo_magic.core.config import Settings
from aimo_magic.core.types import ChatResult, Timings

CacheChoice = Union[bool, str, "os.PathLike[str]", AnswerCache, None]


class BaseClient(Protocol):
    """What this module needs of a client; a protocol, so the client module can import
    this one without a cycle."""

    cache: AnswerCache | None
    settings: Settings
    on_cache_error: Callable[[CacheUnavailableError], Any] | None

    @property
    def base_url(self) -> str: ...


class CacheWarning(UserWarning):
    """The answer cache could not be used and is off for this client."""


def open_cache(choice: CacheChoice, client: BaseClient) -> AnswerCache | None:
    """The store a client's ``cache=`` argument names: True for the default place, a
    path, or an :class:`AnswerCache` to share; None or False for none."""
    if choice is None or choice is False:
        return None
    if isinstance(choice, AnswerCache):
        return choice
    try:
        return AnswerCache(None if choice is True else choice)
    except CacheUnavailableError as exc:
        report_unusable(client, exc)
        return None


def report_unusable(
    client: BaseClient, exc: CacheUnavailableError, store: AnswerCache | None = None
) -> None:
    """Drop the cache and say so once: to ``on_cache_error`` if given, else as a warning.

    ``store`` is the one that failed; if the client already dropped it, nothing is said.
    """
    if store is not None and client.cache is not store:
        return
    client.cache = None
    if client.on_cache_error is not None:
        client.on_cache_error(exc)
    else:
        warnings.warn(str(exc), CacheWarning, stacklevel=4)


def request_params(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("model", "messages")}


def as_read(stored: ChatResult, started: float) -> ChatResult:
    """A stored answer timed as the read that found it (begun at ``perf_counter``
    ``started``): what a cell that got it from the cache waited."""
    elapsed = time.perf_counter() - started
    return replace(stored, timings=Timings(first_token=elapsed, total=elapsed))


class CacheUse:
    """The cache's part in one request: its key, the lookup, storing the answer."""

    def __init__(self, client: BaseClient, store: AnswerCache, model: str, body: dict[str, Any]):
        self._client = client
        self._store = store
        self._model = model
        self.key = cache_key(client.base_url, model, body["messages"], request_params(body))

    def lookup(self) -> ChatResult | None:
        """The stored answer, with the timings measured when it was first answered, or
        None (a miss, or no usable cache); :func:`as_read` times it as this lookup."""
        try:
            found = self._store.get(self.key)
        except CacheUnavailableError as exc:
            report_unusable(self._client, exc, self._store)
            return None
        return found.result if found is not None else None

    def remember(self, result: ChatResult | None) -> None:
        """Store a complete answer (the store refuses partial ones); never one that
        carries the API key, which would then sit in a file."""
        key = self._client.settings.api_key
        if result is None or self._client.cache is None:
            return
        if key and (key in result.text or any(key in c.arguments for c in result.tool_calls)):
            return
        try:
            self._store.put(self.key, result, model=self._model)
        except CacheUnavailableError as exc:
            report_unusable(self._client, exc, self._store)
