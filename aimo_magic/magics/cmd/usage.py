"""Tokens and estimated cost per model, and in total, for this kernel session; the
budget's spend and what is left of it.

Costs are estimates: tokens times the provider's listed prices, read in the session's
price unit (`%config AimoMagics.price_unit`; inferred from the catalogue by default), as
no balance or usage endpoint exists for API keys. Answers from the answer cache charge
nothing; they are counted as cache hits with the cost they saved, and so are answers
replayed from an answer file (`%aimo answers`), which a note counts apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aimo_magic.core.budget import Budget
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.core.types import Model
    from aimo_magic.core.usage import UsageLedger
    from aimo_magic.magics.cmd._host import MagicsSurface
    from aimo_magic.magics.cmd._table import Table


def parser() -> CommandParser:
    return CommandParser("usage", __doc__)


def shown(amount: float, basis: PriceBasis) -> str:
    """An amount for the table: ``$0.0025`` in dollars; digit for digit in listed units."""
    from aimo_magic.core.pricing import format_price, money_figure

    if basis.dollars:
        return money_figure(amount, basis)
    return format_price(round(amount, 12))


def _cost(row: dict[str, float], basis: PriceBasis) -> str:
    """The estimate, ``unknown`` when no answer had a price, ``X + unknown`` when some did."""
    from aimo_magic.core.usage import amount

    unpriced, calls = int(row.get("unpriced", 0)), int(row["calls"])
    if calls and unpriced >= calls:
        return "unknown"
    known = shown(amount(row, "cost", basis), basis)
    return f"{known} + unknown" if unpriced else known


def _row(name: str, row: dict[str, float], hits: bool, basis: PriceBasis) -> tuple[str, ...]:
    prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
    cells = (
        name,
        str(int(row["calls"])),
        f"{prompt:,}",
        f"{completion:,}",
        f"{prompt + completion:,}",
        _cost(row, basis),
    )
    if not hits:
        return cells
    from aimo_magic.core.usage import amount

    return (*cells, str(int(row["cache_hits"])), shown(amount(row, "saved", basis), basis))


def budget_lines(budget: Budget | None, basis: PriceBasis) -> list[str]:
    """What the session's budget has counted: spent, held in flight, left, unknown."""
    if budget is None:
        return []
    state = budget.state(basis)
    if state.cap is None:
        if not state.spent and not state.unknown:
            return []
        return [f"Spent this session: {state.summary()}; no budget (`%aimo budget N` sets one)."]
    return [f"Budget: {state.summary()}."]


def usage_table(
    ledger: UsageLedger,
    catalogue: Sequence[Model] = (),
    basis: PriceBasis | None = None,
    budget: Budget | None = None,
) -> Table:
    """Per model and in total; answers without a listed price make a cost unknown.

    A row is named ``model · provider`` when the server answered with a provider's
    pinned id (its public key first); the ids themselves are listed under the table.
    Costs are read in ``basis`` (by default inferred from ``catalogue``), which the
    footnote names once.
    """
    from aimo_magic.core.catalogue import readable_id
    from aimo_magic.core.pricing import price_basis
    from aimo_magic.magics.cmd._table import Table, count

    if basis is None:
        basis = price_basis("auto", catalogue or None)
    totals = ledger.totals()
    hits = ledger.cache_hits > 0
    notes = [
        f"* tokens × the provider's listed prices, in {basis.describe()}; an estimate, "
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
        replayed = int(totals["replayed"])
        if replayed:
            notes.append(
                f"{replayed:,} of the {int(totals['cache_hits']):,} cache hits "
                f"{'was an answer' if replayed == 1 else 'were answers'} replayed from an "
                "answer file (`%aimo answers`), recorded where they were first asked."
            )
    named = sorted((readable_id(catalogue, key), key) for key in ledger.per_model)
    rows = [_row(label, ledger.per_model[key], hits, basis) for label, key in named]
    rows.append(_row("Total", totals, hits, basis))
    pinned = [f"{label} = {key}" for label, key in named if label != key]
    if pinned:
        notes.append("Ids, as a %%aimo line takes them: " + "; ".join(pinned) + ".")
    notes.extend(budget_lines(budget, basis))
    return Table(headers=headers, rows=rows, title="AiMo usage in this session", notes=notes)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    session = magics.session
    ledger = session.usage
    basis = session.price_basis
    if not ledger.per_model:
        lines = budget_lines(session.budget, basis)
        print(" ".join(["No answers yet in this session, so no usage to show.", *lines]))
        return
    usage_table(ledger, session.cached_catalogue or (), basis, session.budget).show()
