"""Evaluations over dask collections, computed on a ``distributed.LocalCluster`` of 2 processes.

As for batches, the workers send their own requests with the key from their own
environment; the task graph carries the resolved model ids and options, never a key.
"""

from __future__ import annotations

from collections.abc import Iterator

import cloudpickle
import dask.dataframe as dd
import pandas as pd
import pytest
from dask_cluster import emulator_cluster
from distributed import Client as DaskClient

import aimo_magic
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-evaluate-dask-0123456789"
MODELS = ["DeepSeek-V3-1", "openai/gpt-4o-mini"]
PROMPT = "What is {a} + {b}? Answer with the number only."


@pytest.fixture(scope="module")
def cluster(
    emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaskClient]:
    """Two worker processes started with the emulator's URL and a key in their environment."""
    with emulator_cluster(emulator, KEY, tmp_path_factory.mktemp("evaluate-dask-cache")) as client:
        yield client


def frame(n: int = 10) -> pd.DataFrame:
    data = pd.DataFrame({"a": range(n), "b": range(100, 100 + n)}, index=range(50, 50 + n))
    data["total"] = data["a"] + data["b"]
    return data


def test_a_dask_evaluation_runs_each_partition_on_the_workers(
    cluster: DaskClient, emulator: EmulatorHandle
) -> None:
    emulator.clear_requests()
    lazy = dd.from_pandas(frame(), npartitions=3)
    ev = aimo_magic.evaluate(PROMPT, lazy, models=MODELS, expected="total", score="number")
    graph = cloudpickle.dumps(ev._partition_job(ev._resolve()))
    assert KEY.encode() not in graph
    estimate = ev.estimate()
    assert list(estimate.frame["requests"]) == [10, 10]
    assert emulator.requests == []
    summary = ev.run()
    assert len(emulator.requests) == 20
    table = ev.table
    assert len(table) == 20 and sorted(set(table["row"])) == list(range(50, 60))
    assert list(summary["rows"]) == [10, 10] and list(summary["score"]) == [1.0, 1.0]
    # The same data in pandas, from the workers' cache: the same figures.
    emulator.clear_requests()
    again = aimo_magic.evaluate(PROMPT, lazy, models=MODELS, expected="total", score="number")
    columns = ["rows", "score", "ci_low", "ci_high", "cost", "tokens"]
    assert again.run()[columns].equals(summary[columns])
    assert emulator.requests == [], "a re-run is answered by the workers' cache"


def test_dask_refuses_what_partitions_cannot_share() -> None:
    lazy = dd.from_pandas(frame(4), npartitions=2)
    with pytest.raises(ValueError, match=r"max_cost cannot go with dask data"):
        aimo_magic.evaluate(PROMPT, lazy, models=MODELS, expected="total", max_cost=1.0)
    with pytest.raises(ValueError, match=r"expected='totl' names no column"):
        aimo_magic.evaluate(PROMPT, lazy, models=MODELS, expected="totl")
    with pytest.raises(ValueError, match=r"a list cannot follow the partitions"):
        aimo_magic.evaluate(PROMPT, lazy, models=MODELS, expected=[1, 2, 3, 4])
