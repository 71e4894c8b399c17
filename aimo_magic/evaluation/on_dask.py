"""Dask data: each partition evaluated where dask runs it, as batches are.

Every partition runs an ordinary ``Evaluation`` of its rows (all the models, the judge,
the repeats) on whichever worker takes it, with that worker's own key and base URL
(``AIMO_API_KEY``, ``AIMO_BASE_URL``): the task graph carries the template, the resolved
model ids and the options, never a client or a key. Each partition's answers come back
as its part of ``table``; the summary is worked out from the whole table as usual.
Answers are cached where the workers' cache is, so a re-run (or a resumed one) asks
only what is missing. ``max_cost`` cannot bound partitions that run apart, and is
refused, as it is for dask batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimo_magic.evaluation.tables import JUDGE_COLUMNS, TABLE_COLUMNS

if TYPE_CHECKING:
    from aimo_magic.batching.template import Template
    from aimo_magic.evaluation.estimate import EvaluationEstimate
    from aimo_magic.evaluation.lanes import Contender


def check_dask_evaluation(data: Any, template: Template, expected: Any, max_cost: Any) -> None:
    """What a dask evaluation cannot do, refused at once; the template against the columns."""
    import dask.dataframe as dd

    if max_cost is not None:
        raise ValueError(
            "max_cost cannot go with dask data: partitions run on separate workers with no "
            "shared budget; check .estimate() first, or evaluate part of the data."
        )
    if expected is not None and not (isinstance(expected, str) or callable(expected)):
        raise ValueError(
            "expected= on dask data must be a column name or a callable row -> value "
            "(a list cannot follow the partitions)."
        )
    if isinstance(data, dd.DataFrame):
        columns = [str(c) for c in data.columns]
        template.check(columns, "the DataFrame's rows")
        if isinstance(expected, str) and expected not in columns:
            raise ValueError(
                f"expected={expected!r} names no column of the data (columns: "
                f"{', '.join(columns)})."
            )
    else:
        template.check(None)
        if isinstance(expected, str):
            raise ValueError(
                f"expected={expected!r} names a column, but the rows are plain values; "
                "give a callable row -> value instead."
            )


def expected_values(data: Any, expected: Any) -> Callable[[], list[Any]] | None:
    """Every distinct expected value of a dask column (for ``choice``), computed when asked."""
    if not isinstance(expected, str):
        return None

    def values() -> list[Any]:
        return sorted(data[expected].dropna().unique().compute().tolist(), key=str)

    return values


@dataclass(frozen=True)
class PartitionEvaluation:
    """One partition's evaluation: picklable, and holding nothing secret. ``make`` is the
    ``Evaluation`` class (pickled by name), handed in so this module needs no import of it."""

    make: Callable[..., Any]
    template: str
    models: tuple[str, ...]
    expected: Any
    score: Any
    judge: str | None
    rubric: str | None
    repeats: int
    schema: Any
    choices: tuple[str, ...] | None
    system: str | None
    concurrency: int
    cache: Any
    stream: bool
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, part: Any) -> Any:
        ev = self.make(
            self.template,
            part,
            models=list(self.models),
            expected=self.expected,
            score=self.score,
            judge=self.judge,
            rubric=self.rubric,
            repeats=self.repeats,
            schema=self.schema,
            choices=self.choices,
            system=self.system,
            concurrency=self.concurrency,
            cache=self.cache,
            stream=self.stream,
            progress=False,
            seed=self.seed,
            **self.params,
        )
        ev.announce = False
        if len(part):
            ev.run()
        return ev.table if len(part) else empty_table(self.judge is not None)


def empty_table(judged: bool) -> Any:
    from aimo_magic.evaluation.tables import table_frame

    return table_frame([], judged)


def run_on_dask(data: Any, job: PartitionEvaluation) -> Any:
    """Compute every partition's evaluation; returns the whole table (pandas)."""
    import pandas as pd

    judged = job.judge is not None
    parts = data.map_partitions(job, meta=empty_table(judged))
    table = parts.compute()
    columns = list(TABLE_COLUMNS) + (list(JUDGE_COLUMNS) if judged else [])
    return pd.DataFrame(table, columns=columns).reset_index(drop=True)


def dask_estimate(
    data: Any,
    template: Template,
    contenders: Sequence[Contender],
    *,
    job: PartitionEvaluation,
    judge: Contender | None,
    params: dict[str, Any],
    max_cost: float | None,
) -> EvaluationEstimate:
    """Rows and prompt tokens counted where dask runs each partition; the cache is not read
    (the workers' cache may be elsewhere), so every answer counts as one to send."""
    from aimo_magic.batching.costs import DEFAULT_ANSWER_TOKENS, answer_bound
    from aimo_magic.batching.estimate import estimate
    from aimo_magic.batching.on_dask import count_prompt_tokens
    from aimo_magic.core.tokens import estimate_tokens
    from aimo_magic.evaluation.estimate import EvaluationEstimate, ModelEstimate
    from aimo_magic.evaluation.judge import JUDGE_PARAMS, JUDGE_TEMPLATE

    rows, tokens = count_prompt_tokens(data, template, job.system)
    bound = answer_bound(params)
    count, sent = rows * job.repeats, tokens * job.repeats
    parts = tuple(
        ModelEstimate(c.label, count, 0, estimate(c.model_id, count, sent, c.prices, bound))
        for c in contenders
    )
    judged = None
    if judge is not None:
        requests = count * len(contenders)
        frame = estimate_tokens({"role": "user", "content": JUDGE_TEMPLATE + (job.rubric or "")})
        answer = bound or DEFAULT_ANSWER_TOKENS
        judge_tokens = sent * len(contenders) + requests * (frame + answer)
        judged = ModelEstimate(
            judge.label,
            requests,
            0,
            estimate(
                judge.model_id, requests, judge_tokens, judge.prices, answer_bound(JUDGE_PARAMS)
            ),
        )
    return EvaluationEstimate(parts, judged, max_cost)
