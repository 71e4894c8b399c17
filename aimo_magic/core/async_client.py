"""The asynchronous twin of Client: the same surface with ``await`` and ``async for``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any

import httpx2

from aimo_magic.core.base import BaseClient, RetryHook
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.errors import AimoError
from aimo_magic.core.protocol import Messages
from aimo_magic.core.stream_state import StreamState, event_source, is_event_stream
from aimo_magic.core.types import ChatResult, Model


class AsyncClient(BaseClient):
    """Talks to AiMo from asyncio code; mirrors :class:`aimo_magic.Client`."""

    def __init__(self, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)
        self._http = httpx2.AsyncClient(**self._http_options(asynchronous=True))

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        self._close_cache()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        auth: bool = True,
        request_id: str | None = None,
    ) -> Any:
        request_id = request_id or self._new_request_id()
        retries = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    self._url(path),
                    json=json,
                    headers=self._request_headers(request_id, auth),
                )
                return self._payload(response, request_id)
            except httpx2.HTTPError as exc:
                error: AimoError = self._transport_error(exc, "", started=False)
            except AimoError as exc:
                error = exc
            await asyncio.sleep(self._next_delay(error, retries))
            retries += 1

    async def models(self) -> list[Model]:
        payload = await self._send("GET", "models", auth=bool(self.settings.api_key))
        self.catalogue = parse_catalogue(payload)
        return self.catalogue

    async def chat(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> ChatResult:
        # SQLite may wait for another process's write lock: off the event loop.
        chosen, body = self._chat_request(messages, model, params)
        use = self._cache_use(chosen, body, cache)
        hit = await asyncio.to_thread(use.lookup) if use else None
        if hit is not None:
            return hit
        request_id, started = self._new_request_id(), time.perf_counter()
        payload = await self._send("POST", "chat/completions", json=body, request_id=request_id)
        result = self._chat_result(payload, chosen, started, request_id)
        if use:
            await asyncio.to_thread(use.remember, result)
        return result

    def stream(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> AsyncChatStream:
        """``async with client.stream(...) as s: async for delta in s: ...``"""
        chosen = self._model_for(model)
        return AsyncChatStream(self, messages, chosen, params, on_retry or self.on_retry, cache)


class AsyncChatStream(StreamState):
    """One streamed answer, retried whole when the stream fails part-way."""

    def __init__(
        self,
        client: AsyncClient,
        messages: str | Messages,
        model: str,
        params: dict[str, Any],
        on_retry: RetryHook | None,
        cache: bool | None = None,
    ) -> None:
        super().__init__(client, messages, model, params, on_retry, cache)
        self._http = client._http
        self._iterator: AsyncGenerator[str, None] | None = None

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[str]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def until_done(self) -> ChatResult:
        async for _ in self:
            pass
        assert self.result is not None
        return self.result

    async def _run(self) -> AsyncGenerator[str, None]:
        hit = await asyncio.to_thread(self._cache.lookup) if self._cache else None
        if hit is not None:
            yield self._replay(hit)
            return
        url = self._client._url("chat/completions")
        while True:
            accumulator, headers = self._begin_attempt()
            retry_headers: httpx2.Headers | None = None
            receiving = False
            try:
                async with self._http.stream(
                    "POST", url, json=self._body, headers=headers
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        retry_headers = response.headers
                        raise self._status_error(response)
                    receiving = True
                    if not is_event_stream(response):
                        await response.aread()
                        text = self._finish_plain(response)
                        if text:
                            yield text
                        return
                    async for event in event_source(response):
                        delta = accumulator.feed(event.data)
                        if delta:
                            self._note_delta(delta)
                            yield delta
                        if accumulator.done:
                            break
                    self._check_complete()
            except httpx2.HTTPError as exc:
                if self._finished_before(exc, receiving):
                    self._finish()
                    return
                error: AimoError = self._transport_error(exc, receiving)
            except AimoError as exc:
                if self._drop_stream_options(exc):
                    continue
                error = exc
            else:
                self._finish()
                if self._cache:
                    await asyncio.to_thread(self._cache.remember, self.result)
                return
            await asyncio.sleep(self._plan_retry(error, retry_headers))
