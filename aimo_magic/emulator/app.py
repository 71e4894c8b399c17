"""The emulator's Starlette application: routes under ``/api``, like the real base URL."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aimo_magic.emulator.chat import chat_completions
from aimo_magic.emulator.faults import FaultSpecError, parse_fault_spec
from aimo_magic.emulator.inflight import InFlightMiddleware
from aimo_magic.emulator.responses import error_response, fault_status_response, truncated
from aimo_magic.emulator.settings import EmulatorSettings
from aimo_magic.emulator.state import EmulatorState
from aimo_magic.emulator.stream import DeliberateDisconnect

BASE_PATH = "/api"


class RequestIdMiddleware:
    """Echo ``X-Request-ID`` (or make one up) on every response, streamed ones included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id")
        request_id = incoming or f"emu-{uuid.uuid4().hex[:16]}".encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)


class _HideExpectedTracebacks(logging.Filter):
    """uvicorn logs a traceback for every response that does not finish: ours are dropped
    on purpose (``disconnect_after``) or cancelled by a shutdown that uvicorn reports anyway.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while len(getattr(error, "exceptions", ())) == 1:  # an exception group of one
            error = error.exceptions[0]  # type: ignore[union-attr]
        return not isinstance(error, (DeliberateDisconnect, asyncio.CancelledError))


def hide_expected_tracebacks() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideExpectedTracebacks) for f in logger.filters):
        logger.addFilter(_HideExpectedTracebacks())


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status, media_type="application/json")


async def list_models(request: Request) -> Response:
    """The catalogue; no key needed. ``X-Emulator-Fault`` can fail it (status, body,
    message, retry_after..., slow_first_token, disconnect_after); the queue is for chat.
    """
    state: EmulatorState = request.app.state.emulator
    shape = request.query_params.get("shape", state.settings.models_shape)
    try:
        fault = parse_fault_spec(request.headers.get("x-emulator-fault", ""))
    except FaultSpecError as exc:
        return error_response(400, f"Bad emulator fault spec: {exc}")
    if fault.status is not None:
        return fault_status_response(fault)
    models = state.catalogue.models
    body: dict[str, Any]
    if shape == "aimo":
        body = {"data": [m.to_aimo() for m in models]}
    elif shape == "openai":
        body = {"object": "list", "data": [m.to_openai() for m in models]}
    else:
        return error_response(400, f"Unknown shape '{shape}': use ?shape=aimo or ?shape=openai")
    await asyncio.sleep(fault.slow_first_token or 0.0)
    payload = json.dumps(body, ensure_ascii=False).encode()
    if fault.disconnect_after is not None:
        return truncated(payload)
    return Response(payload, media_type="application/json")


async def faults(request: Request) -> Response:
    """The fault queue: POST ``{"faults": [SPEC, ...]}`` appends, DELETE clears, GET lists."""
    state: EmulatorState = request.app.state.emulator
    if request.method == "POST":
        try:
            specs = (await request.json())["faults"]
            if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
                raise TypeError
            state.queue_faults(specs)
        except FaultSpecError as exc:
            return error_response(400, f"Bad emulator fault spec: {exc}")
        except (ValueError, KeyError, TypeError):
            return error_response(400, 'Send a JSON body like {"faults": ["status=429"]}')
    elif request.method == "DELETE":
        state.clear_faults()
    return JSONResponse({"faults": state.queued_faults()})


async def requests_log(request: Request) -> Response:
    """Requests the chat endpoint saw, oldest first (keys redacted); DELETE clears."""
    state: EmulatorState = request.app.state.emulator
    if request.method == "DELETE":
        state.clear_requests()
    return _json({"requests": state.requests()})


async def gate(request: Request) -> Response:
    """The answer gate: POST ``{"after": N, "until": M}`` (both optional) holds answers,
    DELETE releases them, GET tells how many are held."""
    state: EmulatorState = request.app.state.emulator
    if request.method == "POST":
        try:
            options = await request.json() if await request.body() else {}
            until = options.get("until")
            state.gate.hold(after=int(options.get("after", 0)), until=until and int(until))
        except (ValueError, TypeError, AttributeError):
            return error_response(400, 'Send a JSON body like {"after": 10} or {"until": 3}')
    elif request.method == "DELETE":
        state.gate.release()
    return JSONResponse(
        {"holding": state.gate.holding, "held": state.gate.held, "abandoned": state.gate.abandoned}
    )


async def provider_counts(request: Request) -> Response:
    """Counts per provider (in flight, most at once, answered, refused, failed); DELETE
    starts them afresh."""
    state: EmulatorState = request.app.state.emulator
    if request.method == "DELETE":
        state.providers.reset()
    counts = state.providers.snapshot()
    return _json({"providers": {name: count.as_dict() for name, count in counts.items()}})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def index(request: Request) -> Response:
    return PlainTextResponse(
        "aimo-magic AiMo emulator. Base URL: "
        f"{request.base_url}{BASE_PATH.lstrip('/')}  (GET {BASE_PATH}/v1/models)\n"
    )


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """A fresh emulator app with its own fault queue and request log."""
    state = EmulatorState(settings or EmulatorSettings())
    routes = [
        Route("/", index),
        Route(f"{BASE_PATH}/v1/models", list_models),
        Route(f"{BASE_PATH}/v1/chat/completions", chat_completions, methods=["POST"]),
        Route(f"{BASE_PATH}/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{BASE_PATH}/_emulator/requests", requests_log, methods=["GET", "DELETE"]),
        Route(f"{BASE_PATH}/_emulator/providers", provider_counts, methods=["GET", "DELETE"]),
        Route(f"{BASE_PATH}/_emulator/gate", gate, methods=["GET", "POST", "DELETE"]),
        Route(f"{BASE_PATH}/_emulator/health", health),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(InFlightMiddleware, counter=state.in_flight)
    hide_expected_tracebacks()
    return app
