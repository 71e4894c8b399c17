"""The bookkeeping of one streamed answer, shared by the sync and async streams.

Only the I/O differs between the twins; what counts as complete, when to retry and
what the caller is told live here once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from aimo_magic.core.base import BaseClient, RetryEvent, RetryHook
from aimo_magic.core.errors import AimoError, IncompleteStreamError, error_from_response
from aimo_magic.core.protocol import (
    ChunkAccumulator,
    Messages,
    chat_body,
    completion_result,
    loads_or_text,
    rejects_stream_options,
)
from aimo_magic.core.retry import is_retryable
from aimo_magic.core.types import ChatResult, Timings

logger = logging.getLogger(__name__)

# httpx2 refuses an event larger than 1 MiB by default; an image answer sent as one chunk
# can be larger, so the bound is generous while still stopping a runaway line.
MAX_EVENT_BYTES = 64 * 1024 * 1024


def is_event_stream(response: httpx2.Response) -> bool:
    """The test httpx2's EventSource applies, so a stream we accept is one it will read."""
    content_type = response.headers.get("content-type", "").partition(";")[0]
    return content_type.strip().lower() == "text/event-stream"


def event_source(response: httpx2.Response) -> httpx2.EventSource:
    """httpx2's SSE decoder: splits on CR and LF only, so U+2028 inside JSON survives."""
    return httpx2.EventSource(response, max_event_size=MAX_EVENT_BYTES)


class StreamState:
    """Body, attempts, timings and the final result of one streamed chat request."""

    def __init__(
        self,
        client: BaseClient,
        messages: str | Messages,
        model: str,
        params: Mapping[str, Any],
        on_retry: RetryHook | None,
        cache: bool | None = None,
    ) -> None:
        self._client = client
        self._model = model
        self._user_set_stream_options = "stream_options" in params
        self._body = chat_body(
            messages, model, params, stream=True, include_usage=client.stream_options_supported
        )
        self._on_retry = on_retry
        self._accumulator = ChunkAccumulator(client.settings.api_key, client.server)
        self._started = time.perf_counter()
        self._first_token: float | None = None
        self.request_id = client._new_request_id()
        self.result: ChatResult | None = None
        self.retries = 0
        self._cache = client._cache_use(model, self._body, cache)
        self._notes: list[str] = []

    @property
    def text(self) -> str:
        """The text received so far in the current attempt."""
        return self._accumulator.text

    def _replay(self, hit: ChatResult) -> str:
        """A cached answer becomes the result, and its whole text the one delta."""
        self.result = hit
        self._first_token = hit.timings.first_token
        return hit.text

    def _begin_attempt(self) -> tuple[ChunkAccumulator, dict[str, str]]:
        self._accumulator = ChunkAccumulator(self._client.settings.api_key, self._client.server)
        self._first_token = None
        self._notes = []
        headers = self._client._auth_headers(self.request_id)
        headers["Accept"] = "text/event-stream"
        return self._accumulator, headers

    def _status_error(self, response: httpx2.Response) -> AimoError:
        return error_from_response(
            response.status_code,
            response.text,
            request_id=self.request_id,
            api_key=self._client.settings.api_key,
            server=self._client.server,
        )

    def _note_delta(self, delta: str) -> None:
        if delta and self._first_token is None:
            self._first_token = time.perf_counter() - self._started

    def _check_complete(self) -> None:
        """A stream that gave its finish_reason is a whole answer, [DONE] or not: retrying
        it would pay for the same answer again. Only one that ended without it is cut off."""
        accumulator = self._accumulator
        if accumulator.finish_reason is not None:
            if not accumulator.done:
                self._note("The stream closed without [DONE] after its finish_reason")
            return
        reason = (
            "The stream ended without a finish_reason"
            if accumulator.done
            else "The stream ended without [DONE] or a finish_reason"
        )
        raise IncompleteStreamError(reason, partial_text=accumulator.text)

    def _finished_before(self, exc: httpx2.HTTPError, receiving: bool) -> bool:
        """Whether the connection failed only after the answer's finish_reason arrived."""
        if not receiving or self._accumulator.finish_reason is None:
            return False
        self._note(f"The connection failed after the finish_reason ({type(exc).__name__})")
        return True

    def _note(self, what: str) -> None:
        """Keep a quirk of an accepted answer for ``ChatResult.notes`` and the debug log."""
        note = f"{what}; accepted as complete, not retried"
        self._notes.append(note)
        logger.debug("%s (request %s)", note, self.request_id)

    def _finish(self) -> None:
        elapsed = time.perf_counter() - self._started
        accumulator = self._accumulator
        model = accumulator.model or self._model
        self.result = accumulator.result(
            self._model,
            self._client._provider_of(model),
            Timings(first_token=self._first_token, total=elapsed),
            self.request_id,
            tuple(self._notes),
        )

    def _finish_plain(self, response: httpx2.Response) -> str:
        """A server that ignored ``stream`` and sent one JSON answer: accept it whole."""
        elapsed = time.perf_counter() - self._started
        self.result = completion_result(
            loads_or_text(response.content),
            self._model,
            self._client._provider_of,
            Timings(first_token=elapsed, total=elapsed),
            self.request_id,
            self._client.settings.api_key,
            self._client.server,
        )
        return self.result.text

    def _drop_stream_options(self, error: AimoError) -> bool:
        """Retry at once without ``stream_options`` if the server refused it, and remember."""
        if self._user_set_stream_options or "stream_options" not in self._body:
            return False
        if not rejects_stream_options(error):
            return False
        self._client.stream_options_supported = False
        del self._body["stream_options"]
        return True

    def _transport_error(self, exc: httpx2.HTTPError, receiving: bool) -> AimoError:
        return self._client._transport_error(exc, self._accumulator.text, receiving)

    def _plan_retry(self, error: AimoError, retry_headers: httpx2.Headers | None) -> float:
        """Seconds to wait before the next attempt; raises ``error`` when none is left."""
        policy = self._client.retry_policy
        if self.retries >= policy.max_retries or not is_retryable(error):
            if isinstance(error, IncompleteStreamError):
                error.partial_text = error.partial_text or self._accumulator.text
            raise error
        self.retries += 1
        delay = policy.delay(self.retries, retry_headers)
        if self._on_retry is not None:
            self._on_retry(
                RetryEvent(
                    attempt=self.retries,
                    max_retries=policy.max_retries,
                    delay=delay,
                    reason=error.detail,
                    partial_text=self._accumulator.text,
                )
            )
        return delay
