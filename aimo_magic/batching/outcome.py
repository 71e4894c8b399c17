"""What a batch reports: live counts, failed rows, the one-line summary, its exceptions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aimo_magic.core.errors import AimoError
from aimo_magic.core.pricing import NOTHING, UNKNOWN, Listed, PriceBasis, money

STOP_MAX_COST = "max_cost"
STOP_BUDGET = "budget"
STOP_FATAL = "fatal"
STOP_INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RowError:
    """One failed row: where it is (index label or list position), what failed, why."""

    index: Any
    error: str
    message: str

    def __str__(self) -> str:
        return f"row {self.index!r}: {self.error}: {self.message}"


@dataclass
class Tally:
    """Counts the engine keeps and the progress bar reads (from another thread: plain ints)."""

    total: int
    answered: int = 0
    failed: int = 0
    cached: int = 0
    recorded: int = 0
    """Of ``cached``: answered from an answer file being replayed, not the cache."""
    in_flight: int = 0
    sent: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Listed = NOTHING
    cost_known: bool = True
    basis: PriceBasis = UNKNOWN
    """How the run reads listed prices: the unit of every amount it shows."""
    by_model: dict[str, ServedCount] = field(default_factory=dict)
    """Per served model: what it answered live, and from the cache."""

    @property
    def done(self) -> int:
        return self.answered + self.failed

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def shown_cost(self) -> float:
        """The spend so far in the run's currency (dollars, or listed price units)."""
        return self.cost.amount(self.basis)

    def money(self, amount: Listed | float) -> str:
        """An amount as the run shows it: ``$0.0012``, or in listed price units."""
        value = amount.amount(self.basis) if isinstance(amount, Listed) else amount
        return money(value, self.basis)


@dataclass
class ServedCount:
    """One served model's live answers (tokens, cost) and cache hits (what they saved)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Listed = NOTHING
    hits: int = 0
    replayed: int = 0
    saved: Listed = NOTHING


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def summary_line(
    tally: Tally,
    errors: list[RowError],
    stop: str | None,
    stop_detail: str,
    elapsed: float | None,
) -> str:
    """One line: how many rows were answered, failed (grouped by error) and not sent."""
    parts = [f"{tally.answered:,} of {_plural(tally.total, 'row')} answered"]
    if tally.cached:
        stored = tally.cached - tally.recorded
        where = [f"{stored:,} from the cache"] if stored else []
        if tally.recorded:
            where.append(f"{tally.recorded:,} recorded")
        parts[0] += f" ({', '.join(where)})"
    if errors:
        groups = Counter((e.error, e.message) for e in errors)
        shown = "; ".join(
            f"{count:,} × {kind}: {message}" for (kind, message), count in groups.most_common(3)
        )
        more = len(groups) - 3
        parts.append(
            f"{tally.failed:,} failed ({shown}{f'; and {more} other errors' if more > 0 else ''})"
        )
    missing = tally.total - tally.answered - tally.failed
    if missing:
        why = {
            STOP_MAX_COST: f"stopped at max_cost ({stop_detail})",
            STOP_BUDGET: f"stopped at the budget ({stop_detail})",
            STOP_FATAL: f"stopped: {stop_detail}",
            STOP_INTERRUPTED: "interrupted",
        }.get(stop or "", "not sent")
        parts.append(f"{missing:,} not sent, {why}; run it again to resume them")
    if tally.tokens:
        cost = f", ≈{tally.money(tally.cost)}" if tally.cost_known else ""
        parts.append(f"{tally.tokens:,} tokens{cost}")
    if elapsed is not None:
        parts.append(f"{elapsed:.1f} s")
    return "; ".join(parts) + "."


class BatchError(AimoError):
    """A batch that ended with failed or unsent rows and asked to raise.

    ``values`` holds the partial results (shaped like the input, NA where missing),
    ``errors`` the failed rows, ``cause`` the error that stopped it, if one did.
    """

    hint = "The finished rows are in .values; run the batch again to resume the rest."

    def __init__(
        self,
        detail: str,
        *,
        values: Any = None,
        errors: list[RowError] | None = None,
        cause: AimoError | None = None,
    ) -> None:
        # The cause's status is in the detail already; its hint says what to do.
        super().__init__(detail, hint=cause.hint if cause else None)
        self.values = values
        self.errors = errors or []
        self.cause = cause


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C or the stop button: in-flight requests were cancelled, finished rows kept."""

    def __init__(self, message: str, values: Any = None) -> None:
        super().__init__(message)
        self.values = values
