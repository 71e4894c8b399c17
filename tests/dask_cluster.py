"""A ``distributed.LocalCluster`` of 2 worker processes pointed at the emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client as DaskClient
from distributed import LocalCluster

from aimo_magic.emulator import EmulatorHandle


@contextmanager
def emulator_cluster(emulator: EmulatorHandle, key: str, cache_dir: Path) -> Iterator[DaskClient]:
    """Two worker processes started with the emulator's URL, ``key`` and a cache directory in
    their environment (set in this process while they start, restored afterwards)."""
    env = {
        "AIMO_API_KEY": key,
        "AIMO_BASE_URL": emulator.base_url,
        "AIMO_CACHE_DIR": str(cache_dir),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with (
            LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=None,
                host="127.0.0.1",
            ) as local,
            DaskClient(local) as client,
        ):
            yield client
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
