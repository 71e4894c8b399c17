"""Cap what this session may spend, lift the cap, or show what is spent and left.

  %aimo budget                  spent, held by requests in flight, and left
  %aimo budget 2.50             no request is sent that could take the spend past 2.50
  %aimo budget 2.50 --allow-unpriced   also send requests whose price is not listed
  %aimo budget off              no cap (spend is still counted)

The cap is in the unit costs are shown in (US dollars once the price unit is known:
`%aimo config`). It counts every cell, batch, comparison and tool step of this session:
a request is sent only if the spend so far, plus the most every request in flight could
cost, plus the most this one could cost (its prompt and an answer of --max-tokens, else
as long as the model's context allows) stays within it. Without --allow-unpriced, a
request to a model without listed prices is refused, since its cost cannot be bounded.
Same as `%config AimoMagics.budget = 2.50`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    p = CommandParser("budget", __doc__)
    p.add_argument("amount", nargs="?", metavar="AMOUNT|off", help="the cap, or off")
    p.add_argument(
        "--allow-unpriced",
        action="store_true",
        help="send requests whose price is not listed (counted as unknown)",
    )
    return p


def cap_from(magics: MagicsSurface, text: str) -> float | None:
    """``off`` (None), or the amount given (``$2.50`` and ``2,50`` are read too)."""
    from aimo_magic.magics.failures import fail

    if text.lower() in ("off", "none"):
        return None
    cleaned = text.strip().lstrip("$").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise fail(magics, f"A budget is an amount of 0 or more, or off (not {text!r}).")
    return value


def unit_note(magics: MagicsSurface) -> str:
    """How costs are counted, once: the session's price basis (the model list is read
    first, so the unit can be inferred)."""
    from aimo_magic.core.errors import AimoError

    session = magics.session
    if session.cached_catalogue is None:
        with suppress(AimoError):  # no list: the unit stays unknown, and says so
            session.catalogue()
    return f"Costs are in {session.price_basis.describe()}."


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    session = magics.session
    if args.amount is None:
        if args.allow_unpriced:
            session.budget.allow_unpriced = True
        note = unit_note(magics)
        state = session.budget.state(session.price_basis)
        if state.cap is None:
            print(f"No budget: {state.summary()}. `%aimo budget N` sets one. {note}")
        else:
            print(f"Budget: {state.summary()}. {note}")
        return
    cap = cap_from(magics, args.amount)
    magics.budget = cap
    session.budget.allow_unpriced = args.allow_unpriced
    note = unit_note(magics)
    state = session.budget.state(session.price_basis)
    if cap is None:
        print(f"No budget now: {state.summary()} (still counted). {note}")
        return
    unpriced = (
        " Requests without a listed price are sent and counted as unknown."
        if args.allow_unpriced
        else " Requests without a listed price are refused (--allow-unpriced lets them through)."
    )
    print(
        f"Budget: {state.summary()}. Every request is checked before it is sent.{unpriced} {note}"
    )
