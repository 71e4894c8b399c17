"""``POST /v1/chat/completions``: checks in AiMo's order, then the answer, whole or streamed.

Order of checks: key (401), body (400), directives and faults (400 if malformed), the
fault's own status, ``stream_options`` rejection, model and provider (404), balance (402).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from aimo_magic.emulator.answers import UNICODE_TAIL, RequestView, compose_answer
from aimo_magic.emulator.catalogue import ModelLookupError
from aimo_magic.emulator.directives import DirectiveError, Directives, parse_directives
from aimo_magic.emulator.errors import BodyForm, render_error
from aimo_magic.emulator.faults import FaultSpec, FaultSpecError, parse_fault_spec
from aimo_magic.emulator.settings import ACCEPTED_KEY_PREFIX, BROKE_KEY, EXPIRED_KEY
from aimo_magic.emulator.sse import Completion, UsageLayout, dumps
from aimo_magic.emulator.state import EmulatorState
from aimo_magic.emulator.stream import DeliberateDisconnect, Pace, stream_bytes
from aimo_magic.emulator.tokens import content_text, count_prompt_tokens, split_tokens

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


class BadRequest(ValueError):
    pass


def error_response(
    status: int,
    message: str | None = None,
    error_type: str | None = None,
    form: BodyForm = "aimo",
    headers: dict[str, str] | None = None,
) -> Response:
    body, media_type = render_error(status, message, error_type, form)
    return Response(body, status_code=status, media_type=media_type, headers=headers)


def _check_key(authorization: str | None) -> Response | None:
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return error_response(401, "Missing API key: send 'Authorization: Bearer aimo-sk-...'")
    if key == EXPIRED_KEY:
        return error_response(401, "Failed to verify secret key: Expired", form="text")
    if not key.startswith(ACCEPTED_KEY_PREFIX):
        return error_response(401, "Invalid API key: AiMo keys start with 'aimo-sk-'")
    return None


def _parse_body(raw: bytes) -> dict[str, Any]:
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
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise BadRequest(f"messages[{i}] needs a 'role', one of {', '.join(_ROLES)}")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("Field 'stream' must be true or false")
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise BadRequest(f"Field '{key}' must be a positive integer")
    if body.get("stream_options") is not None and not isinstance(body["stream_options"], dict):
        raise BadRequest("Field 'stream_options' must be an object")
    return body


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"] or messages
    return content_text(users[-1].get("content"))


def _header_number(request: Request, name: str) -> float | None:
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


def _pace(request: Request, state: EmulatorState, directives: Directives, fault: FaultSpec) -> Pace:
    rate: float | None = state.settings.tokens_per_second
    header_rate = _header_number(request, "x-emulator-tokens-per-second")
    if "x-emulator-tokens-per-second" in request.headers:
        rate = header_rate or None
    if directives.pace is not None:
        rate = directives.pace or None
    latency_ms = state.settings.latency_ms
    header_latency = _header_number(request, "x-emulator-latency-ms")
    if header_latency is not None:
        latency_ms = header_latency
    if directives.latency_ms is not None:
        latency_ms = directives.latency_ms
    return Pace(latency_ms / 1000 + (fault.slow_first_token or 0.0), rate)


def _fault_status_response(fault: FaultSpec) -> Response:
    assert fault.status is not None
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    if fault.retry_after_date is not None:
        when = time.time() + fault.retry_after_date
        headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
    return error_response(fault.status, fault.message, fault.type, fault.body, headers)


def _reject_stream_options(status: int) -> Response:
    if status == 422:
        detail = [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
                "input": None,
            }
        ]
        return Response(dumps({"detail": detail}), 422, media_type="application/json")
    return error_response(
        400, "Unrecognized request argument supplied: stream_options", "invalid_request_error"
    )


def _truncated(body: bytes) -> StreamingResponse:
    """Headers promising the whole body, half of it, then a dropped connection."""

    async def half() -> Any:
        yield body[: len(body) // 2]
        raise DeliberateDisconnect

    return StreamingResponse(
        half(), media_type="application/json", headers={"content-length": str(len(body))}
    )


async def chat_completions(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    raw = await request.body()
    state.record(
        {
            "method": request.method,
            "path": request.url.path,
            "headers": {
                k: ("[redacted]" if k == "authorization" else v) for k, v in request.headers.items()
            },
            "body": raw.decode("utf-8", "replace"),
        }
    )
    rejected = _check_key(request.headers.get("authorization"))
    if rejected is not None:
        return rejected
    try:
        body = _parse_body(raw)
        directives = parse_directives(_last_user_text(body["messages"]))
        spec = ";".join(
            s
            for s in (
                state.next_fault(),
                request.headers.get("x-emulator-fault", ""),
                directives.fault,
            )
            if s
        )
        fault = parse_fault_spec(spec)
        pace = _pace(request, state, directives, fault)
    except (BadRequest, DirectiveError) as exc:
        return error_response(400, str(exc), "invalid_request_error")
    except FaultSpecError as exc:
        return error_response(400, f"Bad emulator fault spec: {exc}", "invalid_request_error")
    if fault.status is not None:
        return _fault_status_response(fault)
    if fault.reject_stream_options and body.get("stream_options") is not None:
        return _reject_stream_options(fault.reject_stream_options)
    try:
        model, offer = state.catalogue.resolve(body["model"])
    except ModelLookupError as exc:
        return error_response(404, str(exc), exc.error_type)
    authorization = request.headers.get("authorization", "")
    if authorization.partition(" ")[2].strip() == BROKE_KEY:
        return error_response(402)
    served = f"{offer.provider_id}:{model.name}"
    params = {k: v for k, v in body.items() if k not in ("model", "messages")}
    view = RequestView(
        body["model"],
        served,
        offer.provider_name,
        body["messages"],
        params,
        request.headers.get("x-request-id"),
        bool(authorization),
        request.headers.get("user-agent"),
    )
    text = compose_answer(directives, view) + (UNICODE_TAIL if fault.unicode else "")
    tokens = split_tokens(text)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    if limit is not None and len(tokens) > limit:
        tokens, finish = tokens[:limit], "length"
    prompt_tokens = count_prompt_tokens(body["messages"])
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(tokens),
        "total_tokens": prompt_tokens + len(tokens),
    }
    completion = Completion(
        f"chatcmpl-emu-{uuid.uuid4().hex[:24]}", int(time.time()), served, tokens, finish, usage
    )
    if body.get("stream"):
        layout: UsageLayout = "aimo"
        if fault.usage_in_choices:
            layout = "in_choices"
        elif (body.get("stream_options") or {}).get("include_usage"):
            layout = "openai"
        return StreamingResponse(
            stream_bytes(completion, layout, fault, pace),
            media_type="text/event-stream; charset=utf-8",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    await asyncio.sleep(pace.duration_s(len(tokens)))
    payload = dumps(completion.message()).encode()
    if fault.disconnect_after is not None:
        return _truncated(payload)
    return Response(payload, media_type="application/json")
