"""Which provider a request goes to, and where it goes next if that one fails.

A model on AiMo is served by several providers at their own prices and speeds; a
``provider_pubkey:model`` id pins one, a routing name lets AiMo choose. The route says
how to choose:

- ``auto``: the model id as asked; a routing name is AiMo's to route (as it always was);
- ``cheapest``: the provider with the lowest price for *this* request: its prompt tokens
  (estimated as history trimming estimates them), its images, and an answer as long as
  ``max_tokens`` allows (``TYPICAL_ANSWER_TOKENS`` when nothing bounds it);
- ``fastest``: the provider with the best measured time to a typical answer (median
  first-token time plus the answer at its median rate) over this user's recent answers
  (``core.provider_log``). Providers not yet measured are tried in turn; when nothing at
  all is measured for the model, AiMo routes (``auto``), and its answer is the first
  measure.

``max_price`` refuses providers whose price for this request would pass it; with
``auto`` it pins the cheapest one within it when some are refused (AiMo might otherwise
route to one of them). ``fallback`` names models to try after this one; with it, the
request may also go to the model's other providers (route order) before the next model.

``plan_route`` returns the hops in order: the first is sent, the others are where a
failure that another provider may not share falls back to (``core.fallback``). Each hop
says why it is there, for the footer. A model id the catalogue does not list is sent as
it is (the server decides); ``max_price`` then cannot be honoured and is refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.core.provider_log import ProviderFigures
    from aimo_magic.core.types import Model, ProviderOffer

Priced = tuple["ProviderOffer", "float | None"]
"""A provider and its price for the request at hand (None: not listed)."""
Route = Literal["auto", "cheapest", "fastest"]
ROUTES: tuple[str, ...] = ("auto", "cheapest", "fastest")
TYPICAL_ANSWER_TOKENS = 500
"""The answer length assumed for a request whose length nothing bounds (``max_tokens``)."""
UNRELIABLE_SHARE = 0.5
"""A provider whose recent failures outnumber this share of its tries goes after the others."""


class Measurements(Protocol):
    """What ``fastest`` reads: each measured provider of a model at a server."""

    def figures(self, base_url: str, model: str) -> Mapping[str, ProviderFigures]: ...


@dataclass(frozen=True)
class RequestSize:
    """What one request weighs for pricing: prompt tokens, images, the longest answer."""

    prompt_tokens: int
    answer_tokens: int = TYPICAL_ANSWER_TOKENS
    images: int = 0
    answer_bounded: bool = False

    @classmethod
    def of(cls, messages: Iterable[Mapping[str, Any]], params: Mapping[str, Any]) -> RequestSize:
        from aimo_magic.core.image_parts import count_images
        from aimo_magic.core.tokens import estimate_prompt_tokens

        listed = list(messages)
        bound = answer_bound(params)
        return cls(
            prompt_tokens=estimate_prompt_tokens(listed),
            answer_tokens=bound or TYPICAL_ANSWER_TOKENS,
            images=count_images(listed),
            answer_bounded=bound is not None,
        )


def answer_bound(params: Mapping[str, Any]) -> int | None:
    """The longest answer the request allows, when the user set one."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def request_price(
    offer: ProviderOffer, size: RequestSize, basis: PriceBasis | None = None
) -> float | None:
    """The provider's price for this request at its listed prices, in ``basis``'s
    currency (dollars, or listed price units; None: listed units); None when not listed."""
    from aimo_magic.core.pricing import UNKNOWN, cost_at
    from aimo_magic.core.types import Usage

    tokens = size.prompt_tokens + size.answer_tokens
    usage = Usage(size.prompt_tokens, size.answer_tokens, tokens)
    return cost_at(usage, offer.pricing, basis or UNKNOWN, images=size.images)


@dataclass(frozen=True)
class Hop:
    """One place a request may go: the id sent, its catalogue entry and provider (None:
    AiMo's routing), its price for this request when listed, and why it is here."""

    model_id: str
    model: Model | None = None
    offer: ProviderOffer | None = None
    price: float | None = None
    why: str = ""

    @property
    def label(self) -> str:
        """``DeepSeek-V3-1 · akash-ml`` for a pinned provider, else the id."""
        if self.model is not None and self.offer is not None:
            return f"{self.model.name} · {self.offer.name}"
        return self.model_id


def split_models(models: str | Iterable[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` as a list of ids, blanks and repeats dropped."""
    items = models.split(",") if isinstance(models, str) else list(models)
    chosen: list[str] = []
    for item in items:
        name = str(item).strip()
        if name and name not in chosen:
            chosen.append(name)
    return chosen


def check_route(route: Any) -> str:
    if route not in ROUTES:
        raise ValueError(f"route must be one of {', '.join(ROUTES)}, not {route!r}.")
    return str(route)


def check_max_price(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"max_price must be a number of 0 or more (or None), not {value!r}.")
    return float(value)


def plan_route(
    model_id: str,
    catalogue: Sequence[Model] | None,
    size: RequestSize,
    *,
    route: str = "auto",
    max_price: float | None = None,
    fallback: Sequence[str] | None = None,
    measured: Measurements | None = None,
    base_url: str = "",
    basis: PriceBasis | None = None,
) -> tuple[Hop, ...]:
    """The hops of one request, in order; raises RouteError when the model's own
    providers are all refused by ``max_price`` (a fallback model's are then skipped).

    ``fallback`` None means none: the first hop only. A sequence (even empty) lets the
    request fall back to the model's other providers, then to each model named.
    Prices (and ``max_price``) are in ``basis``'s currency (``core.pricing``: dollars
    when the price unit is known; None: listed price units).
    """
    from aimo_magic.core.catalogue import find_model
    from aimo_magic.core.errors import RouteError

    planner = _Planner(size, check_route(route), max_price, basis, measured, base_url)
    listed = list(catalogue or ())
    hops: list[Hop] = []
    for number, name in enumerate([model_id, *(fallback or ())]):
        try:
            ways = planner.hops_for(name, find_model(listed, name))
        except RouteError:
            if number == 0:
                raise
            continue
        if number:
            ways = [_fallback_hop(hop, f"fallback model {number}") for hop in ways]
        hops.extend(hop for hop in ways if hop.model_id not in {h.model_id for h in hops})
        if fallback is None:
            break
    return tuple(hops[:1]) if fallback is None else tuple(hops)


def _fallback_hop(hop: Hop, why: str) -> Hop:
    from dataclasses import replace

    return replace(hop, why=f"{why}: {hop.why}" if hop.why else why)


@dataclass(frozen=True)
class _Planner:
    """One request's routing: its size, route, price cap, currency and measurements."""

    size: RequestSize
    route: str
    max_price: float | None
    basis: PriceBasis | None
    measured: Measurements | None
    base_url: str

    def hops_for(
        self, model_id: str, found: tuple[Model, ProviderOffer | None] | None
    ) -> list[Hop]:
        """Every way to send ``model_id``, best first, by the route."""
        from aimo_magic.core.errors import RouteError

        max_price = self.max_price
        if found is None:
            if max_price is not None:
                raise RouteError(
                    f"max_price {self.amount(max_price)}: {model_id!r} has no listed prices "
                    "here, so its price cannot be checked; drop max_price or pick a listed model"
                )
            return [Hop(model_id, why="as asked (not in the model list)")]
        model, pinned = found
        offers = [(offer, request_price(offer, self.size, self.basis)) for offer in model.providers]
        allowed = offers
        if max_price is not None:
            allowed = [(o, p) for o, p in offers if p is not None and p <= max_price]
            if not allowed and pinned is None:
                raise RouteError(self.too_dear(model, offers))
        if pinned is not None:
            return self.pinned_first(model, pinned, offers, allowed)
        if not model.providers:
            return [Hop(model.name, model, None, None, "")]
        every_one = len(allowed) == len(offers)
        if self.route == "auto" and every_one:
            return self.aimo_first(model, allowed, "")
        if self.route == "fastest":
            return self.fastest(model, allowed, every_one)
        if every_one and all(price is None for _, price in allowed):
            return self.aimo_first(model, allowed, "cheapest: no prices listed, AiMo's routing")
        why = (
            "cheapest for this request" if self.route == "cheapest" else "cheapest within max_price"
        )
        (first, price), *rest = _by_price(allowed)
        return [
            Hop(first.id, model, first, price, self.priced(why, price)),
            *(Hop(o.id, model, o, p, self.priced("next cheapest", p)) for o, p in rest),
        ]

    def pinned_first(
        self, model: Model, pinned: ProviderOffer, offers: list[Priced], allowed: list[Priced]
    ) -> list[Hop]:
        """A provider the user pinned is kept whatever the route; the others follow."""
        from aimo_magic.core.errors import RouteError

        price = next(p for o, p in offers if o.id == pinned.id)
        if self.max_price is not None and (price is None or price > self.max_price):
            raise RouteError(self.too_dear(model, [(pinned, price)]))
        others = self.ordered(model, allowed)
        return [
            Hop(pinned.id, model, pinned, price, "the provider asked for"),
            *(Hop(o.id, model, o, p, "next provider") for o, p in others if o.id != pinned.id),
        ]

    def aimo_first(self, model: Model, offers: list[Priced], why: str) -> list[Hop]:
        """AiMo's routing (the routing name), then, should it fail, each provider in turn,
        cheapest first: AiMo's own order."""
        return [
            Hop(model.name, model, None, None, why),
            *(
                Hop(o.id, model, o, p, self.priced("next provider", p))
                for o, p in _by_price(offers)
            ),
        ]

    def ordered(self, model: Model, offers: list[Priced]) -> list[Priced]:
        if self.route == "fastest":
            figures = self.figures(model)
            size = self.size
            return sorted(
                offers, key=lambda item: _speed_key(figures.get(item[0].provider_id), size)
            )
        return _by_price(offers)

    def figures(self, model: Model) -> Mapping[str, ProviderFigures]:
        if self.measured is None:
            return {}
        return self.measured.figures(self.base_url, model.name)

    def fastest(self, model: Model, allowed: list[Priced], every_one: bool) -> list[Hop]:
        figures, size = self.figures(model), self.size
        known = [(o, p) for o, p in allowed if (f := figures.get(o.provider_id)) and f.measured]
        if not known and every_one:
            return self.aimo_first(model, allowed, "fastest: nothing measured yet, AiMo's routing")
        untried = [(o, p) for o, p in allowed if not (figures.get(o.provider_id) or _NONE).measured]
        ranked = self.ordered(model, allowed)
        if known and not untried:
            best, price = ranked[0]
            seconds = expected_seconds(figures[best.provider_id], size.answer_tokens)
            why = f"fastest measured (≈{seconds:.2g} s to a {size.answer_tokens}-token answer)"
            first = Hop(best.id, model, best, price, why)
        else:
            # The next provider not measured yet: the least failed, in the catalogue's order.
            trying, price = min(
                untried, key=lambda item: (figures.get(item[0].provider_id) or _NONE).failures
            )
            first = Hop(
                trying.id, model, trying, price, "fastest: trying a provider not measured yet"
            )
        return [
            first,
            *(Hop(o.id, model, o, p, "next fastest") for o, p in ranked if o.id != first.model_id),
        ]

    def amount(self, price: float) -> str:
        """A price as costs are shown: ``$0.0012`` in dollars, else the listed figure."""
        from aimo_magic.core.pricing import money

        return (
            money(price, self.basis)
            if self.basis is not None and self.basis.dollars
            else short_price(price)
        )

    def priced(self, why: str, price: float | None) -> str:
        return why if price is None else f"{why} (≈{self.amount(price)})"

    def too_dear(self, model: Model, offers: list[Priced]) -> str:
        assert self.max_price is not None
        cap = self.amount(self.max_price)
        priced = [(o, p) for o, p in offers if p is not None]
        if not priced:
            return (
                f"max_price {cap}: no provider of {model.name} lists a price, so none can be "
                "checked against it; drop max_price or pick a model with listed prices"
            )
        offer, price = min(priced, key=lambda item: item[1])
        return (
            f"max_price {cap}: every provider of {model.name} costs more for this request "
            f"(the cheapest, {offer.name}: ≈{self.amount(price)}); raise max_price, "
            "bound the answer with max_tokens, or pick another model"
        )


def short_price(price: float) -> str:
    """Two significant digits however small, no exponent (``0.0012``, ``2.5``, ``450``)."""
    if price == 0 or not math.isfinite(price):
        return f"{price:g}"
    decimals = max(0, 1 - math.floor(math.log10(abs(price))))
    return f"{price:.{decimals}f}"


def _by_price(offers: list[Priced]) -> list[Priced]:
    """Cheapest first; unlisted prices last; ties keep the catalogue's order."""
    return sorted(offers, key=lambda item: (item[1] is None, item[1] or 0.0))


def expected_seconds(figures: ProviderFigures, answer_tokens: int) -> float | None:
    """Time to a typical answer: the median first token, then the answer at the median rate."""
    if figures.first_token_s is None:
        return None
    rate = figures.tokens_per_second
    return figures.first_token_s + (answer_tokens / rate if rate else 0.0)


def _unreliable(figures: ProviderFigures) -> bool:
    tries = figures.answers + figures.failures
    return tries > 0 and figures.failures / tries > UNRELIABLE_SHARE


def _speed_key(figures: ProviderFigures | None, size: RequestSize) -> tuple[int, float]:
    """Measured and reliable first (fastest first), then not measured, then unreliable."""
    if figures is None or not figures.measured:
        return (2 if figures is not None and _unreliable(figures) else 1, 0.0)
    seconds = expected_seconds(figures, size.answer_tokens) or 0.0
    return (2 if _unreliable(figures) else 0, seconds)


class _NoFigures:
    measured = False
    failures = 0


_NONE: Any = _NoFigures()
