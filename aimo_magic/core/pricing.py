"""Cost estimates from usage and listed prices: no balance endpoint exists for API keys."""

from __future__ import annotations

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
