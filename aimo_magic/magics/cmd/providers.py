"""Each provider of a model: its price, and what your answers measured of it here.

MODEL is a model id or alias (default: the default model). For every provider the
catalogue lists: its prices, how many of your recent answers it gave and how many
failed, their median time to the first token and median tokens per second (kept with
the answer cache, per server), and which provider `--route cheapest` and
`--route fastest` would pick for a short prompt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import fail, user_errors

if TYPE_CHECKING:
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.core.provider_log import ProviderFigures, ProviderLog
    from aimo_magic.core.types import Model
    from aimo_magic.magics.cmd._host import MagicsSurface
    from aimo_magic.magics.cmd._table import Table

SHORT_PROMPT_TOKENS = 50
"""The request the "would pick" line prices: a short prompt and a typical answer."""


def parser() -> CommandParser:
    p = CommandParser("providers", __doc__)
    p.add_argument("model", nargs="?", metavar="MODEL", help="model id or alias")
    return p


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def providers_table(
    model: Model, figures: dict[str, ProviderFigures], where: str, basis: PriceBasis
) -> Table:
    """One row per provider: prices, answers, failures, median first token and rate."""
    from aimo_magic.core.pricing import price_per_million
    from aimo_magic.core.provider_log import KEEP, ProviderFigures
    from aimo_magic.magics.cmd._models_table import price_note
    from aimo_magic.magics.cmd._table import Table

    rows = []
    for offer in model.providers:
        pricing = offer.pricing
        found = figures.get(offer.provider_id, ProviderFigures())
        rows.append(
            (
                offer.name,
                price_per_million(pricing.prompt if pricing else None, basis),
                price_per_million(pricing.completion if pricing else None, basis),
                str(found.answers),
                str(found.failures),
                _seconds(found.first_token_s),
                _rate(found.tokens_per_second),
                offer.id,
            )
        )
    headers = [
        "Provider",
        "Price in*",
        "Price out*",
        "Answers",
        "Failures",
        "First token",
        "Tokens/s",
        "Id",
    ]
    notes = [
        price_note(basis),
        f"Measured here ({where}) over each provider's last {KEEP} answers and failures: "
        "the medians of your answers' first-token times and rates (answers not streamed "
        "give a first-token time only).",
    ]
    return Table(
        headers=headers,
        rows=rows,
        title=f"Providers of {model.name}",
        notes=notes,
        code_columns=frozenset({7}),
    )


def would_pick(model: Model, log: ProviderLog, base_url: str, basis: PriceBasis) -> str:
    """Which provider each route picks for a short prompt and a typical answer."""
    from aimo_magic.core.errors import RouteError
    from aimo_magic.core.routing import RequestSize, plan_route

    size = RequestSize(prompt_tokens=SHORT_PROMPT_TOKENS)
    picks = []
    for route in ("cheapest", "fastest"):
        try:
            hop = plan_route(
                model.name,
                [model],
                size,
                route=route,
                measured=log,
                base_url=base_url,
                basis=basis,
            )[0]
        except RouteError:
            continue
        who = hop.offer.name if hop.offer is not None else "AiMo's routing"
        picks.append(f"--route {route} → {who} ({hop.why})")
    typical = f"a {SHORT_PROMPT_TOKENS}-token prompt and a {size.answer_tokens}-token answer"
    return f"For {typical}: " + "; ".join(picks) + "." if picks else ""


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    session = magics.session
    with user_errors(magics):
        where = session.resolve(args.model)
    model = where.model
    if model is None:
        raise fail(
            magics,
            f"{where.model_id} is not in this server's model list, so its providers are "
            "unknown; see `%aimo models`.",
        )
    if not model.providers:
        print(f"The model list names no providers for {model.name}: AiMo routes it.")
        return
    log = session.provider_log
    basis = where.price_basis
    figures = log.figures(where.base_url, model.name)
    table = providers_table(model, figures, where.base_url, basis)
    if log.problem is not None:
        table.notes.append(f"Nothing measured can be read: {log.problem}")
    picked = would_pick(model, log, where.base_url, basis)
    if picked:
        table.notes.append(picked)
    table.show()
