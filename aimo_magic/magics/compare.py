"""``%%aimo --compare M1,M2``: one prompt to several models at once, answers side by side.

The same steps as any cell (see ``magics/ask.py``), one request per model: the line's
options, then one frozen ``AskRequest`` per model, all with the same messages (the
thread's history as any cell would send it), then the answers shown together
(``magics/compare_exchange.py``), then what is kept. Nothing is recorded in the thread
unless ``--keep MODEL`` names the answer to keep as the turn. Everything that can be
refused (an unknown model, a ``--keep`` that names none of them) is refused before
anything is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.conversation import Content
    from aimo_magic.core.resolution import Choices, Resolution
    from aimo_magic.core.types import Model, ProviderOffer
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.cell_options import CellOptions
    from aimo_magic.magics.request import AskRequest
    from aimo_magic.session import AimoSession


@dataclass(frozen=True)
class Contender:
    """One model of a comparison: where its request goes, and its pane's title."""

    resolution: Resolution

    @property
    def id(self) -> str:
        """The model id sent."""
        return self.resolution.model_id or ""

    @property
    def model(self) -> Model | None:
        return self.resolution.model

    @property
    def offer(self) -> ProviderOffer | None:
        return self.resolution.offer

    @property
    def title(self) -> str:
        """``name @ provider`` for a pinned provider (its id is a long public key)."""
        if self.model is not None and self.offer is not None:
            return f"{self.model.name} @ {self.offer.name}"
        return self.id


@dataclass(frozen=True)
class CompareRequest:
    """Every request of one comparison (one per model, same messages), and what to keep."""

    contenders: tuple[Contender, ...]
    requests: tuple[AskRequest, ...]
    keep: str | None = None

    @property
    def first(self) -> AskRequest:
        """The part every request shares: messages, parameters, format, thread, out."""
        return self.requests[0]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.contenders]

    def kept(self) -> AskRequest | None:
        """The request whose answer becomes the thread's turn, if ``--keep`` named one."""
        return next((r for r in self.requests if r.model_id == self.keep), None)


def check_compare_options(options: CellOptions) -> None:
    """Refuse what a comparison cannot do (ValueError, one line)."""
    if options.compare is None:
        raise ValueError("--keep goes with --compare: it names the compared answer to keep.")
    if options.model:
        raise ValueError(
            f"--compare names the models; put {options.model} in its list "
            f"(--compare {options.model},...) instead of before it."
        )
    if options.insert:
        raise ValueError("--insert does not go with --compare: there is more than one answer.")
    if options.fallback is not None:
        raise ValueError(
            "--fallback does not go with --compare: each pane shows its own model's answer."
        )
    if options.keep and options.no_history:
        raise ValueError("--keep and --no-history contradict each other; use one of them.")


def contenders(session: AimoSession, spec: str, given: Choices | None = None) -> list[Contender]:
    """The models named by ``--compare``: aliases resolved, ``NAME@*`` expanded, each
    checked against the catalogue (an unknown one is refused with the closest ids);
    ``given`` holds the cell's route and price cap."""
    from aimo_magic.core.resolution import resolve_many, split_models

    if not split_models(spec):
        raise ValueError("--compare needs models, e.g. --compare openai/gpt-4o,DeepSeek-V3-1.")
    return [Contender(where) for where in resolve_many(spec, session, given, from_cell=True)]


def kept_id(session: AimoSession, keep: str, chosen: list[Contender]) -> str:
    """The contender ``--keep`` names: its id, an alias of it, its pane's title, or its
    provider's name when that is unique among the panes."""
    from aimo_magic.core.resolution import unalias

    wanted = unalias(keep, session.aliases)
    for contender in chosen:
        if wanted in (contender.id, contender.title):
            return contender.id
    by_provider = [c.id for c in chosen if c.offer is not None and c.offer.name == wanted]
    if len(by_provider) == 1:
        return by_provider[0]
    listed = ", ".join(c.id for c in chosen)
    raise ValueError(f"--keep {keep}: that is none of the compared models ({listed}).")


def build_compare(
    ctx: AskContext,
    options: CellOptions,
    prompt: Content,
    *,
    namespace: Mapping[str, Any] | None = None,
) -> CompareRequest:
    """One request per model, all sending the same messages; raises before sending.

    History is trimmed for the model with the smallest context, so that every model
    gets the same conversation; images and the prompt's size are checked against every
    model (one line naming those that cannot take it).
    """
    from aimo_magic.magics.request import build_request, routing_choices
    from aimo_magic.rendering.compare_view import pane_format

    check_compare_options(options)
    assert options.compare is not None
    pane_format(options.format or ctx.settings.default_format)
    ctx.session.resolve(for_request=False).require_key()
    chosen = contenders(ctx.session, options.compare, routing_choices(options))
    kept = (
        [c.id for c in chosen].index(kept_id(ctx.session, options.keep, chosen))
        if options.keep
        else None
    )
    smallest = min(
        chosen, key=lambda c: (c.model.context_length if c.model else None) or float("inf")
    )
    shared = build_request(
        ctx,
        dataclasses.replace(options, model=smallest.id, compare=None, keep=None),
        prompt,
        namespace=namespace,
        fit_models=[c.model for c in chosen],
        resolution=smallest.resolution,
    )
    # Each model's provider is chosen for these very messages (--route, --max-price).
    routed = [Contender(c.resolution.routed(shared.messages, shared.params)) for c in chosen]
    requests = tuple(shared.replace(model_id=c.id, resolution=c.resolution) for c in routed)
    keep = routed[kept].id if kept is not None else None
    return CompareRequest(tuple(routed), requests, keep)
