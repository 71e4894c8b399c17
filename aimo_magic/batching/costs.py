"""What rows cost: listed prices for spend so far, and conservative guesses for the rest.

A routing name (``openai/gpt-4o``) may be served by any of its providers, so a guess
ahead of the answer uses the dearest provider's prices (the cheapest for the low end of
an estimate), and spend uses the provider that actually answered. Prompt tokens are
guessed the way history trimming guesses them (``core.tokens``: about four characters
a token).
"""

from __future__ import annotations

from collections.abc import Iterable

from aimo_magic.batching.rows import Rows, messages_for
from aimo_magic.core.catalogue import find_model
from aimo_magic.core.pricing import (
    NOTHING,
    Listed,
    PriceBasis,
    answer_bound,
    answer_pricing,
    charge,
    offers_of,
)
from aimo_magic.core.tokens import estimate_prompt_tokens
from aimo_magic.core.types import Model, Pricing, Usage

__all__ = ["DEFAULT_ANSWER_TOKENS", "PriceBook", "answer_bound", "total_prompt_tokens"]

DEFAULT_ANSWER_TOKENS = 500
"""Answer length assumed for an estimate's high end and for ``max_cost`` when no
``max_tokens`` bounds it and no answer has come back yet."""


def total_prompt_tokens(rows: Rows, system: str | None) -> int:
    """Every row's estimated prompt tokens, system prompt included."""
    return sum(
        estimate_prompt_tokens(messages_for(system, rows.prompt(i))) for i in range(len(rows))
    )


class PriceBook:
    """Prices for one batch's model, read in ``basis``; ``known`` is False when the
    catalogue lists none. Amounts are ``Listed`` figures (``core.pricing``)."""

    def __init__(self, catalogue: Iterable[Model], model_id: str, basis: PriceBasis) -> None:
        self._catalogue = list(catalogue)
        self._model_id = model_id
        self.basis = basis
        found = find_model(self._catalogue, model_id)
        offers = offers_of(*found) if found else []
        prices = [o.pricing for o in offers if o.pricing is not None]
        self.known = bool(prices)
        self.low = Pricing(
            prompt=min((p.prompt or 0.0 for p in prices), default=0.0),
            completion=min((p.completion or 0.0 for p in prices), default=0.0),
        )
        self.high = Pricing(
            prompt=max((p.prompt or 0.0 for p in prices), default=0.0),
            completion=max((p.completion or 0.0 for p in prices), default=0.0),
        )
        self._served: dict[str, Pricing | None] = {}

    def spent(self, served_model: str, usage: Usage | None) -> Listed | None:
        """The cost of one answer by ``pricing.answer_cost``'s rule (the provider that
        served it, else the dearest that may have); None when unknown."""
        if not self.known:
            return None
        if served_model not in self._served:
            self._served[served_model] = answer_pricing(
                self._catalogue, self._model_id, served_model
            )
        pricing = self._served[served_model] or self.high
        return charge(usage, pricing) or NOTHING

    def guess(self, prompt: int, answer: int, *, high: bool = True) -> Listed:
        pricing = self.high if high else self.low
        return Listed(prompt * (pricing.prompt or 0.0) + answer * (pricing.completion or 0.0))

    def shown(self, amount: Listed) -> float:
        """An amount in the basis's currency (dollars, or listed price units)."""
        return amount.amount(self.basis)
