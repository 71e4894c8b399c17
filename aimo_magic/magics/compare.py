"""``%%aimo --compare M1,M2``: one prompt, several models at once, answers side by side.

The prompt goes with the thread's history, as any cell would send it, to every model.
Nothing is recorded in the thread unless ``--keep MODEL`` names the answer to keep as
the turn. Everything that can be refused (an unknown model, a ``--keep`` that names
none of them) is refused before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aimo_magic.core.comparison import WILDCARD, expand_models, split_models

if TYPE_CHECKING:
    from aimo_magic.core.comparison import ComparedAnswer, Comparison, Event
    from aimo_magic.core.types import Model, ProviderOffer
    from aimo_magic.rendering.compare_view import ComparePanes, TerminalPanes
    from aimo_magic.rendering.footer import FooterInfo
    from aimo_magic.session import AimoSession, ClientOptions

COST_UNIT = "listed price units"


@dataclass(frozen=True)
class Contender:
    """One model of a comparison: the id sent, its catalogue entry and its pane's title."""

    id: str
    model: Model
    offer: ProviderOffer | None

    @property
    def title(self) -> str:
        """``name @ provider`` for a pinned provider (ids are long public keys), else the id."""
        return f"{self.model.name} @ {self.offer.name}" if self.offer else self.id


def contenders(session: AimoSession, options: ClientOptions, spec: str) -> list[Contender]:
    """The models named by ``--compare``: aliases resolved, ``NAME@*`` expanded, each
    checked against the catalogue (an unknown one is refused with the closest ids)."""
    names = []
    for name in split_models(spec):
        if name.endswith(WILDCARD):
            base = name[: -len(WILDCARD)]
            names.append(session.aliases.get(base, base) + WILDCARD)
        else:
            names.append(session.resolve_model(name))
    if not names:
        raise ValueError("--compare needs models, e.g. --compare openai/gpt-4o,DeepSeek-V3-1.")
    ids = expand_models(names, session.catalogue(options))
    return [Contender(i, *session.check_model(i, options)) for i in ids]


def kept_id(session: AimoSession, keep: str, chosen: list[Contender]) -> str:
    """The contender ``--keep`` names: its id, an alias of it, its pane's title, or its
    provider's name when that is unique among the panes."""
    wanted = session.aliases.get(keep, keep)
    for contender in chosen:
        if wanted in (contender.id, contender.title):
            return contender.id
    by_provider = [c.id for c in chosen if c.offer is not None and c.offer.name == wanted]
    if len(by_provider) == 1:
        return by_provider[0]
    listed = ", ".join(c.id for c in chosen)
    raise ValueError(f"--keep {keep}: that is none of the compared models ({listed}).")


def footer_for(contender: Contender, answer: ComparedAnswer) -> FooterInfo:
    from aimo_magic.rendering.footer import FooterInfo

    timings = answer.timings
    return FooterInfo(
        model=contender.model.name,
        provider=answer.provider,
        usage=answer.usage,
        cost=answer.cost,
        cost_unit=COST_UNIT if answer.cost is not None else None,
        first_token_s=timings.first_token if timings else None,
        total_s=timings.total if timings else None,
    )


def summary(chosen: list[Contender], answers: dict[str, ComparedAnswer]) -> str:
    """The line under the panes: cheapest first, then fastest first."""
    from aimo_magic.rendering.panes import Standing, summary_text

    standings = []
    for contender in chosen:
        answer = answers.get(contender.id)
        ok = answer is not None and answer.ok
        standings.append(
            Standing(
                contender.title,
                ok,
                cost=answer.cost if answer else None,
                total_s=answer.timings.total if answer and answer.timings else None,
            )
        )
    return summary_text(standings, cost_unit=COST_UNIT)


def answer_record(answer: ComparedAnswer) -> dict[str, Any]:
    """What the notebook's metadata keeps about one answer (provenance, no text)."""
    return {
        "status": answer.status,
        "model": answer.served_model or answer.model,
        "provider": answer.provider,
        "usage": answer.usage.as_dict() if answer.usage else None,
        "finish_reason": answer.finish_reason,
        "error": answer.error,
    }


def show(
    view: ComparePanes | TerminalPanes,
    comparison: Comparison,
    chosen: list[Contender],
    on_first_text: Any,
) -> None:
    """Feed the comparison's events to the panes until every model is done."""
    from aimo_magic.core.comparison import Delta, Finished, Retrying

    first = True
    event: Event | None
    for event in comparison.events(tick=0.05):
        if event is None:
            view.flush()
        elif isinstance(event, Delta):
            if first:
                on_first_text()
                first = False
            view.append(event.index, event.text)
        elif isinstance(event, Retrying):
            view.reset(event.index, event.notice)
        elif isinstance(event, Finished):
            finish_pane(view, chosen[event.index], event.index, event.answer)


def finish_pane(
    view: ComparePanes | TerminalPanes, contender: Contender, index: int, answer: ComparedAnswer
) -> None:
    view.finish_pane(
        index,
        answer.status,
        answer.text,
        footer=footer_for(contender, answer),
        error_message=answer.error,
    )
