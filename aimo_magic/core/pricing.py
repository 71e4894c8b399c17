"""Listed prices and what they mean in money: the one place that knows the price unit.

AiMo's ``/v1/models`` lists each provider's prompt and completion prices as bare numbers
and does not document their unit. Every cost, estimate and budget is worked out here,
through a ``PriceBasis``: the unit the listed figures are read in. It is a setting
(``price_unit``: ``auto``, ``token``, ``thousand``, ``million`` or ``listed``); ``auto``
infers it from the whole catalogue (``infer_basis``), and where it cannot be inferred
the figures stay as listed, in "listed price units", and say so.

The rule of inference: read every non-zero prompt and completion price the catalogue
lists; choose the unit (USD per token, per thousand or per million tokens) that puts
their median nearest one dollar per million tokens (the middle of what models cost);
then require every price, read that way, to lie between $0.001 and $1,000 per million
tokens. A catalogue that no single unit fits (mixed units), or that lists no price above
zero, is not inferred. So a per-token figure above $0.001 (over $1,000 per million
tokens) is never taken for a per-token price: AiMo's listing of GPT-4o at 2.5 in and 10
out reads as $2.50 and $10 per million tokens (micro-USDC per token, which is the same).

Image prices are per image: once the unit is known they are read as dollars per image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aimo_magic.core.types import Pricing, Usage

if TYPE_CHECKING:
    from aimo_magic.core.types import Model, ProviderOffer

PRICE_UNITS: dict[str, str] = {
    "auto": "inferred from the catalogue's prices",
    "token": "USD per token",
    "thousand": "USD per 1,000 tokens",
    "million": "USD per 1,000,000 tokens",
    "listed": "as listed, unit unknown (no dollars)",
}
"""The choices of ``price_unit``, and what each reads a listed price as."""

_SPELLINGS = {
    "per_token": "token",
    "per-token": "token",
    "tokens": "token",
    "1": "token",
    "per_thousand": "thousand",
    "per-thousand": "thousand",
    "1k": "thousand",
    "k": "thousand",
    "1000": "thousand",
    "per_million": "million",
    "per-million": "million",
    "1m": "million",
    "m": "million",
    "1000000": "million",
    "raw": "listed",
    "unknown": "listed",
}

TOKENS_PER_FIGURE = {"token": 1, "thousand": 1_000, "million": 1_000_000}
"""How many tokens one listed figure prices, for each unit in dollars."""

PLAUSIBLE_PER_MILLION = (0.001, 1000.0)
"""Dollars per million tokens that any model may cost: from near-free to above the dearest
frontier model. A price read outside this band means the unit was guessed wrong."""

LISTED_UNITS = "listed price units"
MILLION = 1_000_000


class PriceUnitError(ValueError):
    """A ``price_unit`` that is not one of the choices."""


def check_price_unit(value: Any) -> str:
    """The unit ``value`` names (a few spellings are accepted), or a one-line error."""
    text = str(value).strip().lower().replace(" ", "_") if value is not None else "auto"
    unit = _SPELLINGS.get(text, text)
    if unit not in PRICE_UNITS:
        raise PriceUnitError(
            f"price_unit must be one of {', '.join(PRICE_UNITS)}, not {value!r} "
            "(token, thousand, million: USD per that many tokens; listed: no dollars)."
        )
    return unit


@dataclass(frozen=True)
class PriceBasis:
    """How listed figures become money: ``unit`` is token, thousand, million or listed.

    ``inferred`` is True when ``auto`` chose the unit; ``reason`` says in a few words how
    it was chosen (or why it could not be).
    """

    unit: str = "listed"
    inferred: bool = False
    reason: str = ""

    @property
    def dollars(self) -> bool:
        """Whether costs are in US dollars (else in listed price units)."""
        return self.unit in TOKENS_PER_FIGURE

    @property
    def currency(self) -> str:
        """What amounts are counted in: ``USD`` or ``listed price units``."""
        return "USD" if self.dollars else LISTED_UNITS

    def describe(self) -> str:
        """The basis in one phrase, for ``%aimo usage``'s footnote and ``%aimo config``."""
        if not self.dollars:
            why = f" ({self.reason})" if self.reason else ""
            return f"listed price units: the prices' unit is not known{why}"
        how = f", inferred: {self.reason}" if self.inferred else " (price_unit)"
        return f"US dollars, listed prices read as {PRICE_UNITS[self.unit]}{how}"

    def token_cost(self, tokens: float, figure: float) -> float:
        """What ``tokens`` cost at a listed per-token ``figure``."""
        per = TOKENS_PER_FIGURE.get(self.unit, 1)
        return tokens * figure / per

    def per_million(self, figure: float) -> float:
        """A listed figure as dollars per million tokens (unchanged when not in dollars)."""
        if not self.dollars:
            return figure
        return figure * MILLION / TOKENS_PER_FIGURE[self.unit]


UNKNOWN = PriceBasis("listed", reason="no catalogue to infer it from")


def listed_figures(models: Iterable[Model]) -> list[float]:
    """Every non-zero prompt and completion price the catalogue lists."""
    figures = []
    for model in models:
        for offer in model.providers:
            pricing = offer.pricing
            if pricing is None:
                continue
            for value in (pricing.prompt, pricing.completion):
                if value is not None and math.isfinite(value) and value > 0:
                    figures.append(value)
    return figures


def infer_basis(models: Iterable[Model]) -> PriceBasis:
    """The unit that makes the whole catalogue's prices plausible, or listed units."""
    import statistics

    figures = listed_figures(models)
    if not figures:
        return PriceBasis("listed", reason="no model lists a price above zero")
    median = statistics.median(figures)
    unit = min(
        TOKENS_PER_FIGURE,
        key=lambda u: abs(math.log10(median * MILLION / TOKENS_PER_FIGURE[u])),
    )
    scale = MILLION / TOKENS_PER_FIGURE[unit]
    low, high = min(figures) * scale, max(figures) * scale
    floor, ceiling = PLAUSIBLE_PER_MILLION
    if low < floor or high > ceiling:
        return PriceBasis(
            "listed",
            reason=f"the listed prices span {format_price(min(figures))} to "
            f"{format_price(max(figures))}, more than one unit fits",
        )
    return PriceBasis(
        unit,
        inferred=True,
        reason=f"{len(figures)} listed prices, median {format_price(median)}",
    )


def price_basis(unit: str | None, models: Iterable[Model] | None) -> PriceBasis:
    """The basis for a ``price_unit`` setting and the catalogue it applies to."""
    chosen = check_price_unit(unit)
    if chosen == "auto":
        return infer_basis(models) if models is not None else UNKNOWN
    if chosen == "listed":
        return PriceBasis("listed", reason="price_unit = listed")
    return PriceBasis(chosen)


# Costs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """An amount in listed figures, before any unit is applied: the sum of tokens times
    their per-token figure, and of images times their per-image figure.

    Kept apart because only the token part depends on the price unit; every ledger and
    budget counts in these, so a change of ``price_unit`` reads all of it anew, exactly.
    """

    tokens: float = 0.0
    images: float = 0.0

    def __add__(self, other: Listed) -> Listed:
        return Listed(self.tokens + other.tokens, self.images + other.images)

    def __sub__(self, other: Listed) -> Listed:
        return Listed(self.tokens - other.tokens, self.images - other.images)

    def amount(self, basis: PriceBasis) -> float:
        """This amount in ``basis``'s currency (dollars, or listed price units)."""
        return basis.token_cost(self.tokens, 1.0) + self.images


NOTHING = Listed()


def listed_cost(usage: Usage | None, pricing: Pricing | None, *, images: int = 0) -> Listed | None:
    """What ``usage`` (and ``images``) cost at ``pricing``, in listed figures; None when
    either is unknown."""
    if usage is None or pricing is None:
        return None
    if pricing.prompt is None and pricing.completion is None:
        return None
    tokens = usage.prompt_tokens * (pricing.prompt or 0.0) + usage.completion_tokens * (
        pricing.completion or 0.0
    )
    return Listed(tokens, images * (pricing.image or 0.0))


def charge(usage: Usage | None, pricing: Pricing | None, *, images: int = 0) -> Listed | None:
    """What an answer is charged: its cost at ``pricing``, except that an answer with no
    completion tokens is not charged at all (AiMo settles the real usage)."""
    if usage is not None and pricing is not None and usage.completion_tokens == 0:
        return NOTHING
    return listed_cost(usage, pricing, images=images)


def estimate_cost(usage: Usage | None, pricing: Pricing | None, *, images: int = 0) -> float | None:
    """Tokens times the listed per-token figures, plus ``images`` times the per-image one,
    in listed price units (no unit applied)."""
    cost = listed_cost(usage, pricing, images=images)
    return None if cost is None else cost.tokens + cost.images


def cost_at(
    usage: Usage | None, pricing: Pricing | None, basis: PriceBasis, *, images: int = 0
) -> float | None:
    """What ``usage`` (and ``images``) cost at ``pricing``, in ``basis``'s currency."""
    cost = listed_cost(usage, pricing, images=images)
    return None if cost is None else cost.amount(basis)


def offers_of(model: Model, pinned: ProviderOffer | None) -> list[ProviderOffer]:
    """The offers a request may be served by: the pinned one, else every provider."""
    return [pinned] if pinned is not None else list(model.providers)


def dearest(offers: Sequence[ProviderOffer]) -> Pricing | None:
    """The highest listed prompt, completion and image prices among ``offers``; None when
    any of them lists no price (the router might pick that one)."""
    prices = [o.pricing for o in offers]
    if not prices or any(p is None or (p.prompt is None and p.completion is None) for p in prices):
        return None
    known = [p for p in prices if p is not None]
    images = [p.image for p in known if p.image is not None]
    return Pricing(
        prompt=max(p.prompt or 0.0 for p in known),
        completion=max(p.completion or 0.0 for p in known),
        image=max(images) if images else None,
    )


def answer_pricing(catalogue: Iterable[Model], requested: str, served: str) -> Pricing | None:
    """The prices an answer is charged at: the provider that served it (the server names
    it in the answer's model id), else the pinned provider asked for, else the dearest
    provider of the model (an estimate that errs high, never low)."""
    from aimo_magic.core.catalogue import find_model

    models = list(catalogue)
    found = find_model(models, served)
    if found is not None and found[1] is not None:
        return found[1].pricing
    found = find_model(models, requested) or found
    if found is None:
        return None
    model, offer = found
    return offer.pricing if offer is not None else dearest(model.providers)


def answer_cost(
    catalogue: Iterable[Model] | None,
    requested: str,
    served: str,
    usage: Usage | None,
    *,
    images: int = 0,
) -> Listed | None:
    """What one answer cost, in listed figures, by ``answer_pricing``'s rule: the one
    rule every display, ledger and budget uses. None when the price or usage is unknown."""
    if catalogue is None:
        return None
    return charge(usage, answer_pricing(catalogue, requested, served), images=images)


def answer_bound(params: Mapping[str, Any]) -> int | None:
    """The longest answer the request allows, when the caller set one."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True)
class Maximum:
    """The most one request could cost (``cost``), or, when that is not known, ``why``.

    ``prompt_tokens`` is the prompt's estimate and ``answer_tokens`` the longest answer
    allowed: ``max_tokens``, else what the model's context leaves (``by_context``).
    ``unbounded``: the price is known but nothing bounds the answer (set max_tokens).
    """

    cost: Listed | None
    why: str = ""
    prompt_tokens: int = 0
    answer_tokens: int = 0
    by_context: bool = False
    unbounded: bool = False


def maximum_cost(catalogue: Iterable[Model], body: Mapping[str, Any]) -> Maximum:
    """The most the request ``body`` could cost: its estimated prompt tokens plus an answer
    of ``max_tokens`` (else as long as the model's context allows), at the dearest
    provider that may serve it, images included."""
    from aimo_magic.core.catalogue import find_model
    from aimo_magic.core.image_parts import count_images
    from aimo_magic.core.tokens import estimate_request_tokens

    model_id = str(body.get("model") or "")
    found = find_model(catalogue, model_id)
    if found is None:
        return Maximum(None, f"{model_id} is not in the model list, so its price is not known")
    model, pinned = found
    pricing = dearest(offers_of(model, pinned))
    if pricing is None:
        return Maximum(None, f"{model_id} has no listed price")
    messages = body.get("messages") or []
    prompt = estimate_request_tokens(body)
    answer = answer_bound(body)
    by_context = answer is None
    if answer is None and model.context_length:
        answer = max(model.context_length - prompt, 0)
    if answer is None:
        return Maximum(
            None, f"{model_id} lists no context length, so its answer has no bound", unbounded=True
        )
    usage = Usage(prompt, answer, prompt + answer)
    cost = listed_cost(usage, pricing, images=count_images(messages))
    return Maximum(cost, "", prompt, answer, by_context)


# Writing prices and amounts ---------------------------------------------------------


def format_price(value: float | None) -> str:
    """The listed number in positional notation (``1e-06`` reads as ``0.000001``)."""
    if value is None:
        return "not listed"
    return format(Decimal(repr(value)), "f")


def two_digits(amount: float) -> str:
    """Two significant digits however small (0.0012, 0.000034, 2.5)."""
    if amount == 0 or not math.isfinite(amount):
        return f"{amount:g}"
    decimals = max(2, 1 - math.floor(math.log10(abs(amount))))
    return f"{amount:.{decimals}f}".rstrip("0").rstrip(".")


def format_amount(amount: float) -> str:
    """Cents from one up (2.50, 1,234.00), two significant digits below (0.60, 0.012,
    0.0012, 0.000034): a small cost is never rounded to nothing."""
    if amount == 0 or not math.isfinite(amount):
        return f"{amount:g}"
    if abs(amount) >= 1:
        return f"{amount:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(abs(amount))))
    text = f"{amount:.{decimals}f}"
    return text.rstrip("0") if decimals > 2 else text


def money(amount: float, basis: PriceBasis) -> str:
    """An amount as a person reads it: ``$0.0012``, or ``6,132.50 listed price units``."""
    if basis.dollars:
        sign = "-" if amount < 0 else ""
        return f"{sign}${format_amount(abs(amount))}"
    return f"{format_amount(amount)} {LISTED_UNITS}"


def money_figure(amount: float, basis: PriceBasis) -> str:
    """An amount for a table whose footnote names the unit: ``$0.0012`` or ``6,132.50``."""
    return money(amount, basis) if basis.dollars else format_amount(amount)


def price_per_million(figure: float | None, basis: PriceBasis) -> str:
    """A listed price as dollars per million tokens (``$2.50``), or as listed."""
    if figure is None:
        return "not listed"
    if not basis.dollars:
        return format_price(figure)
    return money(basis.per_million(figure), basis)


def price_heading(basis: PriceBasis) -> str:
    """What a column of ``price_per_million`` values is in."""
    return "USD per 1M tokens" if basis.dollars else f"{LISTED_UNITS}, per token as listed"
