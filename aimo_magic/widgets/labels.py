"""The words the selector shows, kept apart from the widgets so they can be tested alone.

Names and prices come from the server and are untrusted: every function returning HTML
escapes them, and plain-text labels (shown by the frontend as text) have their
whitespace and control characters flattened so one entry stays one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from aimo_magic.core.catalogue import DEFAULT_MARK as DEFAULT_MARK
from aimo_magic.core.pricing import PriceBasis, format_price, money, price_per_million
from aimo_magic.core.types import Model, Pricing, ProviderOffer

ROUTE_LABEL = "Let AiMo route (cheapest healthy provider)"
PRICE_UNIT = "as reported, per token"
LOADING = "Loading the model catalogue…"
PROVIDER_HEADING = f"<b>Provider</b> (prices {PRICE_UNIT})"


def one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def context_text(model: Model) -> str:
    return f"{model.context_length:,} ctx" if model.context_length else "context not listed"


def modalities_text(model: Model) -> str:
    return f"{'+'.join(model.input_modalities)} → {'+'.join(model.output_modalities)}"


def model_label(model: Model) -> str:
    """One line of the model list: display name, routing name, context, modalities."""
    names = one_line(model.display_name)
    if model.display_name != model.name:
        names = f"{names} · {one_line(model.name)}"
    return f"{names} · {context_text(model)} · {one_line(modalities_text(model))}"


def provider_heading(basis: PriceBasis | None = None) -> str:
    """The heading over the providers, naming the unit their prices are shown in."""
    if basis is None or not basis.dollars:
        return PROVIDER_HEADING
    return "<b>Provider</b> (prices in USD per 1M tokens, images per image)"


def price_text(pricing: Pricing | None, basis: PriceBasis | None = None) -> str:
    """A provider's prices: in dollars per million tokens when ``basis`` knows the unit
    (``core.pricing``), else digit for digit as listed, the unit said."""
    if pricing is None:
        return "price not listed"
    if pricing.is_free and pricing.prompt is not None and pricing.completion is not None:
        return "free"
    if basis is not None and basis.dollars:
        text = (
            f"in {price_per_million(pricing.prompt, basis)} / "
            f"out {price_per_million(pricing.completion, basis)} per 1M tokens"
        )
        if pricing.image is not None:
            text += f" / {money(pricing.image, basis)} per image"
        return text
    text = f"in {format_price(pricing.prompt)} / out {format_price(pricing.completion)}"
    if pricing.image is not None:
        text += f" / image {format_price(pricing.image)}"
    return f"{text} ({PRICE_UNIT})"


def provider_label(offer: ProviderOffer, basis: PriceBasis | None = None) -> str:
    """A provider option: its name, the start of its key, and its listed price."""
    price = price_text(offer.pricing, basis)
    return f"{one_line(offer.name)} ({one_line(offer.provider_id[:6])}…): {price}"


def describe_default(model_id: str | None, models: Iterable[Model] | None) -> str:
    """Plain words for the default: the id, and which provider serves it."""
    if not model_id:
        return "none yet: pick a model below and press “Use this model”"
    from aimo_magic.core.catalogue import find_model

    found = find_model(models, model_id) if models is not None else None
    if found is None:
        return model_id if models is None else f"{model_id} (not in the catalogue)"
    model, offer = found
    if offer is None:
        return f"{model.name} via AiMo routing (cheapest healthy provider)"
    return f"{model.name} via {offer.name}"


def default_html(model_id: str | None, models: Iterable[Model] | None) -> str:
    return f"<b>Default for %%aimo:</b> {escape(describe_default(model_id, models))}"


def model_details_html(model: Model, selected_id: str | None) -> str:
    """The chosen model in full, and the exact id a click would make the default."""
    lines = [
        f"<b>{escape(model.display_name)}</b> <code>{escape(model.name)}</code>",
        f"{escape(context_text(model))} · {escape(modalities_text(model))} · "
        f"{len(model.providers)} provider(s)",
    ]
    if selected_id:
        lines.append(f"Selected id: <code>{escape(selected_id)}</code>")
    return "<br>".join(lines)


def count_html(total: int, shown: int, catalogue_size: int, query: str) -> str:
    """How many models match, and a nudge to refine when the list is cut."""
    if catalogue_size == 0:
        return "The server lists no models; press Refresh to ask again."
    if total == 0:
        return f"No model matches “{escape(query.strip())}”."
    if not query.strip():
        text = f"{catalogue_size} models."
    else:
        text = f"{total} of {catalogue_size} models match."
    if total > shown:
        text += f" Showing the first {shown}: {total - shown} more, refine the search."
    return text


NO_KEY_NOTE = (
    " No API key is set: browse freely, but %%aimo needs one "
    "(run <code>%aimo login</code> or set AIMO_API_KEY)."
)


def error_html(message: str) -> str:
    return f"<span style='color:#b00020'>⚠ {escape(message)}</span>"
