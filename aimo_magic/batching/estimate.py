"""What a batch would cost, worked out without sending a single chat request.

Prompt tokens are guessed as the conversation layer guesses them; the answer's length
is unknown until it comes back, so the cost is a range: from empty answers at the
cheapest provider to answers of ``max_tokens`` (or ``DEFAULT_ANSWER_TOKENS`` when no
bound is set) at the dearest.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimo_magic.batching.costs import DEFAULT_ANSWER_TOKENS, PriceBook
from aimo_magic.core.pricing import UNKNOWN, PriceBasis, money


@dataclass(frozen=True)
class Estimate:
    """Rows, estimated prompt tokens and a cost range (None when the catalogue has no prices)."""

    model: str
    rows: int
    prompt_tokens: int
    answer_tokens: int
    answer_bounded: bool
    cost_low: float | None
    cost_high: float | None
    basis: PriceBasis = UNKNOWN
    """How the listed prices were read: ``cost_low`` and ``cost_high`` are in its currency."""

    @property
    def unit(self) -> str:
        """``USD``, or ``listed price units`` when the prices' unit is not known."""
        return self.basis.currency

    def __str__(self) -> str:
        text = f"{self.rows:,} rows to {self.model}: about {self.prompt_tokens:,} prompt tokens"
        if self.cost_low is None or self.cost_high is None:
            return text + "; no prices listed for this model, so no cost estimate."
        bound = (
            f"answers of up to {self.answer_tokens:,} tokens (max_tokens)"
            if self.answer_bounded
            else f"assuming answers of up to {self.answer_tokens:,} tokens; "
            "set max_tokens to bound them"
        )
        low, high = money(self.cost_low, self.basis), money(self.cost_high, self.basis)
        return f"{text}; estimated cost {low} to {high} ({bound})."

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # type: ignore[attr-defined]


def estimate(
    model: str, rows: int, prompt_tokens: int, prices: PriceBook | None, answer_bound: int | None
) -> Estimate:
    answer = answer_bound or DEFAULT_ANSWER_TOKENS
    known = prices is not None and prices.known
    return Estimate(
        model=model,
        rows=rows,
        prompt_tokens=prompt_tokens,
        answer_tokens=answer,
        answer_bounded=answer_bound is not None,
        cost_low=prices.shown(prices.guess(prompt_tokens, 0, high=False))
        if known and prices
        else None,
        cost_high=prices.shown(prices.guess(prompt_tokens, rows * answer))
        if known and prices
        else None,
        basis=prices.basis if prices is not None else UNKNOWN,
    )
