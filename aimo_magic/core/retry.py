"""When to try a request again, how long to wait first, and what the caller is told."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from aimo_magic.core.errors import (
    AimoError,
    APIConnectionError,
    IncompleteStreamError,
    PaymentError,
    RateLimitError,
    ServerError,
)


@dataclass(frozen=True)
class RetryEvent:
    """Told to ``on_retry`` before every retry (of ``chat()``, ``models()`` and ``stream()``
    alike), so a display can say why it waits and clear what it showed."""

    attempt: int
    max_retries: int
    delay: float
    reason: str
    partial_text: str


RetryHook = Callable[[RetryEvent], Any]


@dataclass(frozen=True)
class StreamRestart:
    """Yielded in band by a stream opened with ``restart=True`` when its answer starts over.

    The text yielded since the stream began (or since the previous restart) is void:
    it is ``discarded_text``, and what follows is the new answer from its start. A caller
    who joins the text yielded after the last restart has ``result.text`` exactly.
    """

    attempt: int
    max_retries: int
    reason: str
    discarded_text: str


def retry_reason(error: AimoError) -> str:
    """Why a retry happens, as one line without a closing stop: displays write it into
    '⟳ REASON: retrying (attempt 1 of 2)…', and servers may write several lines."""
    return " ".join(error.detail.split()).rstrip(".")


RETRYABLE_STATUSES = frozenset({408, 409, 429})
NEVER_RETRIED_STATUSES = frozenset({400, 401, 402, 403, 404, 422, 424})


def is_retryable(error: AimoError) -> bool:
    """Transient failures only: a retry cannot fix a bad key, a bad request or no balance."""
    if error.status in NEVER_RETRIED_STATUSES or isinstance(error, PaymentError):
        return False
    if error.status is not None and (error.status in RETRYABLE_STATUSES or error.status >= 500):
        return True
    return isinstance(
        error, (APIConnectionError, IncompleteStreamError, ServerError, RateLimitError)
    )


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait: ``retry-after-ms``, or ``Retry-After`` in seconds or a date."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, unless the server says how long to wait."""

    max_retries: int = 2
    max_wait: float = 30.0
    base_delay: float = 0.5
    max_backoff: float = 8.0

    def delay(self, retry_number: int, headers: Mapping[str, str] | None = None) -> float:
        requested = retry_after_seconds(headers)
        if requested is not None:
            return min(requested, self.max_wait)
        backoff = min(self.base_delay * 2 ** (retry_number - 1), self.max_backoff)
        return min(backoff * random.uniform(0.75, 1.25), self.max_wait)


def plan_retry(
    policy: RetryPolicy,
    error: AimoError,
    retries_done: int,
    on_retry: RetryHook | None,
    partial_text: str = "",
) -> float:
    """Seconds to wait before the next try, after telling ``on_retry``; raises ``error``
    when it is not transient or no retry is left. One rule for plain requests and streams."""
    if retries_done >= policy.max_retries or not is_retryable(error):
        raise error
    attempt = retries_done + 1
    delay = policy.delay(attempt, error.retry_headers)
    if on_retry is not None:
        on_retry(
            RetryEvent(
                attempt=attempt,
                max_retries=policy.max_retries,
                delay=delay,
                reason=retry_reason(error),
                partial_text=partial_text,
            )
        )
    return delay
