"""What the sync and async clients share: settings, headers, URLs, session memory."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx2

from aimo_magic._version import __version__
from aimo_magic.core.catalogue import provider_name
from aimo_magic.core.config import Settings, choose_model
from aimo_magic.core.errors import (
    AimoError,
    APIConnectionError,
    APITimeoutError,
    IncompleteStreamError,
    MissingKeyError,
    error_from_response,
)
from aimo_magic.core.protocol import Messages, chat_body, completion_result, loads_or_text
from aimo_magic.core.retry import RetryEvent, RetryHook, RetryPolicy, plan_retry
from aimo_magic.core.routing import check_max_price, check_route, split_models
from aimo_magic.core.secrets import install_log_redaction, mask, redact, register_key
from aimo_magic.core.types import ChatResult, Model, Timings

if TYPE_CHECKING:
    from aimo_magic.core.answer_use import AnswerUse
    from aimo_magic.core.budget import Budget, Ticket
    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError
    from aimo_magic.core.cache_use import CacheChoice
    from aimo_magic.core.pricing import Listed, PriceBasis
    from aimo_magic.core.provider_log import ProviderLog
    from aimo_magic.core.routing import Hop


# RetryEvent and RetryHook live in core.retry; importable from here as they always were.
__all__ = ["BaseClient", "RetryEvent", "RetryHook", "StreamRequest"]

CacheErrorHook = Callable[["CacheUnavailableError"], Any]

IN_BROWSER = sys.platform == "emscripten"
"""Pyodide: requests go through the browser's fetch(), under its cross-origin rules."""
BROWSER_HINT = (
    "From a web page the API must allow this site's origin (CORS: it must answer the "
    "preflight for the Authorization, Content-Type and X-Request-ID headers); if it does "
    "not, use the emulator here, or run Jupyter on your machine to reach AiMo."
)

# A batch keeps 64 or more requests in flight; httpx2's default keeps only 20 connections
# alive between requests, so every wave past 20 would connect afresh. Timeouts stay those
# of the settings (the pool wait included).
POOL_LIMITS = httpx2.Limits(max_connections=256, max_keepalive_connections=256)


class BaseClient:
    """Settings and the little a client learns during a session (catalogue, server quirks)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        transport: httpx2.BaseTransport | httpx2.AsyncBaseTransport | None = None,
        cache: CacheChoice = None,
        on_cache_error: CacheErrorHook | None = None,
        route: str = "auto",
        max_price: float | None = None,
        fallback: str | Sequence[str] | None = None,
        price_unit: str | None = None,
        budget: Budget | float | None = None,
    ) -> None:
        """``transport`` (an httpx2 transport of the twin's kind) replaces the network;
        without it, a transport mounted for the base URL (``core.transports``) is used.

        ``price_unit`` says how listed prices are read (``core.pricing``; default: inferred
        from the catalogue). ``budget`` caps what this client may spend (a number, in the
        unit costs are shown in) or shares a ``Budget`` with other clients
        (``core.budget``): every request is checked before it is sent. ``route``,
        ``max_price`` and ``fallback`` are the defaults of every call's own (see
        ``core.routing``).
        """
        from aimo_magic.core.budget import as_budget

        self.settings = Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            model=model,
            price_unit=price_unit,
            budget=as_budget(budget),
        )
        install_log_redaction()
        self._key_holder = register_key(self.settings.api_key) if self.settings.api_key else None
        self.retry_policy = RetryPolicy(
            max_retries=self.settings.max_retries, max_wait=self.settings.max_retry_wait
        )
        self.on_retry = on_retry
        self._api_root = self.settings.api_root
        # Who error lines quote: "AiMo", or another server's host.
        self.server = self.settings.server
        self.catalogue: list[Model] | None = None
        self._basis: tuple[object, PriceBasis] | None = None
        self._prices_unavailable = False
        self.stream_options_supported = True
        self._transport = transport
        self.on_cache_error = on_cache_error
        self.cache: AnswerCache | None = None
        if cache is not None and cache is not False:
            from aimo_magic.core.cache_use import open_cache

            self.cache = open_cache(cache, self)
        self._owns_cache = self.cache is not None and self.cache is not cache
        self.route = check_route(route)
        self.max_price = check_max_price(max_price)
        self.fallback = fallback_models(fallback)
        self.provider_log: ProviderLog | None = None
        """Where answers are measured for ``route="fastest"`` (opened when first needed)."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.settings.base_url!r}, "
            f"api_key={mask(self.settings.api_key)!r})"
        )

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def budget(self) -> Budget | None:
        """The spending cap this client's requests pass (shared with its settings)."""
        return self.settings.budget

    # Money -------------------------------------------------------------------
    @property
    def price_basis(self) -> PriceBasis:
        """How this client reads listed prices: ``price_unit``, inferred from the catalogue
        it has when ``auto`` (``core.pricing``); listed units while it has none."""
        from aimo_magic.core.pricing import price_basis

        catalogue = self.catalogue
        if self._basis is None or self._basis[0] is not catalogue:
            self._basis = (catalogue, price_basis(self.settings.price_unit, catalogue))
        return self._basis[1]

    def cost_of(self, result: ChatResult, body: Mapping[str, Any]) -> Listed | None:
        """What one answer to ``body`` cost at the listed prices (``pricing.answer_cost``)."""
        from aimo_magic.core.image_parts import count_images
        from aimo_magic.core.pricing import answer_cost

        messages = body.get("messages")
        images = count_images(messages) if isinstance(messages, list) else 0
        requested = str(body.get("model") or result.model)
        return answer_cost(self.catalogue, requested, result.model, result.usage, images=images)

    def _needs_prices(self) -> bool:
        """Whether the budget needs a model list this client has not fetched yet."""
        budget = self.settings.budget
        return (
            budget is not None
            and budget.cap is not None
            and self.catalogue is None
            and not self._prices_unavailable
        )

    def _reserve(self, body: Mapping[str, Any]) -> Ticket:
        """The budget's hold for one request about to be sent (``core.budget``); raises
        ``BudgetError`` when it may not be sent. Without a budget, a hold that does nothing."""
        from aimo_magic.core.budget import Ticket
        from aimo_magic.core.pricing import Maximum, maximum_cost

        budget = self.settings.budget
        if budget is None:
            return Ticket(None)
        if self.catalogue is None:
            maximum = Maximum(None, f"the model list of {self.server} could not be read")
        else:
            maximum = maximum_cost(self.catalogue, body)
        return budget.reserve(maximum, self.price_basis, str(body.get("model") or ""))

    def _http_options(self, *, asynchronous: bool) -> dict[str, Any]:
        """What both twins give their httpx2 pool: one timeout, our headers, roomy limits,
        and the transport given or mounted in-process for the base URL, if any."""
        options: dict[str, Any] = {
            "timeout": httpx2.Timeout(self.settings.timeout),
            "headers": {"User-Agent": f"aimo-magic/{__version__}", "Accept": "application/json"},
        }
        transport = self._transport
        if transport is None:
            from aimo_magic.core.transports import mounted_for

            mounted = mounted_for(self.settings.base_url)
            if mounted is not None:
                transport = mounted.async_transport if asynchronous else mounted.transport
        if transport is None:
            options["limits"] = POOL_LIMITS
        else:
            options["transport"] = transport
        return options

    def _url(self, path: str) -> str:
        return f"{self._api_root}/{path.lstrip('/')}"

    def _auth_headers(self, request_id: str) -> dict[str, str]:
        key = self.settings.api_key
        if not key:
            raise MissingKeyError("No AiMo API key is set")
        return {"Authorization": f"Bearer {key}", "X-Request-ID": request_id}

    def _stream_headers(self, request_id: str) -> dict[str, str]:
        return {**self._auth_headers(request_id), "Accept": "text/event-stream"}

    def _model_for(self, model: str | None) -> str:
        """The model asked for, else the client's default (AIMO_MODEL), else the error
        ``core.config`` words for code."""
        return choose_model(model or self.settings.model)

    def _chat_request(
        self, messages: str | Messages, model: str | None, params: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        chosen = self._model_for(model)
        return chosen, chat_body(messages, chosen, params, stream=False)

    def _stream_request(
        self,
        messages: str | Messages,
        model: str | None,
        params: Mapping[str, Any],
        cache: bool | None,
    ) -> StreamRequest:
        chosen = self._model_for(model)
        body = chat_body(
            messages, chosen, params, stream=True, include_usage=self.stream_options_supported
        )
        return StreamRequest(
            model=chosen,
            body=body,
            request_id=new_request_id(),
            answers=self._answer_use(chosen, body, cache, params),
            keeps_stream_options="stream_options" in params,
        )

    def _routing(
        self, route: str | None, max_price: float | None, fallback: str | Sequence[str] | None
    ) -> Routing | None:
        """This call's route, price cap and fallbacks (the client's where not given); None
        when there is nothing to route: the model id goes as asked, as it always did."""
        chosen = Routing(
            check_route(route) if route is not None else self.route,
            check_max_price(max_price) if max_price is not None else self.max_price,
            fallback_models(fallback) if fallback is not None else self.fallback,
        )
        if chosen.route == "auto" and chosen.max_price is None and chosen.fallback is None:
            return None
        if chosen.route == "fastest" and self.provider_log is None:
            from aimo_magic.core.provider_log import log_at

            self.provider_log = log_at(self.cache.path if self.cache is not None else None)
        return chosen

    def _plan(
        self,
        messages: str | Messages,
        model: str | None,
        params: Mapping[str, Any],
        catalogue: Sequence[Model] | None,
        routing: Routing,
    ) -> tuple[Hop, ...]:
        """Where one call goes, in order (``core.routing``); raises RouteError."""
        from aimo_magic.core.protocol import normalise_messages
        from aimo_magic.core.routing import RequestSize, plan_route

        return plan_route(
            self._model_for(model),
            catalogue,
            RequestSize.of(normalise_messages(messages), params),
            route=routing.route,
            max_price=routing.max_price,
            fallback=routing.fallback,
            measured=self.provider_log,
            base_url=self.settings.base_url,
            basis=self.price_basis,
        )

    def _answer_use(
        self,
        model: str,
        body: dict[str, Any],
        cache: bool | None,
        params: Mapping[str, Any] | None = None,
    ) -> AnswerUse | None:
        """Where one request's answer may come from besides the server (the answer file
        replayed, the answer cache unless ``cache=False``) and where it is kept (the
        cache, the log of answers used); None when none applies. The one hook of both
        twins: every chat request passes here (``core.answer_use``). A repeat's number
        in ``params`` (``protocol.REPEAT_PARAM``, never sent) joins the answer's key."""
        from aimo_magic.core.answer_use import answer_use
        from aimo_magic.core.protocol import REPEAT_PARAM

        if params is not None and params.get(REPEAT_PARAM):
            body = {**body, REPEAT_PARAM: params[REPEAT_PARAM]}

        cache_use = None
        if self.cache is not None and cache is not False:
            from aimo_magic.core.cache_use import CacheUse

            cache_use = CacheUse(self, self.cache, model, body)
        return answer_use(model, body, cache=cache_use, has_key=bool(self.settings.api_key))

    def _recorded_models(self) -> Any | None:
        """The model list from the answer file replayed (the ``/v1/models`` body), or
        None to ask the server; raises ``NotRecordedError`` when the replay may not ask."""
        from aimo_magic.core.answer_book import LOG, replay_in_use

        replay = replay_in_use()
        if replay is None:
            return None
        if replay.models is not None:
            LOG.note_models(replay.models)
            return {"data": replay.models}
        if replay.strict or not self.settings.api_key:
            from aimo_magic.core.answer_use import NotRecordedError

            raise NotRecordedError(f"The model list was not recorded in {replay.name}")
        return None

    @staticmethod
    def _listed(payload: Any) -> Any:
        """A model list the server gave: kept in the log of what was used, if recording."""
        from aimo_magic.core.answer_log import LOG

        entries = payload.get("data") if isinstance(payload, dict) else payload
        if isinstance(entries, list):
            LOG.note_models([e for e in entries if isinstance(e, dict)])
        return payload

    def _close_cache(self) -> None:
        """Close a store this client opened itself (one it was given stays open)."""
        if self._owns_cache and self.cache is not None:
            self.cache.close()
        self.cache = None

    def _chat_result(self, payload: Any, model: str, started: float, request_id: str) -> ChatResult:
        timings = Timings(first_token=None, total=time.perf_counter() - started)
        return completion_result(
            payload,
            model,
            self.provider_of,
            timings,
            request_id,
            self.settings.api_key,
            self.server,
        )

    def provider_of(self, answered_model: str) -> str | None:
        """The provider's name for a served model id, from the catalogue last listed."""
        return provider_name(self.catalogue or (), answered_model)

    def _request_headers(self, request_id: str, auth: bool) -> dict[str, str]:
        return self._auth_headers(request_id) if auth else {"X-Request-ID": request_id}

    def _payload(self, response: httpx2.Response, request_id: str) -> Any:
        """The decoded body of a successful response, or the typed error it means."""
        if response.status_code < 400:
            return loads_or_text(response.content)
        raise status_error(response, request_id, api_key=self.settings.api_key, server=self.server)

    def _retry_delay(
        self, error: AimoError, retries_done: int, on_retry: RetryHook | None
    ) -> float:
        """Seconds before the next try of a plain request; raises ``error`` when done."""
        return plan_retry(self.retry_policy, error, retries_done, on_retry)


@dataclass(frozen=True)
class Routing:
    """One call's route, price cap and fallback models (None: no fallback)."""

    route: str
    max_price: float | None
    fallback: tuple[str, ...] | None


def fallback_models(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"a,b"`` or ``["a", "b"]`` as model ids; ``""`` or ``[]``: the model's other
    providers only; None: no fallback."""
    if value is None:
        return None
    if not isinstance(value, str) and not all(isinstance(item, str) for item in value):
        raise ValueError(f"fallback must be model ids (a list or 'a,b'), not {value!r}.")
    return tuple(split_models(value))


@dataclass
class StreamRequest:
    """What a client prepares for one streamed answer; the stream object takes it from there
    (it may drop ``stream_options`` from the body if the server refuses them)."""

    model: str
    body: dict[str, Any]
    request_id: str
    answers: AnswerUse | None
    keeps_stream_options: bool  # the caller set them: never dropped


def new_request_id() -> str:
    """Sent as X-Request-ID and kept on the result, so one answer can be traced end to end."""
    return f"aimo-magic-{uuid.uuid4().hex[:16]}"


def status_error(
    response: httpx2.Response, request_id: str | None, *, api_key: str | None, server: str
) -> AimoError:
    """The typed error a failed response means, with its headers kept for Retry-After."""
    error = error_from_response(
        response.status_code, response.text, request_id=request_id, api_key=api_key, server=server
    )
    error.retry_headers = response.headers
    return error


def transport_error(
    exc: httpx2.HTTPError, settings: Settings, partial_text: str = "", *, started: bool
) -> AimoError:
    """A typed error for a failure below HTTP; a broken stream keeps its partial text."""
    kind = type(exc).__name__
    words = redact(str(exc), settings.api_key) or kind
    if started:
        what = kind if words == kind else f"{kind}: {words}"
        return IncompleteStreamError(f"The stream broke off ({what})", partial_text=partial_text)
    if isinstance(exc, httpx2.TimeoutException):
        return APITimeoutError(f"No answer from {settings.base_url} within {settings.timeout:g} s")
    if IN_BROWSER:
        # fetch() says only "Failed to fetch" both for a call the browser blocked and
        # for no network at all; the usual cause from a web page is the first.
        return APIConnectionError(
            f"The browser blocked or could not make the call to {settings.base_url} ({words})",
            hint=BROWSER_HINT,
        )
    return APIConnectionError(f"Could not reach {settings.base_url} ({words})")
