"""Checks on an incoming chat request: its key, its body, its emulator headers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from aimo_magic.emulator.responses import error_response
from aimo_magic.emulator.settings import ACCEPTED_KEY_PREFIX, EXPIRED_KEY
from aimo_magic.emulator.tokens import content_text

ROLES = ("system", "developer", "user", "assistant", "tool", "function")


class BadRequest(ValueError):
    """A request the emulator answers with 400; the message says what to fix."""


def check_key(authorization: str | None) -> Response | None:
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return error_response(401, "Missing API key: send 'Authorization: Bearer aimo-sk-...'")
    if key == EXPIRED_KEY:
        return error_response(401, "Failed to verify secret key: Expired", form="text")
    if not key.startswith(ACCEPTED_KEY_PREFIX):
        return error_response(401, "Invalid API key: AiMo keys start with 'aimo-sk-'")
    return None


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("Field 'model' is required: name a model, e.g. 'openai/gpt-4o'")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Field 'messages' must be a non-empty list of {role, content} objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise BadRequest(f"messages[{i}] needs a 'role', one of {', '.join(ROLES)}")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("Field 'stream' must be true or false")
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise BadRequest(f"Field '{key}' must be a positive integer")
    if body.get("stream_options") is not None and not isinstance(body["stream_options"], dict):
        raise BadRequest("Field 'stream_options' must be an object")
    return body


def last_user_text(messages: list[dict[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"] or messages
    return content_text(users[-1].get("content"))


def header_number(request: Request, name: str) -> float | None:
    value = request.headers.get(name)
    if value is None or value.strip().lower() in ("", "none", "off"):
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"Header {name} must be a number, got {value!r}") from None
    if number < 0:
        raise BadRequest(f"Header {name} must not be negative")
    return number
