"""The synchronous client: one httpx2 connection pool, typed results, honest streams."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Any

import httpx2

from aimo_magic.core.base import BaseClient, RetryHook
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.errors import AimoError
from aimo_magic.core.protocol import Messages
from aimo_magic.core.stream_state import StreamState, event_source, is_event_stream
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
    ) -> Any:
        """A plain request with retries; returns the decoded JSON body."""
        request_id = request_id or self._new_request_id()
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
                error: AimoError = self._transport_error(exc, "", started=False)
            except AimoError as exc:
                error = exc
            time.sleep(self._next_delay(error, retries))
            retries += 1

    def models(self) -> list[Model]:
        """The catalogue, normalised; also remembered to name the providers of answers."""
        payload = self._send("GET", "models", auth=bool(self.settings.api_key))
        self.catalogue = parse_catalogue(payload)
        return self.catalogue

    def chat(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> ChatResult:
        """One answer, not streamed; any OpenAI parameter passes through in ``params``.

        With a cache (``Client(cache=True)``), a stored answer comes back at once with
        ``cached_at`` set; ``cache=False`` asks the server whatever is stored.
        """
        chosen, body = self._chat_request(messages, model, params)
        use = self._cache_use(chosen, body, cache)
        hit = use.lookup() if use else None
        if hit is not None:
            return hit
        request_id, started = self._new_request_id(), time.perf_counter()
        payload = self._send("POST", "chat/completions", json=body, request_id=request_id)
        result = self._chat_result(payload, chosen, started, request_id)
        if use:
            use.remember(result)
        return result

    def stream(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> ChatStream:
        """A context manager yielding text deltas; ``.result`` holds the answer once done.

        A cached answer is replayed as one delta (``.result.cached_at`` set).
        """
        chosen = self._model_for(model)
        return ChatStream(self, messages, chosen, params, on_retry or self.on_retry, cache)


class ChatStream(StreamState):
    """One streamed answer, retried whole when the stream fails part-way."""

    def __init__(
        self,
        client: Client,
        messages: str | Messages,
        model: str,
        params: dict[str, Any],
        on_retry: RetryHook | None,
        cache: bool | None = None,
    ) -> None:
        super().__init__(client, messages, model, params, on_retry, cache)
        self._http = client._http
        self._iterator: Generator[str, None, None] | None = None

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def close(self) -> None:
        """Drop the connection at once (for instance on a keyboard interrupt)."""
        if self._iterator is not None:
            self._iterator.close()

    def until_done(self) -> ChatResult:
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def _run(self) -> Generator[str, None, None]:
        hit = self._cache.lookup() if self._cache else None
        if hit is not None:
            yield self._replay(hit)
            return
        url = self._client._url("chat/completions")
        while True:
            accumulator, headers = self._begin_attempt()
            retry_headers: httpx2.Headers | None = None
            receiving = False
            try:
                with self._http.stream("POST", url, json=self._body, headers=headers) as response:
                    if response.status_code >= 400:
                        response.read()
                        retry_headers = response.headers
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
                if self._cache:
                    self._cache.remember(self.result)
                return
            time.sleep(self._plan_retry(error, retry_headers))
