"""What rows cost: listed prices for spend so far, and conservative guesses for the rest.

A routing name (``openai/gpt-4o``) may be served by any of its providers, so a guess
ahead of the answer uses the dearest provider's prices (the cheapest for the low end of
an estimate), and spend uses the provider that actually answered. Prompt tokens are
guessed the way history trimming guesses them (``core.tokens``: about four characters
a token).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aimo_magic.batching.rows import Rows, messages_for
from aimo_magic.core.catalogue import find_model
from aimo_magic.core.pricing import estimate_cost
from aimo_magic.core.tokens import estimate_prompt_tokens
from aimo_magic.core.types import Model, Pricing, Usage

DEFAULT_ANSWER_TOKENS = 500
"""Answer length assumed for an estimate's high end and for ``max_cost`` when no
``max_tokens`` bounds it and no answer has come back yet."""


def total_prompt_tokens(rows: Rows, system: str | None) -> int:
    """Every row's estimated prompt tokens, system prompt included."""
    return sum(
        estimate_prompt_tokens(messages_for(system, rows.prompt(i))) for i in range(len(rows))
    )


def answer_bound(params: Mapping[str, Any]) -> int | None:
    """The longest answer the request allows, when the user set one."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = params.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _offers_pricing(model: Model, pinned: Any) -> list[Pricing]:
    offers = [pinned] if pinned is not None else list(model.providers)
    return [o.pricing for o in offers if o.pricing is not None]


class PriceBook:
    """Prices for one batch's model; ``known`` is False when the catalogue lists none."""

    def __init__(self, catalogue: Iterable[Model], model_id: str) -> None:
        self._catalogue = list(catalogue)
        found = find_model(self._catalogue, model_id)
        prices = _offers_pricing(*found) if found else []
        self.known = bool(prices)
        self.low = Pricing(
            prompt=min((p.prompt or 0.0 for p in prices), default=0.0),
            completion=min((p.completion or 0.0 for p in prices), default=0.0),
        )
        self.high = Pricing(
            prompt=max((p.prompt or 0.0 for p in prices), default=0.0),
            completion=max((p.completion or 0.0 for p in prices), default=0.0),
        )
        self._served: dict[str, Pricing] = {}

    def spent(self, served_model: str, usage: Usage | None) -> float | None:
        """The cost of one answer at the listed prices of the provider that served it."""
        if not self.known:
            return None
        pricing = self._served.get(served_model)
        if pricing is None:
            found = find_model(self._catalogue, served_model)
            offer = found[1] if found else None
            pricing = offer.pricing if offer and offer.pricing else self.high
            self._served[served_model] = pricing
        return estimate_cost(usage, pricing) or 0.0

    def guess(self, prompt: int, answer: int, *, high: bool = True) -> float:
        pricing = self.high if high else self.low
        return prompt * (pricing.prompt or 0.0) + answer * (pricing.completion or 0.0)
