"""When to try a request again and how long to wait first."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from aimo_magic.core.errors import (
    AimoError,
    APIConnectionError,
    IncompleteStreamError,
    PaymentError,
    RateLimitError,
    ServerError,
)

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
