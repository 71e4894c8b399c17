"""What ``max_cost`` is checked against: the money spent, and reserved by rows in flight.

A batch has one of its own. The engines of an evaluation (one per model) share one, so
that ``max_cost`` bounds every model's rows together: whichever engine's next row would
pass it stops, and so does every other at its next row.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimo_magic.core.pricing import NOTHING, Listed, PriceBasis, money


@dataclass
class Spending:
    """Spend so far and guesses for requests in flight, in listed figures (one event loop:
    no lock); ``limit`` is ``max_cost``, in the unit costs are shown in, None for none."""

    limit: float | None = None
    spent: Listed = NOTHING
    reserved: Listed = NOTHING

    def would_pass(self, guess: Listed, basis: PriceBasis) -> bool:
        """Whether one more request guessed at ``guess`` could take the spend past the
        limit, read in ``basis`` (``core.pricing``)."""
        if self.limit is None:
            return False
        return (self.spent + self.reserved + guess).amount(basis) > self.limit

    def detail(self, basis: PriceBasis) -> str:
        limit = money(self.limit, basis) if self.limit is not None else "none"
        spent, held = (
            money(self.spent.amount(basis), basis),
            money(self.reserved.amount(basis), basis),
        )
        return f"max_cost={limit}: ≈{spent} spent and ≈{held} in flight"
