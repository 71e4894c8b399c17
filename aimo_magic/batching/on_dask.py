"""Dask data: a lazy result, one ordinary batch per partition on whichever worker runs it.

The task graph carries the template, the model name and the options, never a client
or a key: each worker builds its own client from its own environment
(``AIMO_API_KEY``, ``AIMO_BASE_URL``), so a key never travels to a scheduler or
lands in a pickled graph. Nothing is sent until the result is computed.
"""

from __future__ import annotations

from typing import Any

from aimo_magic.batching.answers import AnswerFormat
from aimo_magic.batching.template import Template


def check_dask(
    data: Any, template: Template, answer: AnswerFormat, *, client: Any, max_cost: Any
) -> None:
    """What a dask batch cannot do, refused at once; and the template against the columns."""
    import dask.dataframe as dd

    if client is not None:
        raise ValueError(
            "client= cannot go with dask data: workers read AIMO_API_KEY and AIMO_BASE_URL "
            "from their own environment, so that no key travels in the task graph."
        )
    if max_cost is not None:
        raise ValueError(
            "max_cost cannot go with dask data: partitions run on separate workers with no "
            "shared budget; check .estimate() first, or compute part of the data."
        )
    if answer.json and answer.columns is None:
        raise ValueError(
            "format='json' on dask data needs schema=... (a JSON Schema with properties, or "
            "a pydantic model class), so the result's columns are known before computing."
        )
    if isinstance(data, dd.DataFrame):
        template.check([str(c) for c in data.columns], "the DataFrame's rows")
    else:
        template.check(None)


def meta_for(data: Any, answer: AnswerFormat) -> Any:
    """The empty result dask needs to know the output's type before computing."""
    import pandas as pd

    index = data._meta.index
    if not answer.json:
        name = None if hasattr(data, "columns") else data.name
        return pd.Series([], index=index, dtype="string", name=name)
    dtypes = answer.dtypes or {}
    columns = answer.columns or []
    return pd.DataFrame(
        {c: pd.Series([], index=index, dtype=dtypes.get(c, "object")) for c in columns},
        index=index,
    )


def lazy_result(data: Any, answer: AnswerFormat, job: Any) -> Any:
    """``job`` (a picklable callable holding no secret) runs one partition's batch."""
    return data.map_partitions(job, meta=meta_for(data, answer))


def _partition_tokens(part: Any, template: str, system: str | None) -> tuple[int, int]:
    from aimo_magic.batching.costs import total_prompt_tokens
    from aimo_magic.batching.rows import Rows

    rows = Rows(part)
    rows.bind(Template(template))
    return len(rows), total_prompt_tokens(rows, system)


def count_prompt_tokens(data: Any, template: Template, system: str | None) -> tuple[int, int]:
    """Rows and estimated prompt tokens, counted where dask runs each partition."""
    import dask

    tasks = [
        dask.delayed(_partition_tokens)(part, template.text, system) for part in data.to_delayed()
    ]
    counts = dask.compute(*tasks)
    return sum(c[0] for c in counts), sum(c[1] for c in counts)
