"""Error bodies in each of the forms AiMo is known to send (see shared/aimo-api.md)."""

from __future__ import annotations

import json
from typing import Literal

from aimo_magic.emulator.provider_ids import provider_id

BodyForm = Literal["aimo", "x402", "text", "aimo-string"]
BODY_FORMS: tuple[BodyForm, ...] = ("aimo", "x402", "text", "aimo-string")

_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Bad request"),
    401: ("unauthorized", "Invalid API key"),
    402: ("insufficient_balance", "Insufficient balance for estimated cost: 0.001 USDC"),
    403: ("forbidden", "Forbidden"),
    404: ("invalid_model", "Model not found"),
    408: ("timeout", "Request timed out"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Request body too large"),
    422: ("invalid_parameters", "Parameters are invalid for this model"),
    424: ("escrow_not_ready", "Payment escrow is not set up for this account"),
    429: ("rate_limited", "Rate limit exceeded, retry later"),
    500: ("server_error", "Internal server error"),
    502: ("bad_gateway", "Upstream provider returned an invalid response"),
    503: ("service_unavailable", "No healthy provider is available right now"),
    504: ("upstream_timeout", "Upstream provider timed out"),
}


def default_type(status: int) -> str:
    if status in _DEFAULTS:
        return _DEFAULTS[status][0]
    return "server_error" if status >= 500 else "invalid_request_error"


def default_message(status: int) -> str:
    if status in _DEFAULTS:
        return _DEFAULTS[status][1]
    return f"Emulated error {status}"


def _json(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def render_error(
    status: int,
    message: str | None = None,
    error_type: str | None = None,
    form: BodyForm = "aimo",
) -> tuple[bytes, str]:
    """The body bytes and media type of an error response in the given form."""
    if form == "text":
        text = message or f"Failed to route request: {default_message(status)}"
        return text.encode(), "text/plain; charset=utf-8"
    if form == "x402":
        return _json(
            {
                "error": message or "X-PAYMENT header is required",
                "accepts": [
                    {
                        "scheme": "exact",
                        "network": "solana-devnet",
                        "maxAmountRequired": "1000",
                        "resource": "/api/v1/chat/completions",
                        "description": "AiMo Network chat completion (emulated)",
                        "mimeType": "application/json",
                        "payTo": provider_id("x402-pay-to"),
                        "maxTimeoutSeconds": 60,
                        "asset": provider_id("x402-usdc-mint"),
                    }
                ],
                "x402Version": 1,
            }
        ), "application/json"
    if form == "aimo-string":
        return _json({"error": message or default_message(status)}), "application/json"
    body = {
        "error": {
            "message": message or default_message(status),
            "type": error_type or default_type(status),
            "code": status,
        }
    }
    return _json(body), "application/json"
