"""Dask data: a lazy result, one ordinary batch per partition on whichever worker runs it.

The task graph carries the template, the model name and the options, never a client
or a key: each worker builds its own client from its own environment
(``AIMO_API_KEY``, ``AIMO_BASE_URL``), so a key never travels to a scheduler or
lands in a pickled graph. Nothing is sent until the result is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimo_magic.core.errors import AimoError

if TYPE_CHECKING:
    from aimo_magic.batching.api import Batch
    from aimo_magic.batching.estimate import Estimate


def check_dask(batch: Batch) -> None:
    """What a dask batch cannot do, refused at once; and the template against the columns."""
    import dask.dataframe as dd

    if batch._client is not None:
        raise ValueError(
            "client= cannot go with dask data: workers read AIMO_API_KEY and AIMO_BASE_URL "
            "from their own environment, so that no key travels in the task graph."
        )
    if batch.max_cost is not None:
        raise ValueError(
            "max_cost cannot go with dask data: partitions run on separate workers with no "
            "shared budget; check .estimate() first, or compute part of the data."
        )
    if batch.answer.json and batch.answer.columns is None:
        raise ValueError(
            "format='json' on dask data needs schema=... (a JSON Schema with properties, or "
            "a pydantic model class), so the result's columns are known before computing."
        )
    data = batch._data
    if isinstance(data, dd.DataFrame):
        batch.template.check([str(c) for c in data.columns], "the DataFrame's rows")
    else:
        batch.template.check(None)


@dataclass(frozen=True)
class PartitionJob:
    """What each partition's batch needs; picklable, and holding nothing secret."""

    template: str
    model: str | None
    system: str | None
    concurrency: int
    schema: Any
    json: bool
    on_error: str
    cache: Any
    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, part: Any) -> Any:
        from aimo_magic.batching.api import Batch

        return Batch(
            self.template,
            part,
            model=self.model,
            system=self.system,
            concurrency=self.concurrency,
            format="json" if self.json else "text",
            schema=self.schema,
            on_error=self.on_error,
            cache=self.cache,
            progress=False,
            **self.params,
        ).run()


def _model_here(batch: Batch) -> str | None:
    """The model as this process knows it (argument, session default, alias, AIMO_MODEL);
    None leaves it to each worker's AIMO_MODEL."""
    from aimo_magic.batching.connect import resolve

    try:
        return resolve(None).model(batch.model)
    except AimoError:
        return None


def job_for(batch: Batch) -> PartitionJob:
    from aimo_magic.batching.api import cache_location

    params = dict(batch.params)
    if batch.answer.schema is not None:
        params.pop("response_format", None)  # each partition's Batch adds it from the schema
    return PartitionJob(
        template=batch.template.text,
        model=_model_here(batch),
        system=batch.system,
        concurrency=batch.concurrency,
        schema=batch.answer.model_class or batch.answer.schema,
        json=batch.answer.json,
        on_error=batch.on_error,
        cache=cache_location(batch.cache),
        params=params,
    )


def meta_for(batch: Batch) -> Any:
    """The empty result dask needs to know the output's type before computing."""
    import pandas as pd

    data = batch._data
    index = data._meta.index
    if not batch.answer.json:
        name = data.name if hasattr(data, "name") and not hasattr(data, "columns") else None
        return pd.Series([], index=index, dtype="string", name=name)
    dtypes = batch.answer.dtypes or {}
    columns = batch.answer.columns or []
    return pd.DataFrame(
        {c: pd.Series([], index=index, dtype=dtypes.get(c, "object")) for c in columns},
        index=index,
    )


def lazy_result(batch: Batch) -> Any:
    return batch._data.map_partitions(job_for(batch), meta=meta_for(batch))


def _partition_tokens(part: Any, template: str, system: str | None) -> tuple[int, int]:
    from aimo_magic.batching.costs import prompt_tokens
    from aimo_magic.batching.engine import messages_for
    from aimo_magic.batching.rows import Rows
    from aimo_magic.batching.template import Template

    rows = Rows(part)
    rows.bind(Template(template))
    tokens = sum(prompt_tokens(messages_for(system, rows.prompt(i))) for i in range(len(rows)))
    return len(rows), tokens


def estimate_dask(batch: Batch) -> Estimate:
    """Reads every partition (wherever dask runs it) to count prompt tokens; sends nothing."""
    import dask

    from aimo_magic.batching.costs import PriceBook, answer_bound
    from aimo_magic.batching.estimate import estimate

    target, model = batch._target()
    tasks = [
        dask.delayed(_partition_tokens)(part, batch.template.text, batch.system)
        for part in batch._data.to_delayed()
    ]
    counts = dask.compute(*tasks)
    rows = sum(c[0] for c in counts)
    tokens = sum(c[1] for c in counts)
    prices = PriceBook(target.models(), model)
    return estimate(model, rows, tokens, prices, answer_bound(batch.params))
