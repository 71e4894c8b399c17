"""What ``max_cost`` is checked against: the money spent, and reserved by rows in flight.

A batch has one of its own. The engines of an evaluation (one per model) share one, so
that ``max_cost`` bounds every model's rows together: whichever engine's next row would
pass it stops, and so does every other at its next row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Spending:
    """Listed-price spend so far and guesses for requests in flight (one event loop: plain
    floats); ``limit`` is ``max_cost``, None for no limit."""

    limit: float | None = None
    spent: float = 0.0
    reserved: float = 0.0

    def would_pass(self, guess: float) -> bool:
        """Whether one more request guessed at ``guess`` could take the spend past the limit."""
        return self.limit is not None and self.spent + self.reserved + guess > self.limit

    def detail(self) -> str:
        limit = f"{self.limit:g}" if self.limit is not None else "none"
        return f"max_cost={limit}: ≈{self.spent:.6g} spent and ≈{self.reserved:.6g} in flight"
