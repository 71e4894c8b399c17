"""Batches in a real kernel: the progress widget, ``%aimo usage``, interrupt and resume.

The kernel already runs an event loop, so these check that a batch still runs there,
that the stop button (a SIGINT to the kernel) stops it with the finished rows kept,
and that running the same cell again sends only the rows still missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_harness import AIMO_THREADS_LEFT, CellRun, Kernel
from waiting import wait_until

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
            # An answer the emulator holds is never given up on by a timeout during a
            # test: only a cancelled request leaves it, which is what the tests look for.
            "AIMO_TIMEOUT": "600",
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
    # A saved notebook without widget state shows the bar's text: the finished bar, not 0%.
    (bar,) = [o["data"]["text/plain"] for o in run.final_outputs() if WIDGET in o["data"]]
    assert "100%" in bar and "3/3" in bar, bar
    assert "3 of 3 rows answered" in run.stdout
    assert "['River answer cloud.'" in run.plain()
    usage = ok(kernel, "%aimo usage").plain()
    assert re.search(r"DeepSeek-V3-1 · akash-ml\s+3\s", usage), usage
    assert len(emu.requests) == 3


ANSWERED_BEFORE_STOP = 10
CONCURRENCY = 4


def test_interrupt_stops_the_batch_keeps_finished_rows_and_a_rerun_sends_only_the_rest(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, "rows = [f'row {n}' for n in range(120)]")
    cell = "values = aimo_magic.batch('{}', rows, concurrency=%d)"
    # The server answers ten rows, then holds every answer: the stop button is pressed while
    # four requests wait at the server and the other rows are not sent yet.
    emu.hold(after=ANSWERED_BEFORE_STOP)
    stopped = kernel.execute(
        cell % CONCURRENCY, interrupt_when=lambda _: emu.held == CONCURRENCY, timeout=120
    )
    assert stopped.status == "error" and stopped.error is not None
    assert stopped.error["ename"] == "BatchInterrupted"
    found = re.search(
        r"(\d+) of 120 rows answered; (\d+) not sent, interrupted", stopped.error["evalue"]
    )
    assert found, stopped.error["evalue"]
    answered = int(found.group(1))
    assert answered == ANSWERED_BEFORE_STOP and int(found.group(2)) == 120 - answered
    # What was in flight was cancelled: the server saw those clients go, unanswered.
    wait_until(lambda: emu.held == 0, "the server sees the held requests cancelled")
    assert emu.abandoned == CONCURRENCY
    assert ok(kernel, AIMO_THREADS_LEFT).stdout.strip() == "0", "the batch's thread ended"
    assert len(emu.requests) == answered + CONCURRENCY, "nothing is sent after the interrupt"
    emu.release()
    emu.clear_requests()
    resumed = ok(kernel, cell % 16, timeout=120)
    cached = re.search(r"120 of 120 rows answered \((\d+) from the cache\)", resumed.stdout)
    assert cached and int(cached.group(1)) == answered, resumed.stdout
    assert len(emu.requests) == 120 - answered, "only the missing rows are sent"
    check = ok(kernel, "print(sum(v is not None for v in values))")
    assert check.stdout.strip() == "120"


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


# %%aimo --each ---------------------------------------------------------------------------

SETUP_FRAME = """
import pandas as pd
products = pd.DataFrame(
    {"name": ["kettle", "lamp", "desk"], "price": [25.0, 40.5, 120.0]},
    index=["k1", "l2", "d3"],
)
name = "NOT-A-ROW"
tone = "cheerful"
"""


def bodies(emu: EmulatorHandle) -> list[dict]:
    import json

    return [json.loads(r["body"]) for r in emu.requests]


def test_each_asks_the_cell_of_every_row_and_keeps_the_values(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, SETUP_FRAME)
    run = ok(
        kernel,
        "%%aimo --each products -o blurbs --concurrency 2 -s 'Be brief.'\n"
        "Write a {tone} line about the {name} at {price:.2f} EUR {{no braces}}.",
    )
    sent = sorted(b["messages"][-1]["content"] for b in bodies(emu))
    assert sent == [
        "Write a cheerful line about the desk at 120.00 EUR {no braces}.",
        "Write a cheerful line about the kettle at 25.00 EUR {no braces}.",
        "Write a cheerful line about the lamp at 40.50 EUR {no braces}.",
    ], "row fields win over notebook variables; other placeholders are filled once"
    assert all(b["messages"][0]["content"] == "Be brief." for b in bodies(emu))
    outputs = run.final_outputs()
    assert any(WIDGET in o["data"] for o in outputs), "the live progress bar"
    preview = run.html()
    assert "<table" in preview and "k1" in preview and "d3" in preview
    assert run.stdout.strip().endswith("s."), "the summary line comes last"
    assert "3 of 3 rows answered" in run.stdout
    kept = ok(kernel, "print(type(blurbs).__name__, list(blurbs.index), blurbs.isna().sum())")
    assert kept.stdout.split()[:4] == ["Series", "['k1',", "'l2',", "'d3']"]
    history = ok(kernel, "%aimo chats").plain()
    assert re.search(r"\*\s+default\s+0\n", history), "rows never enter a conversation"


def test_each_with_json_gives_columns_and_a_list_gives_a_list(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, SETUP_FRAME)
    ok(kernel, "%%aimo --each products -f json -o facts\nFacts about the {name}")
    shape = ok(kernel, "print(list(facts.columns), list(facts.index))").stdout
    assert "'topic', 'word_count'" in shape and "['k1', 'l2', 'd3']" in shape
    ok(kernel, "words = ['alpha', 'beta']")
    listed = ok(kernel, "%%aimo --each words -o defs\nDefine {} ::words 2")
    assert "<td>River answer.</td>" in listed.html(), "the list's preview table"
    assert ok(kernel, "print(defs)").stdout.strip() == "['River answer.', 'River answer.']"


def test_each_refuses_before_sending(kernel: Kernel, emu: EmulatorHandle) -> None:
    ok(kernel, SETUP_FRAME)
    for cell, words in (
        ("%%aimo --each products\nAbout {nmae}", "{nmae} names no field of products's rows"),
        ("%%aimo --each missing\nAbout {name}", "no variable 'missing'"),
        ("%%aimo --each products -c notes\nAbout {name}", "never added to a conversation"),
        ("%%aimo --each products -f code\nAbout {name}", "not -f code"),
        ("%%aimo --concurrency 4\nAbout", "--concurrency goes with --each"),
    ):
        run = kernel.execute(cell)
        assert run.status == "error" and run.error is not None, cell
        assert words in run.error["evalue"] and len(run.error["traceback"]) == 1, run.error
    assert emu.requests == []


def test_each_interrupted_keeps_the_finished_rows_in_out_and_resumes(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, "many = [f'item {n}' for n in range(40)]")
    cell = f"%%aimo --each many -o got --concurrency {CONCURRENCY}\n{{}}"
    emu.hold(after=ANSWERED_BEFORE_STOP)
    stopped = kernel.execute(cell, interrupt_when=lambda _: emu.held == CONCURRENCY, timeout=120)
    assert stopped.status == "error" and stopped.error is not None
    assert stopped.error["ename"] == "AnswerInterrupted"
    assert "run the cell again to resume" in stopped.error["evalue"]
    assert "30 not sent, interrupted" in stopped.stdout
    kept = int(ok(kernel, "print(sum(v is not None for v in got))").stdout)
    assert kept == ANSWERED_BEFORE_STOP
    wait_until(lambda: emu.held == 0, "the server sees the held requests cancelled")
    assert emu.abandoned == CONCURRENCY
    emu.release()
    emu.clear_requests()
    ok(kernel, cell, timeout=120)
    assert len(emu.requests) == 40 - kept, "only the missing rows are sent"
    assert ok(kernel, "print(sum(v is not None for v in got))").stdout.strip() == "40"
