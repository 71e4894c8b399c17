"""Batches in a real kernel: the progress widget, ``%aimo usage``, interrupt and resume.

The kernel already runs an event loop, so these check that a batch still runs there,
that the stop button (a SIGINT to the kernel) stops it with the finished rows kept,
and that running the same cell again sends only the rows still missing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-batch-kernel-0000"
MODEL = "DeepSeek-V3-1"
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    cache = tmp_path_factory.mktemp("batch-kernel-cache")
    running = Kernel(
        env={
            "AIMO_BASE_URL": emulator.base_url,
            "AIMO_API_KEY": KEY,
            "AIMO_CACHE_DIR": str(cache),
        }
    )
    try:
        setup = running.execute(f"%load_ext aimo_magic\n%aimo use {MODEL}\nimport aimo_magic")
        assert setup.status == "ok", setup.error or setup.stderr
        yield running
    finally:
        running.close()


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


def ok(kernel: Kernel, code: str, **kwargs: float) -> CellRun:
    run = kernel.execute(code, **kwargs)  # type: ignore[arg-type]
    assert run.status == "ok", (code, run.error, run.stderr[-2000:])
    return run


def test_a_batch_in_a_notebook_shows_a_progress_widget_and_counts_in_usage(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = ok(kernel, "values = aimo_magic.batch('Define {} ::words 3', ['a', 'b', 'c'])\nvalues")
    assert any(WIDGET in o["data"] for o in run.final_outputs()), "tqdm's notebook bar"
    assert "3 of 3 rows answered" in run.stdout
    assert "['River answer cloud.'" in run.plain()
    usage = ok(kernel, "%aimo usage").plain()
    assert re.search(r"DeepSeek-V3-1\s+3\s", usage), usage
    assert len(emu.requests) == 3


def test_interrupt_stops_the_batch_keeps_finished_rows_and_a_rerun_sends_only_the_rest(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    cell = (
        "rows = [f'row {n} ::latency 400' for n in range(60)]\n"
        "values = aimo_magic.batch('{}', rows, concurrency=4)"
    )
    started = time.monotonic()
    stopped = kernel.execute(cell, interrupt_after=1.5, timeout=120)
    took = time.monotonic() - started
    assert stopped.status == "error" and stopped.error is not None
    assert stopped.error["ename"] == "BatchInterrupted"
    found = re.search(
        r"(\d+) of 60 rows answered; (\d+) not sent, interrupted", stopped.error["evalue"]
    )
    assert found, stopped.error["evalue"]
    answered = int(found.group(1))
    assert 0 < answered < 60
    assert took < 12, "stopped long before the whole batch (60 × 0.4 s / 4 = 6 s after 1.5 s)"
    sent_when_stopped = len(emu.requests)
    time.sleep(1.0)
    assert len(emu.requests) == sent_when_stopped, "nothing is sent after the interrupt"
    # What was in flight was cancelled: it is neither answered nor stored.
    assert answered <= sent_when_stopped <= answered + 4
    emu.clear_requests()
    resumed = ok(kernel, cell, timeout=120)
    assert f"60 of 60 rows answered ({answered} from the cache)" in resumed.stdout
    assert len(emu.requests) == 60 - answered
    check = ok(kernel, "print(sum(v is not None for v in values), len(set(values)))")
    assert check.stdout.split()[0] == "60"


def test_the_key_from_the_session_is_used_and_never_shown(
    kernel: Kernel, emu: EmulatorHandle, tmp_path: Path
) -> None:
    run = ok(
        kernel,
        "b = aimo_magic.Batch('{}', ['x'], progress=False)\n"
        "print(repr(b), b.estimate())\n"
        "b.run()\nprint(b.summary)",
    )
    assert KEY not in run.stdout + run.stderr
    assert "1 rows to DeepSeek-V3-1" in run.stdout and "1 of 1 row answered" in run.stdout
