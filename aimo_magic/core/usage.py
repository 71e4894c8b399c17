"""The session's spend: tokens and estimated cost per model, and what cache hits saved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aimo_magic.core.pricing import Listed

if TYPE_CHECKING:
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.core.types import Usage

USAGE_FIELDS = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "cost_images",
    "unpriced",
    "cache_hits",
    "replayed",
    "saved",
    "saved_images",
)


@dataclass
class UsageLedger:
    """Tokens and estimated cost per model for this session, and what cache hits saved.

    ``cost`` sums the answers whose cost is known; ``unpriced`` counts the others
    (no listed price, or no usage reported), so an unknown cost is never read as 0.
    A cache hit charges nothing: it counts in ``cache_hits``, and the cost its tokens
    would have had at the serving provider's prices in ``saved``; ``replayed`` counts the
    hits that came from an answer file (recorded elsewhere, perhaps on another machine)
    rather than this machine's answer cache. Costs are kept in
    listed figures (tokens and images apart, ``pricing.Listed``) and read in a price
    basis when shown (``amount``), so a change of ``price_unit`` reads them all anew.
    """

    per_model: dict[str, dict[str, float]] = field(default_factory=dict)

    def _row(self, model: str) -> dict[str, float]:
        return self.per_model.setdefault(model, dict.fromkeys(USAGE_FIELDS, 0))

    def record(
        self, model: str, usage: Usage | None, cost: Listed | float | None, *, calls: int = 1
    ) -> None:
        """Add ``calls`` answers (a batch adds its rows at once) and their summed usage;
        ``cost`` in listed figures (a number: token figures, no images)."""
        cost = Listed(cost) if isinstance(cost, (int, float)) else cost
        row = self._row(model)
        row["calls"] += calls
        if usage is not None:
            row["prompt_tokens"] += usage.prompt_tokens
            row["completion_tokens"] += usage.completion_tokens
        if cost is None:
            row["unpriced"] += calls
        else:
            row["cost"] += cost.tokens
            row["cost_images"] += cost.images

    def record_hit(
        self, model: str, saved: Listed | float | None, *, hits: int = 1, replayed: int = 0
    ) -> None:
        """``hits`` answers that charged nothing, ``replayed`` of them from an answer file."""
        saved = Listed(saved) if isinstance(saved, (int, float)) else saved
        row = self._row(model)
        row["cache_hits"] += hits
        row["replayed"] += replayed
        if saved is not None:
            row["saved"] += saved.tokens
            row["saved_images"] += saved.images

    @property
    def cache_hits(self) -> int:
        return int(sum(row["cache_hits"] for row in self.per_model.values()))

    def totals(self) -> dict[str, float]:
        total = dict.fromkeys(USAGE_FIELDS, 0.0)
        for row in self.per_model.values():
            for key in total:
                total[key] += row[key]
        return total


def amount(row: dict[str, float], name: str, basis: PriceBasis) -> float:
    """A row's ``cost`` or ``saved`` in ``basis``'s currency."""
    return Listed(row[name], row[f"{name}_images"]).amount(basis)
