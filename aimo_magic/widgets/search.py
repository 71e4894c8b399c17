"""Filtering the catalogue as the user types, fast enough for every keystroke.

Each model gets one lowercase string to search, built once per catalogue, so a query
over hundreds of models is a few substring tests each and no widget code runs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aimo_magic.core.types import Model

MAX_SHOWN = 200


def haystack(model: Model) -> str:
    """What a query is matched against: names, providers and their ids, modalities, "free".

    Close to what ``%aimo models SEARCH`` matches, so both find the same models.
    """
    parts = [model.name, model.display_name]
    parts += [f"{offer.name} {offer.id}" for offer in model.providers]
    parts += [*model.input_modalities, *model.output_modalities]
    if any(offer.pricing is not None and offer.pricing.is_free for offer in model.providers):
        parts.append("free")
    return " ".join(parts).lower()


@dataclass(frozen=True)
class Matches:
    """The models to show (at most the cap) and how many matched in all."""

    shown: tuple[Model, ...]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


class SearchIndex:
    """A catalogue prepared for searching; build a new one when the catalogue changes."""

    def __init__(self, models: Sequence[Model]) -> None:
        self.models = tuple(models)
        self._haystacks = tuple(haystack(model) for model in self.models)
        self._by_name = {model.name: model for model in self.models}

    def __len__(self) -> int:
        return len(self.models)

    def get(self, name: str | None) -> Model | None:
        return self._by_name.get(name) if name else None

    def search(self, query: str, limit: int = MAX_SHOWN) -> Matches:
        """Models whose text holds every word of the query, in catalogue order."""
        words = query.lower().split()
        shown: list[Model] = []
        total = 0
        for model, text in zip(self.models, self._haystacks, strict=True):
            if all(word in text for word in words):
                total += 1
                if len(shown) < limit:
                    shown.append(model)
        return Matches(tuple(shown), total)
