"""One exception class for each thing a user does differently about a failure.

Every message is a single line holding the server's own words, the HTTP status and
what to do next; keys are redacted before a message is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aimo_magic.core.secrets import redact

_BALANCE_WORDS = ("balance", "insufficient", "payment", "escrow", "usdc", "fund")


class AimoError(Exception):
    """Base of every error this package raises about talking to AiMo."""

    hint = ""
    # The failed response's headers, read for Retry-After when deciding to retry.
    retry_headers: Mapping[str, str] | None = None
    # Raised by a stream: exactly the text it yielded since it began (or last restarted).
    partial_text = ""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.detail = redact(detail.strip()) or "no details given"
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        if hint is not None:
            self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        hint = f" {self.hint}" if self.hint else ""
        return " ".join(f"{self.detail}{status}.{hint}".split()).replace("..", ".")

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class MissingKeyError(AimoError):
    hint = (
        "Set AIMO_API_KEY, pass api_key=..., or in a notebook run `%aimo login`; "
        "for an offline try-out start the emulator (`aimo-magic emulator`)."
    )


class AuthenticationError(AimoError):
    hint = "Check your API key (AIMO_API_KEY or `%aimo login`): it may be wrong or expired."


class PaymentError(AimoError):
    hint = "Top up your USDC balance on the AiMo dashboard, or choose a cheaper or free model."


class NotFoundError(AimoError):
    hint = "List the available models and providers (`%aimo models`, or Client.models())."


class InvalidRequestError(AimoError):
    hint = "Check the model's parameters (names, types and ranges) and try again."


class RateLimitError(AimoError):
    hint = "Wait a moment and try again, or pick another provider."


class ServerError(AimoError):
    hint = "The provider or router failed; try again, or pick another provider."


class APIConnectionError(AimoError):
    hint = "Check the base URL (AIMO_BASE_URL) and your network connection, then try again."


class APITimeoutError(APIConnectionError):
    hint = "The server was silent for too long; try again, or raise the timeout (AIMO_TIMEOUT)."


class RouteError(AimoError):
    """A route that cannot be followed (every provider above ``max_price``, a price that
    is not listed); the message says what to change (``core.routing``)."""

    hint = "See `%aimo providers MODEL` for each provider's price and what was measured."


class IncompleteStreamError(AimoError):
    """The answer broke off; ``partial_text`` keeps what had arrived."""

    hint = "The answer was cut off; ask again."

    def __init__(self, detail: str, *, partial_text: str = "", **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.partial_text = partial_text


def _server_words(body: Any, text: str) -> tuple[str, str | None]:
    """The message and type from any of AiMo's three body forms, or the raw text."""
    if isinstance(body, Mapping):
        error = body.get("error", body.get("message"))
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("detail") or json.dumps(error)
            kind = error.get("type") or error.get("code")
            return str(message), str(kind) if kind is not None else None
        if isinstance(error, str):
            return error, None
        if "detail" in body:
            return str(body["detail"]), None
    return text.strip() or "the server gave no message", None


def _is_about_balance(message: str, error_type: str | None) -> bool:
    haystack = f"{message} {error_type or ''}".lower()
    return any(word in haystack for word in _BALANCE_WORDS)


def error_class_for(status: int, message: str, error_type: str | None) -> type[AimoError]:
    """Which error a status means; 429 is balance or rate limit depending on its words."""
    if status in (401, 403):
        return AuthenticationError
    if status in (402, 424):
        return PaymentError
    if status == 429:
        return PaymentError if _is_about_balance(message, error_type) else RateLimitError
    if status == 404:
        return NotFoundError
    if status in (400, 422):
        return InvalidRequestError
    if status in (408, 409):
        return RateLimitError if status == 409 else APITimeoutError
    if status >= 500:
        return ServerError
    return AimoError


def error_from_response(
    status: int,
    text: str,
    *,
    request_id: str | None = None,
    api_key: str | None = None,
    server: str = "AiMo",
) -> AimoError:
    """Build the typed error for a failed HTTP response from its body text.

    ``server`` is whom the line quotes: "AiMo", or another server's host.
    """
    text = redact(text, api_key)
    try:
        body: Any = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    message, error_type = _server_words(body, text)
    cls = error_class_for(status, message, error_type)
    return cls(
        f"{server} says: {message}", status=status, error_type=error_type, request_id=request_id
    )


def error_from_frame(
    frame: Mapping[str, Any], *, api_key: str | None = None, server: str = "AiMo"
) -> AimoError:
    """Typed error for an ``{"error": ...}`` object that arrived inside a 200 stream."""
    message, error_type = _server_words(frame, "")
    raw = frame.get("error")
    code = raw.get("code") if isinstance(raw, Mapping) else None
    status = code if isinstance(code, int) and 100 <= code < 600 else None
    cls = error_class_for(status, message, error_type) if status else ServerError
    detail = redact(f"{server} reported an error mid-stream: {message}", api_key)
    return cls(detail, status=status, error_type=error_type)
