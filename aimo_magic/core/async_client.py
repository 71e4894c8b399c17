"""The asynchronous twin of Client: the same surface with ``await`` and ``async for``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, cast, overload

import httpx2

from aimo_magic.core.base import BaseClient, RetryHook, new_request_id, transport_error
from aimo_magic.core.budget import Ticket
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.errors import AimoError
from aimo_magic.core.fallback import AsyncFallbackStream, FallbackHook
from aimo_magic.core.protocol import Messages
from aimo_magic.core.retry import StreamRestart
from aimo_magic.core.stream_state import StreamState, Yielded, event_source, is_event_stream
from aimo_magic.core.types import ChatResult, Model

if TYPE_CHECKING:
    from aimo_magic.core.routing import Hop


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
        on_retry: RetryHook | None = None,
    ) -> Any:
        request_id = request_id or new_request_id()
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
                error: AimoError = transport_error(exc, self.settings, started=False)
            except AimoError as exc:
                error = exc
            await asyncio.sleep(self._retry_delay(error, retries, on_retry))
            retries += 1

    def open_event_stream(
        self, body: dict[str, Any], request_id: str
    ) -> AbstractAsyncContextManager[httpx2.Response]:
        """POST a chat body that asks for a stream; httpx2's response, as a context manager.

        The one door ``AsyncChatStream`` uses to reach the server; not needed otherwise.
        """
        url, headers = self._url("chat/completions"), self._stream_headers(request_id)
        return self._http.stream("POST", url, json=body, headers=headers)

    async def admit(self, body: dict[str, Any]) -> Ticket:
        """The budget's hold for one request about to be sent: ``Client.admit``'s twin."""
        if self._needs_prices():
            try:
                await self.models()
            except AimoError:
                self._prices_unavailable = True
        return self._reserve(body)

    async def models(self) -> list[Model]:
        payload = self._recorded_models()
        if payload is None:
            payload = self._listed(
                await self._send(
                    "GET", "models", auth=bool(self.settings.api_key), on_retry=self.on_retry
                )
            )
        self.catalogue = parse_catalogue(payload)
        return self.catalogue

    async def chat(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        cache: bool | None = None,
        route: str | None = None,
        max_price: float | None = None,
        fallback: str | Sequence[str] | None = None,
        on_fallback: FallbackHook | None = None,
        **params: Any,
    ) -> ChatResult:
        """The same contract as :meth:`Client.chat` (``route``, ``max_price``, ``fallback``
        included)."""
        routing = self._routing(route, max_price, fallback)
        if routing is None:
            return await self.chat_direct(
                messages, model=model, on_retry=on_retry, cache=cache, **params
            )
        from aimo_magic.core import fallback as runner

        hops = self._plan(messages, model, params, await self._listed_models(), routing)
        return await runner.achat(
            self,
            hops,
            messages,
            on_retry=on_retry or self.on_retry,
            on_fallback=on_fallback,
            cache=cache,
            **params,
        )

    async def _listed_models(self) -> list[Model] | None:
        """The catalogue, fetched once for routing; None when the server lists none."""
        if self.catalogue is None:
            try:
                await self.models()
            except AimoError:
                return None
        return self.catalogue

    async def chat_direct(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> ChatResult:
        """One answer from exactly ``model`` as given: no route, no fallback."""
        # SQLite may wait for another process's write lock: off the event loop.
        chosen, body = self._chat_request(messages, model, params)
        use = self._answer_use(chosen, body, cache, params)
        hit = await asyncio.to_thread(use.lookup) if use else None
        if hit is not None:
            return hit
        with await self.admit(body) as ticket:
            request_id, started = new_request_id(), time.perf_counter()
            payload = await self._send(
                "POST",
                "chat/completions",
                json=body,
                request_id=request_id,
                on_retry=on_retry or self.on_retry,
            )
            result = self._chat_result(payload, chosen, started, request_id)
            ticket.settle(self.cost_of(result, body))
        if use:
            await asyncio.to_thread(use.remember, result)
        return result

    @overload
    def stream(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        restart: Literal[False] = False,
        cache: bool | None = None,
        route: str | None = None,
        max_price: float | None = None,
        fallback: str | Sequence[str] | None = None,
        on_fallback: FallbackHook | None = None,
        **params: Any,
    ) -> AsyncChatStream[str] | AsyncFallbackStream[str]: ...

    @overload
    def stream(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        restart: bool,
        cache: bool | None = None,
        route: str | None = None,
        max_price: float | None = None,
        fallback: str | Sequence[str] | None = None,
        on_fallback: FallbackHook | None = None,
        **params: Any,
    ) -> AsyncChatStream[str | StreamRestart] | AsyncFallbackStream[str | StreamRestart]: ...

    def stream(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        restart: bool = False,
        cache: bool | None = None,
        route: str | None = None,
        max_price: float | None = None,
        fallback: str | Sequence[str] | None = None,
        on_fallback: FallbackHook | None = None,
        **params: Any,
    ) -> AsyncChatStream[Any] | AsyncFallbackStream[Any]:
        """``async with client.stream(...) as s: async for delta in s: ...``; the same
        contract as :meth:`Client.stream` (``restart=True`` to have a broken answer start
        over; ``route``, ``max_price``, ``fallback`` as for ``chat``).

        A route needs the catalogue: when it has not been listed yet, the stream lists
        it as it starts (opening one cannot wait), so a route error then comes from the
        first ``async for`` rather than from this call.
        """
        routing = self._routing(route, max_price, fallback)
        if routing is None:
            return self.stream_direct(
                messages, model=model, on_retry=on_retry, restart=restart, cache=cache, **params
            )
        chosen = routing

        async def plan() -> tuple[Hop, ...]:
            listed = await self._listed_models()
            return self._plan(messages, model, params, listed, chosen)

        known = self.catalogue is not None
        return AsyncFallbackStream(
            self,
            self._plan(messages, model, params, self.catalogue, routing) if known else (),
            messages,
            on_retry=on_retry or self.on_retry,
            on_fallback=on_fallback,
            restart=restart,
            options={"cache": cache, **params},
            plan=None if known else plan,
        )

    def stream_direct(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        restart: bool = False,
        cache: bool | None = None,
        **params: Any,
    ) -> AsyncChatStream[Any]:
        """A stream from exactly ``model`` as given: no route, no fallback."""
        request = self._stream_request(messages, model, params, cache)
        return AsyncChatStream(self, request, on_retry or self.on_retry, restart)


class AsyncChatStream(StreamState, Generic[Yielded]):
    """One streamed answer: text deltas (and, with ``restart=True``, ``StreamRestart``)."""

    _client: AsyncClient
    _iterator: AsyncGenerator[str | StreamRestart, None] | None = None

    async def __aenter__(self) -> AsyncChatStream[Yielded]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Yielded]:
        if self._iterator is None:
            self._iterator = self._run()
        return cast(AsyncIterator[Yielded], self._iterator)

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def until_done(self) -> ChatResult:
        async for _ in self:
            pass
        assert self.result is not None
        return self.result

    async def _run(self) -> AsyncGenerator[str | StreamRestart, None]:
        hit = await asyncio.to_thread(self._answers.lookup) if self._answers else None
        if hit is not None:
            for wait, piece in self._replay(hit):
                if wait:
                    await asyncio.sleep(wait)
                yield piece
            return
        with await self._client.admit(self._body) as ticket:
            async for delta in self._attempts():
                yield delta
            ticket.settle(self._cost())

    async def _attempts(self) -> AsyncGenerator[str | StreamRestart, None]:
        """Ask until an answer (``self.result``) or a failure that ends the stream."""
        while True:
            accumulator = self._begin_attempt()
            receiving = False
            try:
                async with self._client.open_event_stream(self._body, self.request_id) as response:
                    if response.status_code >= 400:
                        await response.aread()
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
                if self._answers:
                    await asyncio.to_thread(self._answers.remember, self.result)
                return
            delay, restart = self._after_failure(error)
            if restart is not None:
                yield restart
            await asyncio.sleep(delay)
