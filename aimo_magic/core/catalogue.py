"""The model catalogue: both listing shapes normalised into Model records."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from aimo_magic.core.types import Model, Pricing, ProviderOffer

DEFAULT_MARK = "★ "
"""How every listing of the catalogue (``%aimo models``, the selector) marks the default."""

# A provider's id is a Solana public key: 32 to 44 base58 characters.
_PROVIDER_KEY = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _pricing(raw: Any) -> Pricing | None:
    if not isinstance(raw, Mapping):
        return None
    return Pricing(
        prompt=_float_or_none(raw.get("prompt")),
        completion=_float_or_none(raw.get("completion")),
        image=_float_or_none(raw.get("image")),
    )


def _modalities(architecture: Any, key: str) -> tuple[str, ...]:
    if isinstance(architecture, Mapping):
        values = architecture.get(key)
        if isinstance(values, list) and values:
            return tuple(str(v) for v in values)
    return ("text",)


def _listed(architecture: Any, key: str) -> bool:
    return isinstance(architecture, Mapping) and isinstance(architecture.get(key), list)


def image_models(models: Iterable[Model], limit: int = 3) -> list[str]:
    """A few models that take images, cheapest listed image price first, for suggestions."""

    def price(model: Model) -> float:
        prices = [(o.pricing.prompt or 0.0) for o in model.providers if o.pricing is not None] or [
            float("inf")
        ]
        return min(prices)

    takers = [m for m in models if m.takes_images]
    return [m.name for m in sorted(takers, key=price)[:limit]]


def parse_model(entry: Mapping[str, Any]) -> Model | None:
    """One listing entry, AiMo-shaped (``name`` + ``providers``) or OpenAI-shaped (``id``)."""
    name = entry.get("name") or entry.get("id")
    if not isinstance(name, str) or not name:
        return None
    offers = []
    for provider in entry.get("providers") or ():
        if not isinstance(provider, Mapping) or not provider.get("id"):
            continue
        provider_id = str(provider["id"])
        offers.append(
            ProviderOffer(
                id=f"{provider_id}:{name}",
                provider_id=provider_id,
                name=str(provider.get("name") or provider_id[:8]),
                pricing=_pricing(provider.get("pricing")),
            )
        )
    context = entry.get("context_length")
    architecture = entry.get("architecture")
    return Model(
        name=name,
        display_name=str(entry.get("display_name") or name),
        context_length=int(context) if isinstance(context, (int, float)) else None,
        input_modalities=_modalities(architecture, "input_modalities"),
        output_modalities=_modalities(architecture, "output_modalities"),
        providers=tuple(offers),
        owned_by=entry.get("owned_by") if isinstance(entry.get("owned_by"), str) else None,
        modalities_listed=_listed(architecture, "input_modalities"),
    )


def parse_catalogue(payload: Any) -> list[Model]:
    """The ``/v1/models`` body; entries that cannot be read are skipped, not fatal."""
    entries = payload.get("data") if isinstance(payload, Mapping) else payload
    if not isinstance(entries, list):
        return []
    models = (parse_model(e) for e in entries if isinstance(e, Mapping))
    return [m for m in models if m is not None]


def find_model(models: Iterable[Model], model_id: str) -> tuple[Model, ProviderOffer | None] | None:
    """The model (and provider, for a pinned id) that a request id refers to."""
    for model in models:
        if model.name == model_id:
            return model, None
        offer = model.offer(model_id)
        if offer is not None:
            return model, offer
    return None


def suggest(models: Iterable[Model], model_id: str, limit: int = 3) -> list[str]:
    """The closest known ids to a mistyped one, routing names first."""
    names = [m.name for m in models]
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(model_id.lower(), list(lowered), n=limit, cutoff=0.5)
    found = [lowered[c] for c in close]
    needle = model_id.lower().split("/")[-1]
    for name in names:
        if len(found) >= limit:
            break
        if needle and needle in name.lower() and name not in found:
            found.append(name)
    return found


def provider_name(models: Iterable[Model], answered_model: str) -> str | None:
    """Resolve the ``provider:model`` id a server answered with to a provider's name."""
    provider_id = answered_model.split(":", 1)[0] if ":" in answered_model else None
    if provider_id is None:
        return None
    for model in models:
        for offer in model.providers:
            if offer.provider_id == provider_id:
                return offer.name
    return provider_id


def readable_id(models: Iterable[Model], model_id: str) -> str:
    """``DeepSeek-V3-1 · akash-ml`` for a provider-pinned id, else the id as it is.

    A pinned id starts with the provider's public key, which no person can read;
    the provider's listed name stands for it (a short form of the key when the
    catalogue does not name it). Ids such as ``llama3:8b`` are not pinned ones.
    """
    provider_id, colon, name = model_id.partition(":")
    if not colon or not name:
        return model_id
    listed = next(
        (o.name for m in models for o in m.providers if o.provider_id == provider_id), None
    )
    if listed is None and not _PROVIDER_KEY.fullmatch(provider_id):
        return model_id
    return f"{name} · {listed or f'{provider_id[:4]}…{provider_id[-4:]}'}"
