"""``POST /v1/chat/completions``: checks in AiMo's order, then the answer, whole or streamed.

Order of checks: key (401), body and image data (400), directives, faults and tools (400
if malformed), the fault's own status, ``stream_options`` rejection, model and provider
(404), images sent to a text-only model (400), balance (402). Then, if a test has closed
the gate (``gate.AnswerGate``), the answer waits there before it starts (a stream with
``hold_after=N``: after N chunks). Each log entry gets ``answered`` once its response has
been handed over whole.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from aimo_magic.emulator import model_traits
from aimo_magic.emulator.answers import UNICODE_TAIL, RequestView, compose_answer
from aimo_magic.emulator.directives import DirectiveError, Directives, parse_directives
from aimo_magic.emulator.faults import FaultSpec, FaultSpecError, parse_fault_spec
from aimo_magic.emulator.grading import Grader, sampling_seed
from aimo_magic.emulator.model_traits import Timing
from aimo_magic.emulator.providers import (
    ProviderProfile,
    ProviderSpecError,
    Slot,
    changes_for,
    released_before_last,
    request_changes,
    with_changes,
)
from aimo_magic.emulator.received_images import inspect_images, refusal_for_text_only
from aimo_magic.emulator.responses import (
    error_response,
    fault_status_response,
    reject_stream_options,
    truncated,
)
from aimo_magic.emulator.served_models import CatalogueModel, ModelLookupError, Offer
from aimo_magic.emulator.settings import BROKE_KEY
from aimo_magic.emulator.sse import Completion, ToolCall, UsageLayout, dumps
from aimo_magic.emulator.state import EmulatorState
from aimo_magic.emulator.stream import Hold, Pace, stream_bytes
from aimo_magic.emulator.tokens import count_prompt_tokens, split_tokens
from aimo_magic.emulator.tools import arguments, chosen_tool
from aimo_magic.emulator.validation import (
    BadRequest,
    check_key,
    header_number,
    last_user_text,
    parse_body,
)


def _pace(
    request: Request,
    state: EmulatorState,
    directives: Directives,
    fault: FaultSpec,
    profile: ProviderProfile | None = None,
    traits: Timing | None = None,
) -> Pace:
    """Directive over header over the provider's profile over server setting (scaled by
    the model's and provider's ``traits`` when timing is varied), so a notebook prompt
    always has the last word; a rate of 0 means as fast as possible."""
    rate: float | None = state.settings.tokens_per_second
    latency_ms = state.settings.latency_ms
    if traits is not None:
        latency_ms *= traits.latency
        rate = rate * traits.speed if rate else rate
    if profile is not None:
        if profile.tokens_per_second is not None:
            rate = profile.tokens_per_second or None
        if profile.latency_ms is not None:
            latency_ms = profile.latency_ms
    header_rate = header_number(request, "x-emulator-tokens-per-second")
    if "x-emulator-tokens-per-second" in request.headers:
        rate = header_rate or None
    if directives.pace is not None:
        rate = directives.pace or None
    header_latency = header_number(request, "x-emulator-latency-ms")
    if header_latency is not None:
        latency_ms = header_latency
    if directives.latency_ms is not None:
        latency_ms = directives.latency_ms
    return Pace(latency_ms / 1000 + (fault.slow_first_token or 0.0), rate)


def _record(state: EmulatorState, request: Request, raw: bytes) -> dict[str, Any]:
    headers = dict(request.headers.items())
    if "authorization" in headers:
        headers["authorization"] = "[redacted]"
    body = raw.decode("utf-8", "replace")
    entry = {
        "method": request.method,
        "path": request.url.path,
        "headers": headers,
        "body": body,
        "received": time.monotonic(),
    }
    state.record(entry)
    return entry


def _mark_answered(entry: dict[str, Any], response: Response) -> Response:
    """Note in the log entry when the response was handed over whole (``answered``, on the
    clock of ``received``): a bound that holds however late the client reads it."""
    if not isinstance(response, StreamingResponse):
        entry["answered"] = time.monotonic()
        return response

    async def then_mark(body: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async for piece in body:
            yield piece
        entry["answered"] = time.monotonic()

    response.body_iterator = then_mark(response.body_iterator)
    return response


def _completion(
    text: str, body: dict[str, Any], served: str, tool_call: ToolCall | None = None
) -> Completion:
    """The answer (or a tool call's arguments) cut to ``max_tokens``, with usage that adds
    up."""
    tokens = split_tokens(text)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop" if tool_call is None else "tool_calls"
    if limit is not None and len(tokens) > limit:
        tokens, finish = tokens[:limit], "length"
    prompt_tokens = count_prompt_tokens(body["messages"])
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(tokens),
        "total_tokens": prompt_tokens + len(tokens),
    }
    return Completion(
        f"chatcmpl-emu-{uuid.uuid4().hex[:24]}",
        int(time.time()),
        served,
        tokens,
        finish,
        usage,
        tool_call,
    )


def _layout(body: dict[str, Any], fault: FaultSpec) -> UsageLayout:
    if fault.usage_in_choices:
        return "in_choices"
    if (body.get("stream_options") or {}).get("include_usage"):
        return "openai"
    return "aimo"


class _HeldStream(StreamingResponse):
    """A streamed answer that gives its provider's slot back however the response ends,
    even one cut off before its first byte."""

    def __init__(self, content: Any, slot: Slot, **options: Any) -> None:
        super().__init__(content, **options)
        self._slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slot.release(answered=False)


@dataclass(frozen=True)
class _Asked:
    """One chat request as read: its body and what its prompt and headers ask for."""

    body: dict[str, Any]
    directives: Directives
    images: Any
    tool: Any
    request_id: str | None
    authorization_present: bool
    user_agent: str | None


async def chat_completions(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    raw = await request.body()
    entry = _record(state, request, raw)
    response = await _respond(request, state, raw)
    if response is None:  # the client went away while the answer was held at the gate
        return Response(status_code=499)
    return _mark_answered(entry, response)


async def _respond(request: Request, state: EmulatorState, raw: bytes) -> Response | None:
    authorization = request.headers.get("authorization")
    rejected = check_key(authorization)
    if rejected is not None:
        return rejected
    try:
        body = parse_body(raw)
        directives = parse_directives(last_user_text(body["messages"]))
        images = inspect_images(body["messages"])
        sources = (state.next_fault(), request.headers.get("x-emulator-fault"), directives.fault)
        fault = parse_fault_spec(";".join(s for s in sources if s))
        pace = _pace(request, state, directives, fault)
        changes = request_changes(directives.providers)
        tool = chosen_tool(body)
    except (BadRequest, DirectiveError) as exc:
        return error_response(400, str(exc), "invalid_request_error")
    except ProviderSpecError as exc:
        return error_response(400, f"Bad ::provider directive: {exc}", "invalid_request_error")
    except FaultSpecError as exc:
        return error_response(400, f"Bad emulator fault spec: {exc}", "invalid_request_error")
    if fault.status is not None:
        return fault_status_response(fault)
    if fault.reject_stream_options and body.get("stream_options") is not None:
        return reject_stream_options(fault.reject_stream_options)
    try:
        model, offers = state.catalogue.candidates(body["model"])
    except ModelLookupError as exc:
        return error_response(404, str(exc), exc.error_type)
    if images and not model.image_input:
        return error_response(400, refusal_for_text_only(model.name), "invalid_request_error")
    if (authorization or "").partition(" ")[2].strip() == BROKE_KEY:
        return error_response(402)
    offer = _routed(state, offers, changes)
    profile = _profile(state, offer, changes)
    limit = profile.max_in_flight if profile is not None else None
    if not state.providers.admit(offer.provider_name, limit):
        return _at_limit(offer.provider_name, limit, profile)
    slot = Slot(state.providers, offer.provider_name)
    asked = _Asked(
        body,
        directives,
        images,
        tool,
        request.headers.get("x-request-id"),
        authorization is not None,
        request.headers.get("user-agent"),
    )
    try:
        traits = None
        if state.settings.timing == "varied":
            traits = model_traits.timing(model.name, offer.provider_name)
        pace = _pace(request, state, directives, fault, profile, traits)
        if profile is not None:
            own = profile.fault_for(state.providers.number(offer.provider_name))
            if own:
                fault = parse_fault_spec(";".join((own, *(s for s in sources if s))))
                if fault.status is not None:
                    slot.release(answered=False)
                    return fault_status_response(fault)
        grader = Grader(
            model.name,
            offer.provider_name,
            _accuracy(state, model, offer, profile),
            sampling_seed(body),
        )
        hold = _holder(state, request)
        return await _answer(asked, model, offer, fault, pace, slot, grader, hold)
    except BaseException:
        slot.release(answered=False)
        raise


def _accuracy(
    state: EmulatorState, model: CatalogueModel, offer: Offer, profile: ProviderProfile | None
) -> float:
    """The provider's own accuracy if its profile sets one, else the server's if set, else
    the model's as its provider serves it (``model_traits``)."""
    if profile is not None and profile.accuracy is not None:
        return profile.accuracy
    if state.settings.accuracy is not None:
        return state.settings.accuracy
    return model_traits.accuracy(model.name, offer.provider_name)


def _holder(state: EmulatorState, request: Request) -> Hold:
    """Waits at the test gate; False if the client went away meanwhile."""

    def hold() -> Awaitable[bool]:
        return state.gate.wait(request.receive)

    return hold


def _profile(
    state: EmulatorState, offer: Offer, changes: dict[str, dict[str, Any]]
) -> ProviderProfile | None:
    """How the provider behaves for this request: its profile now, with what the request's
    ``::provider`` directives change."""
    profile = state.profiles.get(offer.provider_name)
    changed = changes_for(changes, offer.provider_name, offer.provider_id)
    return with_changes(profile, offer.provider_name, changed) if changed else profile


def _routed(state: EmulatorState, offers: list[Offer], changes: dict[str, dict[str, Any]]) -> Offer:
    """The offer that serves: a pinned id's one, or the router's choice for a routing name
    (the cheapest provider with room for one more request, else the cheapest)."""
    for offer in offers:
        profile = _profile(state, offer, changes)
        limit = profile.max_in_flight if profile is not None else None
        if state.providers.has_room(offer.provider_name, limit):
            return offer
    return offers[0]


def _at_limit(name: str, limit: int | None, profile: ProviderProfile | None) -> Response:
    """A provider's 429 when it serves as many requests as it allows."""
    retry_after = profile.retry_after if profile is not None else 1.0
    return error_response(
        429,
        f"Provider {name} is serving its limit of {limit} requests; retry later",
        "rate_limited",
        headers={"Retry-After": f"{retry_after:g}"},
    )


async def _answer(
    asked: _Asked,
    model: CatalogueModel,
    offer: Offer,
    fault: FaultSpec,
    pace: Pace,
    slot: Slot,
    grader: Grader,
    hold: Hold,
) -> Response | None:
    """The answer of the provider that serves, whole or streamed; its slot is given back
    just before the last bytes go out. None: the client went away while it was held."""
    body = asked.body
    served = f"{offer.provider_id}:{model.name}"
    view = RequestView(
        model_asked=body["model"],
        served=served,
        provider_name=offer.provider_name,
        messages=body["messages"],
        params={k: v for k, v in body.items() if k not in ("model", "messages")},
        request_id=asked.request_id,
        authorization_present=asked.authorization_present,
        user_agent=asked.user_agent,
        images=asked.images,
        grader=grader,
    )
    if asked.tool is not None:
        call = ToolCall(f"call_{uuid.uuid4().hex[:24]}", asked.tool["name"])
        completion = _completion(arguments(asked.tool), body, served, call)
    else:
        text = compose_answer(asked.directives, view) + (UNICODE_TAIL if fault.unicode else "")
        completion = _completion(text, body, served)
    streamed = bool(body.get("stream"))
    if not (streamed and fault.hold_after) and not await hold():
        slot.release(answered=False)
        return None
    if streamed:
        pieces = stream_bytes(completion, _layout(body, fault), fault, pace, hold)
        return _HeldStream(
            released_before_last(pieces, slot),
            slot,
            media_type="text/event-stream; charset=utf-8",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    await asyncio.sleep(pace.duration_s(len(completion.tokens)))
    payload = dumps(completion.message()).encode()
    if fault.disconnect_after is not None:
        slot.release(answered=False)
        return truncated(payload)
    slot.release(answered=True)
    return Response(payload, media_type="application/json")
