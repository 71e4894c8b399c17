"""The emulator's model catalogue: a fixed, realistic AiMo listing plus deterministic padding.

Provider ids are made up but shaped like the real ones (base58 Solana public keys), and
they are derived from a hash of the provider's name so that they never change between
runs: tests and notebooks can hard-code ``<provider id>:<model name>`` ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aimo_magic.emulator.provider_ids import provider_id

if TYPE_CHECKING:
    from aimo_magic.emulator.providers import ProviderProfile, ServedModel

__all__ = ["provider_id"]  # where it always was; made in provider_ids

DEFAULT_PROMPT_PRICE = 0.1
DEFAULT_COMPLETION_PRICE = 0.4
"""Prices of a served model's provider whose profile sets none."""


@dataclass(frozen=True)
class Offer:
    """One provider serving one model at a price (floats, unit as AiMo reports it)."""

    provider_name: str
    prompt: float
    completion: float
    image: float | None = None

    @property
    def provider_id(self) -> str:
        return provider_id(self.provider_name)

    @property
    def cost(self) -> float:
        return self.prompt + self.completion


@dataclass(frozen=True)
class CatalogueModel:
    name: str
    display_name: str
    context_length: int
    offers: tuple[Offer, ...]
    image_input: bool = False

    def cheapest(self) -> Offer:
        return min(self.offers, key=lambda offer: (offer.cost, offer.provider_name))

    def offer_from(self, provider: str) -> Offer | None:
        return next((o for o in self.offers if o.provider_id == provider), None)

    def to_aimo(self) -> dict[str, Any]:
        modalities = ["text", "image"] if self.image_input else ["text"]
        # ``id`` beside ``name``, as newer routers send it, so OpenAI clients see the ids.
        return {
            "id": self.name,
            "name": self.name,
            "display_name": self.display_name,
            "providers": [
                {
                    "id": offer.provider_id,
                    "name": offer.provider_name,
                    "pricing": {
                        "prompt": offer.prompt,
                        "completion": offer.completion,
                        "image": offer.image,
                    },
                }
                for offer in self.offers
            ],
            "context_length": self.context_length,
            "architecture": {"input_modalities": modalities, "output_modalities": ["text"]},
        }

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.name,
            "object": "model",
            "created": 1_735_689_600,
            "owned_by": self.name.split("/", 1)[0] if "/" in self.name else "aimo",
        }


def _m(
    name: str, display: str, context: int, *offers: Offer, image: bool = False
) -> CatalogueModel:
    return CatalogueModel(name, display, context, tuple(offers), image)


_O = Offer

DEFAULT_CATALOGUE: tuple[CatalogueModel, ...] = (
    _m(
        "openai/gpt-4o",
        "OpenAI: GPT-4o",
        128_000,
        _O("nebula-gpu", 2.5, 10.0, 0.003613),
        _O("solstice-labs", 2.75, 11.0, 0.003613),
        image=True,
    ),
    _m(
        "openai/gpt-4o-mini",
        "OpenAI: GPT-4o mini",
        128_000,
        _O("nebula-gpu", 0.15, 0.6, 0.000217),
        _O("atlas-infer", 0.18, 0.66, 0.000217),
        image=True,
    ),
    _m("openai/gpt-4.1", "OpenAI: GPT-4.1", 1_047_576, _O("nebula-gpu", 2.0, 8.0), image=True),
    _m(
        "google/gemini-2.5-pro",
        "Google: Gemini 2.5 Pro",
        1_048_576,
        _O("solstice-labs", 1.25, 10.0, 0.00516),
        image=True,
    ),
    _m(
        "google/gemini-2.5-flash",
        "Google: Gemini 2.5 Flash",
        1_048_576,
        _O("solstice-labs", 0.3, 2.5, 0.001238),
        _O("atlas-infer", 0.35, 2.6, 0.001238),
        image=True,
    ),
    _m(
        "anthropic/claude-sonnet-4",
        "Anthropic: Claude Sonnet 4",
        200_000,
        _O("atlas-infer", 3.0, 15.0, 0.0048),
        image=True,
    ),
    _m(
        "anthropic/claude-3.5-haiku",
        "Anthropic: Claude 3.5 Haiku",
        200_000,
        _O("atlas-infer", 0.8, 4.0),
    ),
    _m(
        "meta-llama/llama-3.3-70b-instruct",
        "Meta: Llama 3.3 70B Instruct",
        131_072,
        _O("akash-ml", 0.0, 0.0),
        _O("atlas-infer", 0.1, 0.32),
        _O("helios-compute", 0.12, 0.3),
        _O("nebula-gpu", 0.13, 0.39),
    ),
    _m(
        "mistralai/mistral-small-3.1-24b-instruct",
        "Mistral: Mistral Small 3.1 24B",
        128_000,
        _O("helios-compute", 0.05, 0.1),
        image=True,
    ),
    _m(
        "qwen/qwen3-coder",
        "Qwen: Qwen3 Coder 480B A35B",
        262_144,
        _O("helios-compute", 0.22, 0.95),
        _O("quasar-nodes", 0.2, 0.8),
    ),
    _m(
        "DeepSeek-V3-1",
        "DeepSeek V3.1",
        163_840,
        _O("quasar-nodes", 0.27, 1.1),
        _O("akash-ml", 0.25, 1.0),
    ),
    _m(
        "DeepSeek-R1-Distill-Qwen-32B",
        "DeepSeek R1 Distill Qwen 32B (Free)",
        65_536,
        _O("akash-ml", 0.0, 0.0),
    ),
    _m(
        "gpt-oss-120b",
        "gpt-oss-120b",
        131_072,
        _O("quasar-nodes", 0.0, 0.0),
        _O("nebula-gpu", 0.05, 0.25),
        _O("helios-compute", 0.09, 0.45),
        _O("atlas-infer", 0.15, 0.6),
    ),
    _m(
        "Llama-3.2-11B-Vision-Instruct",
        "Llama 3.2 11B Vision Instruct (Free)",
        131_072,
        _O("akash-ml", 0.0, 0.0),
        image=True,
    ),
)

DEFAULT_MODEL_NAMES: tuple[str, ...] = tuple(model.name for model in DEFAULT_CATALOGUE)

_PAD_VENDORS = ("acme", "zephyr-ai", "orbital", "lumen", "kestrel")
_PAD_PROVIDERS = ("akash-ml", "nebula-gpu", "helios-compute", "quasar-nodes", "atlas-infer")
_PAD_CONTEXTS = (8_192, 32_768, 65_536, 131_072)


def _padding_model(index: int) -> CatalogueModel:
    vendor = _PAD_VENDORS[index % len(_PAD_VENDORS)]
    size = (7, 13, 34, 70)[index % 4]
    free = index % 3 == 0
    offers = tuple(
        Offer(
            _PAD_PROVIDERS[(index + k) % len(_PAD_PROVIDERS)],
            0.0 if free else round(0.05 * (1 + index % 7) + 0.01 * k, 4),
            0.0 if free else round(0.2 * (1 + index % 5) + 0.02 * k, 4),
        )
        for k in range(1 + index % 3)
    )
    name = f"{vendor}/synth-{size}b-v{index:03d}"
    suffix = " (Free)" if free else ""
    display = f"{vendor.title()}: Synth {size}B v{index:03d}{suffix}"
    return CatalogueModel(
        name, display, _PAD_CONTEXTS[index % 4], offers, image_input=index % 4 == 1
    )


def build_catalogue(
    size: int | None = None,
    serve: tuple[ServedModel, ...] = (),
    profiles: tuple[ProviderProfile, ...] = (),
) -> tuple[CatalogueModel, ...]:
    """The default catalogue, cut or padded with synthetic models to ``size`` entries,
    then the ``serve``d models, priced by their providers' profiles."""
    if size is None:
        listed = DEFAULT_CATALOGUE
    elif size <= len(DEFAULT_CATALOGUE):
        listed = DEFAULT_CATALOGUE[:size]
    else:
        extra = size - len(DEFAULT_CATALOGUE)
        listed = DEFAULT_CATALOGUE + tuple(_padding_model(i) for i in range(1, extra + 1))
    return listed + tuple(_served(model, profiles) for model in serve)


def _served(model: ServedModel, profiles: tuple[ProviderProfile, ...]) -> CatalogueModel:
    by_name = {profile.name: profile for profile in profiles}

    def offer(name: str) -> Offer:
        profile = by_name.get(name)
        prompt = profile.prompt if profile and profile.prompt is not None else None
        completion = profile.completion if profile and profile.completion is not None else None
        return Offer(
            name,
            DEFAULT_PROMPT_PRICE if prompt is None else prompt,
            DEFAULT_COMPLETION_PRICE if completion is None else completion,
        )

    offers = tuple(offer(name) for name in model.providers)
    return CatalogueModel(model.name, model.name, model.context_length, offers)


def model_names(catalogue_size: int | None = None) -> list[str]:
    """Names of the models the emulator lists for a given ``catalogue_size``."""
    return [model.name for model in build_catalogue(catalogue_size)]


class ModelLookupError(LookupError):
    """A model id the catalogue cannot route; ``error_type`` is AiMo's error type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class Catalogue:
    """Routing over a fixed list of models, the way the AiMo router does it."""

    def __init__(self, models: tuple[CatalogueModel, ...]) -> None:
        self.models = models
        self._by_name = {model.name: model for model in models}
        self._providers = {offer.provider_id for m in models for offer in m.offers}

    def resolve(self, model_id: str) -> tuple[CatalogueModel, Offer]:
        """The model and the offer that serves ``model_id``: a routing name goes to the
        cheapest provider, ``provider_id:name`` to that provider (split on the first ``:``).
        """
        model, offers = self.candidates(model_id)
        return model, offers[0]

    def candidates(self, model_id: str) -> tuple[CatalogueModel, list[Offer]]:
        """The model and the offers that may serve ``model_id``, in the router's order: a
        routing name's providers cheapest first, a pinned id's one provider."""
        provider, sep, name = model_id.partition(":")
        if not sep:
            provider, name = "", model_id
        model = self._by_name.get(name)
        if model is None:
            raise ModelLookupError(
                "invalid_model",
                f"Model '{name}' not found: list the available models with GET /v1/models",
            )
        if not sep:
            return model, sorted(model.offers, key=lambda o: (o.cost, o.provider_name))
        offer = model.offer_from(provider)
        if offer is None:
            reason = "does not serve" if provider in self._providers else "not found for"
            raise ModelLookupError(
                "invalid_provider", f"Provider '{provider}' {reason} model '{name}'"
            )
        return model, [offer]
