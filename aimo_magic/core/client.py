"""The synchronous client: one httpx2 connection pool, typed results, honest streams."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Generic, Literal, cast, overload

import httpx2

from aimo_magic.core.base import BaseClient, RetryHook, new_request_id, transport_error
from aimo_magic.core.budget import Ticket
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.errors import AimoError
from aimo_magic.core.fallback import FallbackHook, FallbackStream
from aimo_magic.core.protocol import Messages
from aimo_magic.core.retry import StreamRestart
from aimo_magic.core.stream_state import StreamState, Yielded, event_source, is_event_stream
from aimo_magic.core.types import ChatResult, Model


class Client(BaseClient):
    """Talks to AiMo (or any OpenAI-compatible server) from plain Python.

    >>> with Client() as client:
    ...     print(client.chat("Hello", model="DeepSeek-V3-1").text)
    """

    def __init__(self, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)
        self._http = httpx2.Client(**self._http_options(asynchronous=False))

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._close_cache()

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        auth: bool = True,
        request_id: str | None = None,
        on_retry: RetryHook | None = None,
    ) -> Any:
        """A plain request with retries (each told to ``on_retry``); the decoded JSON body."""
        request_id = request_id or new_request_id()
        retries = 0
        while True:
            try:
                response = self._http.request(
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
            time.sleep(self._retry_delay(error, retries, on_retry))
            retries += 1

    def open_event_stream(
        self, body: dict[str, Any], request_id: str
    ) -> AbstractContextManager[httpx2.Response]:
        """POST a chat body that asks for a stream; httpx2's response, as a context manager.

        The one door ``ChatStream`` uses to reach the server (its retries and parsing are
        its own); not needed otherwise.
        """
        url, headers = self._url("chat/completions"), self._stream_headers(request_id)
        return self._http.stream("POST", url, json=body, headers=headers)

    def admit(self, body: dict[str, Any]) -> Ticket:
        """The budget's hold for one request about to be sent (``core.budget``): raises
        ``BudgetError`` if it may not be. Lists the models first when the budget needs
        their prices. The one door every request of this client passes."""
        if self._needs_prices():
            try:
                self.models()
            except AimoError:
                self._prices_unavailable = True
        return self._reserve(body)

    def models(self) -> list[Model]:
        """The catalogue, normalised; also remembered to name the providers of answers."""
        payload = self._recorded_models()
        if payload is None:
            payload = self._listed(
                self._send(
                    "GET", "models", auth=bool(self.settings.api_key), on_retry=self.on_retry
                )
            )
        self.catalogue = parse_catalogue(payload)
        return self.catalogue

    def chat(
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
        """One answer, not streamed; any OpenAI parameter passes through in ``params``.

        Transient failures are retried, each told first to ``on_retry`` (or the client's).
        With a cache (``Client(cache=True)``), a stored answer comes back at once with
        ``cached_at`` set; ``cache=False`` asks the server whatever is stored.
        ``route`` (``"auto"``, ``"cheapest"``, ``"fastest"``), ``max_price`` and
        ``fallback`` (model ids to try next) choose the provider and where a failure
        goes next, each told to ``on_fallback`` (see ``core.routing``, ``core.fallback``);
        the answer's ``route`` says why its provider was chosen.
        """
        routing = self._routing(route, max_price, fallback)
        if routing is None:
            return self.chat_direct(messages, model=model, on_retry=on_retry, cache=cache, **params)
        from aimo_magic.core import fallback as runner

        hops = self._plan(messages, model, params, self._listed_models(), routing)
        return runner.chat(
            self,
            hops,
            messages,
            on_retry=on_retry or self.on_retry,
            on_fallback=on_fallback,
            cache=cache,
            **params,
        )

    def chat_direct(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> ChatResult:
        """One answer from exactly ``model`` as given: no route, no fallback."""
        chosen, body = self._chat_request(messages, model, params)
        use = self._answer_use(chosen, body, cache, params)
        hit = use.lookup() if use else None
        if hit is not None:
            return hit
        with self.admit(body) as ticket:
            request_id, started = new_request_id(), time.perf_counter()
            payload = self._send(
                "POST",
                "chat/completions",
                json=body,
                request_id=request_id,
                on_retry=on_retry or self.on_retry,
            )
            result = self._chat_result(payload, chosen, started, request_id)
            ticket.settle(self.cost_of(result, body))
        if use:
            use.remember(result)
        return result

    def _listed_models(self) -> list[Model] | None:
        """The catalogue, fetched once for routing; None when the server lists none."""
        if self.catalogue is None:
            try:
                self.models()
            except AimoError:
                return None
        return self.catalogue

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
    ) -> ChatStream[str] | FallbackStream[str]: ...

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
    ) -> ChatStream[str | StreamRestart] | FallbackStream[str | StreamRestart]: ...

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
    ) -> ChatStream[Any] | FallbackStream[Any]:
        """A context manager yielding text deltas; ``.result`` holds the answer once done.

        What it yields is the answer: ``"".join(stream) == stream.result.text``. Failures
        before any text are retried silently (each told to ``on_retry``); a break after
        text raises ``IncompleteStreamError`` with exactly the text yielded, unless
        ``restart=True``: then it yields a ``StreamRestart`` and the answer from its start.
        A cached answer is replayed as one delta (``.result.cached_at`` set).
        ``route``, ``max_price``, ``fallback`` as for ``chat``; a move to a fallback after
        text is a restart (a ``FellBack``, yielded only with ``restart=True``; without it
        the stream ends as a break after text does).
        """
        routing = self._routing(route, max_price, fallback)
        if routing is None:
            return self.stream_direct(
                messages, model=model, on_retry=on_retry, restart=restart, cache=cache, **params
            )
        hops = self._plan(messages, model, params, self._listed_models(), routing)
        return FallbackStream(
            self,
            hops,
            messages,
            on_retry=on_retry or self.on_retry,
            on_fallback=on_fallback,
            restart=restart,
            options={"cache": cache, **params},
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
    ) -> ChatStream[Any]:
        """A stream from exactly ``model`` as given: no route, no fallback."""
        request = self._stream_request(messages, model, params, cache)
        return ChatStream(self, request, on_retry or self.on_retry, restart)


class ChatStream(StreamState, Generic[Yielded]):
    """One streamed answer: text deltas (and, with ``restart=True``, ``StreamRestart``)."""

    _client: Client
    _iterator: Generator[str | StreamRestart, None, None] | None = None

    def __enter__(self) -> ChatStream[Yielded]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Yielded]:
        if self._iterator is None:
            self._iterator = self._run()
        return cast(Iterator[Yielded], self._iterator)

    def close(self) -> None:
        """Drop the connection at once (for instance on a keyboard interrupt)."""
        if self._iterator is not None:
            self._iterator.close()

    def until_done(self) -> ChatResult:
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def _run(self) -> Generator[str | StreamRestart, None, None]:
        hit = self._answers.lookup() if self._answers else None
        if hit is not None:
            for wait, piece in self._replay(hit):
                if wait:
                    time.sleep(wait)
                yield piece
            return
        with self._client.admit(self._body) as ticket:
            yield from self._attempts()
            ticket.settle(self._cost())

    def _attempts(self) -> Generator[str | StreamRestart, None, None]:
        """Ask until an answer (``self.result``) or a failure that ends the stream."""
        while True:
            accumulator = self._begin_attempt()
            receiving = False
            try:
                with self._client.open_event_stream(self._body, self.request_id) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise self._status_error(response)
                    receiving = True
                    if not is_event_stream(response):
                        response.read()
                        text = self._finish_plain(response)
                        if text:
                            yield text
                        return
                    for event in event_source(response):
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
                    self._answers.remember(self.result)
                return
            delay, restart = self._after_failure(error)
            if restart is not None:
                yield restart
            time.sleep(delay)
