"""Listed prices: cost estimates from usage (no balance endpoint exists for API keys),
and how a listed price is written wherever one is shown.

Prices are shown digit for digit as listed, because their unit is not documented and
a silent conversion would make a price look like something it is not.
"""

from __future__ import annotations

from decimal import Decimal

from aimo_magic.core.types import Pricing, Usage


def estimate_cost(usage: Usage | None, pricing: Pricing | None, *, images: int = 0) -> float | None:
    """Tokens times the listed per-token prices, plus ``images`` times the per-image price
    where one is listed, in whatever unit the server listed them."""
    if usage is None or pricing is None:
        return None
    if pricing.prompt is None and pricing.completion is None:
        return None
    tokens = usage.prompt_tokens * (pricing.prompt or 0.0) + usage.completion_tokens * (
        pricing.completion or 0.0
    )
    return tokens + images * (pricing.image or 0.0)


def format_price(value: float | None) -> str:
    """The listed number in positional notation (``1e-06`` reads as ``0.000001``)."""
    if value is None:
        return "not listed"
    return format(Decimal(repr(value)), "f")
