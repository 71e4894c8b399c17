"""Batches over dask collections, computed on a ``distributed.LocalCluster`` of 2 processes.

The workers are separate processes that read ``AIMO_API_KEY`` and ``AIMO_BASE_URL`` from
their environment and send their own requests to the emulator; the task graph carries
no key (checked on its pickled bytes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import dask.dataframe as dd
import pandas as pd
import pytest
from dask_cluster import emulator_cluster
from distributed import Client as DaskClient

import aimo_magic
from aimo_magic import Batch
from aimo_magic.batching import TemplateError
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-batch-dask-0123456789"
MODEL = "DeepSeek-V3-1"
SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string"}, "stars": {"type": "integer"}},
}


@pytest.fixture(scope="module")
def cluster(
    emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaskClient]:
    """Two worker processes started with the emulator's URL and a key in their environment."""
    with emulator_cluster(emulator, KEY, tmp_path_factory.mktemp("dask-cache")) as client:
        yield client


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator


def frame() -> dd.DataFrame:
    data = pd.DataFrame(
        {"name": [f"item {n}" for n in range(24)], "size": range(24)},
        index=pd.Index(range(100, 124), name="id"),
    )
    return dd.from_pandas(data, npartitions=4)


def test_a_dask_frame_gives_a_lazy_series_computed_by_the_workers(
    cluster: DaskClient, emu: EmulatorHandle
) -> None:
    lazy = aimo_magic.batch("Describe {name} of size {size} ::echo", frame(), model=MODEL)
    assert isinstance(lazy, dd.Series)
    assert emu.requests == [], "nothing is sent until it is computed"
    graph = cloudpickle.dumps(dict(lazy.__dask_graph__()))
    assert KEY.encode() not in graph and b"aimo-sk-" not in graph
    pids = set(cluster.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    result = lazy.compute()
    assert list(result.index) == list(range(100, 124))
    for label, value in result.items():
        n = label - 100
        assert json.loads(value)["messages"][-1]["content"] == (
            f"Describe item {n} of size {n} ::echo"
        )
    assert len(emu.requests) == 24
    # Sent by the workers, with the key from their environment (the emulator redacts it).
    assert all(r["headers"]["authorization"] == "[redacted]" for r in emu.requests)


def test_a_schema_on_dask_gives_typed_columns(cluster: DaskClient, emu: EmulatorHandle) -> None:
    names = frame()["name"]
    lazy = aimo_magic.batch("Rate {}", names, model=MODEL, schema=SCHEMA)
    assert isinstance(lazy, dd.DataFrame) and list(lazy.columns) == ["label", "stars"]
    result = lazy.compute()
    assert result.dtypes.astype(str).to_dict() == {"label": "string", "stars": "Int64"}
    assert list(result.index) == list(range(100, 124)) and set(result["stars"]) == {42}


def test_dask_refusals_and_an_estimate_that_sends_nothing(
    cluster: DaskClient, emu: EmulatorHandle, tmp_path: Path
) -> None:
    with pytest.raises(TemplateError, match=r"\{nme\} names no field"):
        Batch("{nme}", frame(), model=MODEL)
    with pytest.raises(ValueError, match="needs schema"):
        Batch("{name}", frame(), model=MODEL, format="json")
    with pytest.raises(ValueError, match="max_cost cannot go with dask"):
        Batch("{name}", frame(), model=MODEL, max_cost=1)
    guess = Batch("{name}", frame(), model=MODEL).estimate()
    assert guess.rows == 24 and guess.prompt_tokens > 24
    assert emu.requests == []
