"""What an evaluation would send and cost, per model and for its judge, before anything is sent.

Rows already answered (in this evaluation, or in the answer cache) are counted apart:
they cost nothing now. The cost is a range, as a batch's estimate is: empty answers at
the cheapest provider up to answers of ``max_tokens`` (or the default bound) at the
dearest. ``max_cost`` is compared with both ends.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from aimo_magic.batching.estimate import Estimate
from aimo_magic.core.pricing import UNKNOWN, PriceBasis, money


@dataclass(frozen=True)
class ModelEstimate:
    """One model's (or the judge's) part: requests to send, those answered already, cost."""

    label: str
    requests: int
    answered: int
    estimate: Estimate


@dataclass(frozen=True)
class EvaluationEstimate:
    """The whole evaluation's requests, prompt tokens and cost range; nothing was sent."""

    models: tuple[ModelEstimate, ...]
    judge: ModelEstimate | None
    max_cost: float | None

    @property
    def basis(self) -> PriceBasis:
        """How listed prices were read (``core.pricing``): the costs are in its currency."""
        return self.parts[0].estimate.basis if self.parts else UNKNOWN

    @property
    def unit(self) -> str:
        """``USD``, or ``listed price units`` when the prices' unit is not known."""
        return self.basis.currency

    @property
    def parts(self) -> tuple[ModelEstimate, ...]:
        return self.models + ((self.judge,) if self.judge is not None else ())

    @property
    def requests(self) -> int:
        return sum(part.requests for part in self.parts)

    @property
    def cost_low(self) -> float | None:
        return _sum(part.estimate.cost_low for part in self.parts)

    @property
    def cost_high(self) -> float | None:
        return _sum(part.estimate.cost_high for part in self.parts)

    @property
    def frame(self) -> Any:
        """One row per model (and the judge): requests, answered already, tokens, cost range."""
        import pandas as pd

        return pd.DataFrame.from_records(
            [
                {
                    "requests": part.requests,
                    "answered": part.answered,
                    "prompt_tokens": part.estimate.prompt_tokens,
                    "answer_tokens_each": part.estimate.answer_tokens,
                    "cost_low": _nan(part.estimate.cost_low),
                    "cost_high": _nan(part.estimate.cost_high),
                }
                for part in self.parts
            ],
            index=[part.label for part in self.parts],
        )

    def verdict(self) -> str:
        """The line under the table: the total, and what ``max_cost`` will do."""
        low, high = self.cost_low, self.cost_high
        text = f"{self.requests:,} requests to send"
        answered = sum(part.answered for part in self.parts)
        if answered:
            text += f" ({answered:,} answered already, from this evaluation or the cache)"
        if low is None or high is None:
            return text + "; some model lists no prices, so there is no total cost estimate."
        basis = self.basis
        text += f"; estimated cost {money(low, basis)} to {money(high, basis)}"
        bounded = all(part.estimate.answer_bounded for part in self.parts)
        if not bounded:
            text += " (set max_tokens to bound the answers)"
        if self.max_cost is not None:
            if high <= self.max_cost:
                text += f"; within max_cost={money(self.max_cost, basis)}"
            elif low > self.max_cost:
                text += (
                    f"; even the low end passes max_cost={money(self.max_cost, basis)}: the run "
                    "will stop part-way (raise max_cost, or evaluate fewer rows or models)"
                )
            else:
                text += f"; max_cost={money(self.max_cost, basis)} may stop the run part-way"
        return text + "."

    def __str__(self) -> str:
        return f"{self.frame.to_string()}\n{self.verdict()}"

    def _repr_html_(self) -> str:
        return f"{self.frame.to_html()}<p>{html.escape(self.verdict())}</p>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _sum(values: Any) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value
