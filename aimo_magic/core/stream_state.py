"""The bookkeeping of one streamed answer, shared by the sync and async streams.

Only the I/O differs between the twins; what counts as complete, when to retry and
what the caller is told live here once. A stream uses its client's public surface
only: ``open_event_stream`` for the I/O, ``admit`` and ``cost_of`` for the budget,
``provider_of``, ``settings``, ``server``, ``retry_policy`` and
``stream_options_supported``; the client prepares the request.

The contract: what the iterator yields is the answer. A failure before any text was
yielded is retried silently; one after text was yielded either ends the stream with
``IncompleteStreamError`` holding exactly that text, or, when the caller opened the
stream with ``restart=True``, yields a ``StreamRestart`` and the answer from its start.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, TypeVar

import httpx2

from aimo_magic.core.base import BaseClient, StreamRequest, status_error, transport_error
from aimo_magic.core.errors import AimoError, IncompleteStreamError
from aimo_magic.core.protocol import (
    ChunkAccumulator,
    completion_result,
    loads_or_text,
    rejects_stream_options,
)
from aimo_magic.core.retry import (
    RetryHook,
    StreamRestart,
    is_retryable,
    plan_retry,
    retry_reason,
)
from aimo_magic.core.types import ChatResult, Timings

if TYPE_CHECKING:
    from aimo_magic.core.pricing import Listed

logger = logging.getLogger(__name__)

# What a stream yields: ``str``, or ``str | StreamRestart`` for one opened with restart=True.
Yielded = TypeVar("Yielded", covariant=True)

# httpx2 refuses an event larger than 1 MiB by default; an image answer sent as one chunk
# can be larger, so the bound is generous while still stopping a runaway line.
MAX_EVENT_BYTES = 64 * 1024 * 1024

RESTART_HINT = (
    "Part of the answer had arrived (kept in .partial_text); ask again, or open the stream "
    "with restart=True to have it start the answer over."
)


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
        request: StreamRequest,
        on_retry: RetryHook | None,
        restart: bool = False,
    ) -> None:
        self._client = client
        self._model = request.model
        self._body = request.body
        self._keeps_stream_options = request.keeps_stream_options
        self._answers = request.answers
        self.request_id = request.request_id
        self._on_retry = on_retry
        self._restart = restart
        self._accumulator = ChunkAccumulator(client.settings.api_key, client.server)
        self._started = time.perf_counter()
        self._first_token: float | None = None
        self.result: ChatResult | None = None
        self.retries = 0
        self._notes: list[str] = []

    @property
    def text(self) -> str:
        """The text received so far in the current attempt."""
        return self._accumulator.text

    def _replay(self, hit: ChatResult) -> list[tuple[float, str]]:
        """A stored answer becomes the result; its text is yielded as these pieces, each
        after waiting its seconds: at once from the cache, at the replay's pace from an
        answer file (word by word, as if it arrived)."""
        from aimo_magic.core.answer_use import paced

        self.result = hit
        self._first_token = hit.timings.first_token
        answers = self._answers
        pace = answers.pace if answers is not None and hit.recorded_in is not None else None
        return paced(hit.text, pace)

    def _begin_attempt(self) -> ChunkAccumulator:
        self._accumulator = ChunkAccumulator(self._client.settings.api_key, self._client.server)
        self._first_token = None
        self._notes = []
        return self._accumulator

    def _status_error(self, response: httpx2.Response) -> AimoError:
        client = self._client
        return status_error(
            response, self.request_id, api_key=client.settings.api_key, server=client.server
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
            self._client.provider_of(model),
            Timings(first_token=self._first_token, total=elapsed),
            self.request_id,
            tuple(self._notes),
        )

    def _cost(self) -> Listed | None:
        """The finished answer's cost, for the budget (``BaseClient.cost_of``)."""
        if self.result is None:
            return None
        return self._client.cost_of(self.result, self._body)

    def _finish_plain(self, response: httpx2.Response) -> str:
        """A server that ignored ``stream`` and sent one JSON answer: accept it whole."""
        elapsed = time.perf_counter() - self._started
        self.result = completion_result(
            loads_or_text(response.content),
            self._model,
            self._client.provider_of,
            Timings(first_token=elapsed, total=elapsed),
            self.request_id,
            self._client.settings.api_key,
            self._client.server,
        )
        return self.result.text

    def _drop_stream_options(self, error: AimoError) -> bool:
        """Retry at once without ``stream_options`` if the server refused it, and remember."""
        if self._keeps_stream_options or "stream_options" not in self._body:
            return False
        if not rejects_stream_options(error):
            return False
        self._client.stream_options_supported = False
        del self._body["stream_options"]
        return True

    def _transport_error(self, exc: httpx2.HTTPError, receiving: bool) -> AimoError:
        return transport_error(
            exc, self._client.settings, self._accumulator.text, started=receiving
        )

    def _after_failure(self, error: AimoError) -> tuple[float, StreamRestart | None]:
        """What follows a failed attempt: the seconds to wait before the next one, and the
        restart to yield first if the caller had already been given text of this attempt.

        Raises when no attempt follows, with ``partial_text`` set to exactly the text
        yielded since the last restart. Text already yielded is never yielded again
        silently: unless the stream may restart (and has a retry left), a transient
        failure after text ends the stream.
        """
        shown = self._accumulator.text  # every delta of this attempt has been yielded
        error.partial_text = shown
        policy = self._client.retry_policy
        retry_left = self.retries < policy.max_retries
        if shown and is_retryable(error) and not (self._restart and retry_left):
            if retry_left:  # restart=True would have asked again: say so
                error.hint = RESTART_HINT
                error.args = (error.message,)
            raise error
        delay = plan_retry(policy, error, self.retries, self._on_retry, shown)
        self.retries += 1
        if not shown:
            return delay, None
        return delay, StreamRestart(
            attempt=self.retries,
            max_retries=policy.max_retries,
            reason=retry_reason(error),
            discarded_text=shown,
        )
