"""The catalogue as a table: one row per provider offer, searchable by any column.

Prices are shown in US dollars per million tokens when the price unit is known
(``core.pricing``: set, or inferred from the catalogue), else digit for digit as listed.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from aimo_magic.core.catalogue import DEFAULT_MARK
from aimo_magic.core.pricing import PriceBasis, price_per_million
from aimo_magic.core.types import Model, Pricing
from aimo_magic.magics.cmd._table import CELL_STYLE, TABLE_STYLE, text_grid

UNIT = Pricing(None, None).unit
MODEL_HEADERS = ("Model", "Routing name")
OFFER_HEADERS = ("Provider", "Provider id (provider_pubkey:model_name)", "Price in*", "Price out*")
TAIL_HEADERS = ("Context", "Modalities (in → out)")
PRICE_NOTE = f"* Price {UNIT} (the unit is not documented; values are shown unconverted)."
LISTED = PriceBasis("listed")


def price_note(basis: PriceBasis) -> str:
    """The footnote naming the unit of the price columns, once."""
    if not basis.dollars:
        return f"{PRICE_NOTE[:-1]}: {basis.describe()}."
    return f"* Price in US dollars per million tokens: {basis.describe()}."


def modalities(model: Model) -> str:
    return f"{', '.join(model.input_modalities)} → {', '.join(model.output_modalities)}"


def context(model: Model) -> str:
    return f"{model.context_length:,}" if model.context_length else "not listed"


def offer_cells(model: Model, basis: PriceBasis = LISTED) -> list[tuple[str, str, str, str]]:
    """Provider, id and prices for each offer; one empty row for a model without any."""
    rows = []
    for offer in model.providers:
        pricing = offer.pricing
        rows.append(
            (
                offer.name,
                offer.id,
                price_per_million(pricing.prompt if pricing else None, basis),
                price_per_million(pricing.completion if pricing else None, basis),
            )
        )
    return rows or [("", "", "", "")]


def matches(model: Model, words: Sequence[str], basis: PriceBasis = LISTED) -> bool:
    """Whether every word occurs, case-insensitively, somewhere in the model's row."""
    cells = [model.display_name, model.name, context(model), modalities(model)]
    for row in offer_cells(model, basis):
        cells.extend(row)
    if any(o.pricing is not None and o.pricing.is_free for o in model.providers):
        cells.append("free")
    haystack = "\n".join(cells).lower()
    return all(word.lower() in haystack for word in words)


def is_default(model: Model, default_id: str | None) -> bool:
    return default_id is not None and default_id in model.ids


def catalogue_html(
    models: Iterable[Model], default_id: str | None, basis: PriceBasis = LISTED
) -> str:
    """An escaped table; the model's own columns span its provider rows."""

    def cell(value: str, span: int = 1) -> str:
        rowspan = f' rowspan="{span}"' if span > 1 else ""
        return f'<td style="{CELL_STYLE}"{rowspan}>{html.escape(value)}</td>'

    head = "".join(
        f'<th style="{CELL_STYLE}">{html.escape(h)}</th>'
        for h in (*MODEL_HEADERS, *OFFER_HEADERS, *TAIL_HEADERS)
    )
    body = []
    for model in models:
        offers = offer_cells(model, basis)
        span = len(offers)
        mark = DEFAULT_MARK if is_default(model, default_id) else ""
        for index, offer in enumerate(offers):
            cells = "".join(cell(value) for value in offer)
            if index == 0:
                first = cell(mark + model.display_name, span) + cell(model.name, span)
                tail = cell(context(model), span) + cell(modalities(model), span)
                cells = first + cells + tail
            body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="aimo-table aimo-models" style="{TABLE_STYLE}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def catalogue_text(
    models: Iterable[Model], default_id: str | None, basis: PriceBasis = LISTED
) -> str:
    """Aligned columns; a model's own columns are filled on its first row only."""
    rows: list[Sequence[str]] = []
    for model in models:
        mark = DEFAULT_MARK if is_default(model, default_id) else ""
        for index, offer in enumerate(offer_cells(model, basis)):
            if index == 0:
                rows.append(
                    (
                        mark + model.display_name,
                        model.name,
                        *offer,
                        context(model),
                        modalities(model),
                    )
                )
            else:
                rows.append(("", "", *offer, "", ""))
    return "\n".join(text_grid((*MODEL_HEADERS, *OFFER_HEADERS, *TAIL_HEADERS), rows))
