"""Tokens and estimated cost per model, and in total, for this kernel session.

Costs are estimates: tokens times the provider's listed per-token prices, in the
unit the server lists them (no balance or usage endpoint exists for API keys).
Answers from the answer cache charge nothing; they are counted as cache hits with
the cost they saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aimo_magic.core.types import Model
    from aimo_magic.core.usage import UsageLedger
    from aimo_magic.magics.cmd._host import MagicsSurface
    from aimo_magic.magics.cmd._table import Table


def parser() -> CommandParser:
    return CommandParser("usage", __doc__)


def _cost(row: dict[str, float]) -> str:
    """The estimate, ``unknown`` when no answer had a price, ``X + unknown`` when some did."""
    from aimo_magic.core.pricing import format_price

    unpriced, calls = int(row.get("unpriced", 0)), int(row["calls"])
    if calls and unpriced >= calls:
        return "unknown"
    known = format_price(round(row["cost"], 12))
    return f"{known} + unknown" if unpriced else known


def _row(name: str, row: dict[str, float], hits: bool) -> tuple[str, ...]:
    prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
    cells = (
        name,
        str(int(row["calls"])),
        f"{prompt:,}",
        f"{completion:,}",
        f"{prompt + completion:,}",
        _cost(row),
    )
    if not hits:
        return cells
    from aimo_magic.core.pricing import format_price

    return (*cells, str(int(row["cache_hits"])), format_price(round(row["saved"], 12)))


def usage_table(ledger: UsageLedger, catalogue: Sequence[Model] = ()) -> Table:
    """Per model and in total; answers without a listed price make a cost unknown.

    A row is named ``model · provider`` when the server answered with a provider's
    pinned id (its public key first); the ids themselves are listed under the table.
    """
    from aimo_magic.core.catalogue import readable_id
    from aimo_magic.magics.cmd._models_table import UNIT
    from aimo_magic.magics.cmd._table import Table, count

    totals = ledger.totals()
    hits = ledger.cache_hits > 0
    notes = [
        f"* tokens × the provider's listed prices ({UNIT}); an estimate, "
        "not a bill: check the AiMo dashboard for your balance."
    ]
    unpriced = int(totals["unpriced"])
    if unpriced:
        notes.append(
            f"{unpriced} of {count(int(totals['calls']), 'answer')} had no listed price "
            "(or no usage reported): their cost is unknown, not zero, and left out of the sums."
        )
    headers = ["Model", "Answers", "Prompt tokens", "Completion tokens", "Total tokens"]
    headers.append("Est. cost*")
    if hits:
        headers += ["Cache hits", "Est. saved*"]
        notes.append(
            "Answers and tokens count live answers only; cache hits charged nothing and "
            "saved what their tokens would have cost."
        )
    named = sorted((readable_id(catalogue, key), key) for key in ledger.per_model)
    rows = [_row(label, ledger.per_model[key], hits) for label, key in named]
    rows.append(_row("Total", totals, hits))
    pinned = [f"{label} = {key}" for label, key in named if label != key]
    if pinned:
        notes.append("Ids, as a %%aimo line takes them: " + "; ".join(pinned) + ".")
    return Table(headers=headers, rows=rows, title="AiMo usage in this session", notes=notes)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    ledger = magics.session.usage
    if not ledger.per_model:
        print("No answers yet in this session, so no usage to show.")
        return
    usage_table(ledger, magics.session.cached_catalogue or ()).show()
