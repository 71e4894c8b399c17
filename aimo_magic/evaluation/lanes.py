"""Every model's rows on one batch engine: a lane per (model, repeat), run as one.

Each lane is an ordinary batch ``Engine`` over the same rows with its own model; the
lanes share one ``AsyncClient``, one ``BackoffGate`` (so ``concurrency`` bounds every
model's requests together and a 429 pauses them all), one ``Spending`` (so ``max_cost``
bounds their spend together) and one answer cache. A lane's answers stay in its lists
between runs, so running again sends only what is missing; the cache makes a new
evaluation of the same models free, and one with a model added pays only that model.

Repeats of a row are distinct answers: repeat ``k > 0`` is stored under a key that
also names ``k`` (``REPEAT_KEY``, never sent), so that a re-run finds each repeat's
own answer; repeat 0 shares its answers with batches and cells that asked the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimo_magic.batching.answers import AnswerFormat
from aimo_magic.batching.costs import PriceBook
from aimo_magic.batching.engine import Engine, RowPrompts
from aimo_magic.batching.gate import BackoffGate
from aimo_magic.batching.outcome import STOP_FATAL, RowError, Tally
from aimo_magic.batching.spending import Spending
from aimo_magic.core.errors import NotFoundError
from aimo_magic.core.protocol import REPEAT_PARAM

if TYPE_CHECKING:
    from aimo_magic.batching.stored import StoredAnswers
    from aimo_magic.core.cache import AnswerCache
    from aimo_magic.core.resolution import Resolution
    from aimo_magic.core.types import ChatResult
    from aimo_magic.session import AimoSession

REPEAT_KEY = REPEAT_PARAM
"""Added to a repeat's parameters from the second repeat on: part of its answer's key in
the cache and answer files, never sent (``core.protocol.REPEAT_PARAM``)."""


@dataclass
class Contender:
    """One model of the evaluation (one provider of it, for ``NAME@*``)."""

    where: Resolution
    label: str
    """The summary's name for it: the id, or ``model · provider`` for a pinned id."""
    provider: str | None
    """The provider's listed name, for a pinned id; None for a routing name."""
    prices: PriceBook
    tally: Tally

    @property
    def model_id(self) -> str:
        return self.where.model_id or ""


@dataclass
class Lane:
    """One contender's answers for one repeat, by row position; filled by its engines."""

    contender: Contender
    repeat: int
    values: list[Any]
    results: list[ChatResult | None]
    errors: list[RowError] = field(default_factory=list)

    @classmethod
    def empty(cls, contender: Contender, repeat: int, size: int) -> Lane:
        return cls(contender, repeat, [None] * size, [None] * size)

    def waiting(self) -> list[int]:
        return [position for position, value in enumerate(self.values) if value is None]

    def failures(self) -> dict[int, RowError]:
        """This lane's failed rows by position (its engine calls rows by position)."""
        return {int(error.index): error for error in self.errors}


@dataclass(frozen=True)
class Setup:
    """What every lane of a run is built with."""

    system: str | None
    params: dict[str, Any]
    concurrency: int
    stream: bool
    policy: Any
    gate: BackoffGate
    spending: Spending
    store: AnswerCache | None
    session: AimoSession | None


def key_params(params: dict[str, Any], repeat: int) -> dict[str, Any]:
    """The parameters a repeat's answers are stored under (``REPEAT_KEY`` from repeat 1)."""
    return params if repeat == 0 else {**params, REPEAT_KEY: repeat}


def stored_answers(
    setup: Setup, where: Resolution, params: dict[str, Any], repeat: int
) -> StoredAnswers | None:
    from aimo_magic.batching.stored import StoredAnswers, report_unusable

    if setup.store is None:
        return None
    session = setup.session
    return StoredAnswers(
        setup.store,
        base_url=where.settings.base_url,
        model=where.model_id or "",
        params=key_params(params, repeat),
        api_key=where.settings.api_key,
        on_unusable=lambda exc: report_unusable(exc, session),
    )


def lane_engine(lane: Lane, rows: RowPrompts, setup: Setup, answer: AnswerFormat) -> Engine:
    """A fresh engine for this run of the lane; failures of earlier runs are asked again."""
    lane.errors.clear()
    return engine_for(
        lane.contender,
        rows,
        setup,
        answer=answer,
        params=setup.params,
        outputs=(lane.values, lane.results, lane.errors),
        repeat=lane.repeat,
        stream=setup.stream,
        system=setup.system,
    )


def engine_for(
    contender: Contender,
    rows: RowPrompts,
    setup: Setup,
    *,
    answer: AnswerFormat,
    params: dict[str, Any],
    outputs: tuple[list[Any], list[Any], list[RowError]],
    repeat: int = 0,
    stream: bool = False,
    system: str | None = None,
) -> Engine:
    """A batch engine for one contender (a model, or the judge) on the run's shared parts;
    ``outputs`` are the lists it fills by position: values, results, errors."""
    values, results, errors = outputs
    return Engine(
        rows,
        model=contender.model_id,
        system=system,
        answer=answer,
        params=key_params(params, repeat),
        concurrency=setup.concurrency,
        policy=setup.policy,
        prices=contender.prices,
        max_cost=None,
        tally=contender.tally,
        values=values,
        errors=errors,
        stored=stored_answers(setup, contender.where, params, repeat),
        gate=setup.gate,
        spending=setup.spending,
        results=results,
        stream=stream,
    )


def stops_everyone(error: BaseException | None) -> bool:
    """An error that would fail every model's rows (a key, a balance), not one model's."""
    return error is not None and not isinstance(error, NotFoundError)


async def run_together(runs: Sequence[tuple[Engine, list[int]]], client: Any) -> None:
    """Run each engine over its positions, all at once on ``client``.

    An engine stopped by an error every other would meet too (no key, no balance) stops
    the rest; an unknown model stops only its own lane. Cancelling this cancels them all,
    and each keeps (and stores) what it finished.
    """
    tasks = {
        asyncio.create_task(engine.run(client, positions)): engine
        for engine, positions in runs
        if positions
    }
    if not tasks:
        return
    pending: set[asyncio.Task[None]] = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                engine = tasks[task]
                if engine.stop == STOP_FATAL and stops_everyone(engine.fatal):
                    assert engine.fatal is not None
                    for other in tasks.values():
                        if other is not engine and other.stop != STOP_FATAL:
                            other.abort(engine.fatal)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for task in tasks:
        error = task.exception()
        if error is not None:
            raise error
