"""The answer cache in real kernels against the emulator (its request log counts requests).

A notebook run twice in fresh kernels (a restart) pays nothing the second time and shows
the same answers; changes miss; failures are not kept; kernels share one file; a bad
file costs one warning line and nothing else.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.core.cache import FILE_NAME, AnswerCache
from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-cache-kernel-7f3a9c"
MODEL = "DeepSeek-V3-1"


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    try:
        yield emulator
    finally:
        emulator.clear_faults()


def start_kernel(emulator: EmulatorHandle, cache_dir: Path, setup: str = "") -> Kernel:
    kernel = Kernel(
        env={
            "AIMO_BASE_URL": emulator.base_url,
            "AIMO_API_KEY": KEY,
            "AIMO_CACHE_DIR": str(cache_dir),
        }
    )
    ok(kernel, f"%load_ext aimo_magic\n%aimo use {MODEL}\n{setup}")
    return kernel


@pytest.fixture
def kernel(emu: EmulatorHandle, tmp_path: Path) -> Iterator[Kernel]:
    running = start_kernel(emu, tmp_path, "%aimo cache on")
    try:
        yield running
    finally:
        running.close()


def ok(kernel: Kernel, code: str) -> CellRun:
    run = kernel.execute(code, timeout=120)
    assert run.status == "ok", (code, run.error, run.stderr)
    return run


def answer_of(outputs: list[dict[str, Any]]) -> str:
    return "".join(
        o["data"].get("text/plain", "")
        for o in outputs
        if o.get("metadata", {}).get("aimo", {}).get("output") == "answer"
    )


def footer_of(outputs: list[dict[str, Any]]) -> str:
    return "".join(
        o["data"].get("text/plain", "")
        for o in outputs
        if o.get("metadata", {}).get("aimo", {}).get("output") == "footer"
    )


def file_bytes(directory: Path) -> bytes:
    path = directory / FILE_NAME
    return b"".join(
        Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )


# Run All after a restart ---------------------------------------------------------
NOTEBOOK_CELLS = [
    ("setup", f"%load_ext aimo_magic\n%aimo use {MODEL}\n%aimo cache on"),
    ("ask-1", '%%aimo -s "You answer in JSON."\n::echo the first question'),
    ("ask-2", "%%aimo\n::echo a follow-up that sends the first exchange as history"),
    ("ask-3", "%%aimo -t 0.3 --no-stream\n::echo a third, not streamed"),
    ("ask-4", "%%aimo --no-history -c other -f code\n::code python"),
    ("usage", "%aimo usage"),
]


def run_notebook(emulator: EmulatorHandle, cache_dir: Path) -> Any:
    from nbclient import NotebookClient

    from aimo_magic.demo import _kernel_manager

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, id=cell_id) for cell_id, source in NOTEBOOK_CELLS]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIMO_")},
        "AIMO_BASE_URL": emulator.base_url,
        "AIMO_API_KEY": KEY,
        "AIMO_CACHE_DIR": str(cache_dir),
    }
    NotebookClient(nb, km=_kernel_manager(), timeout=120).execute(env=env, cleanup_kc=True)
    return nb


def test_run_all_after_a_restart_pays_nothing_and_shows_the_same(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    first = run_notebook(emu, tmp_path)
    asks = [cell_id for cell_id, _ in NOTEBOOK_CELLS if cell_id.startswith("ask")]
    assert len(emu.requests) == len(asks)
    emu.clear_requests()

    second = run_notebook(emu, tmp_path)  # a fresh kernel: what a restart gives
    assert emu.requests == [], "the second run sent nothing"
    for cell_one, cell_two in zip(first.cells, second.cells, strict=True):
        if not cell_one.id.startswith("ask"):
            continue
        text = answer_of(cell_one.outputs)
        assert text, cell_one.id
        assert answer_of(cell_two.outputs) == text, cell_one.id
        assert "from the cache" not in footer_of(cell_one.outputs)
        footer = footer_of(cell_two.outputs)
        assert "from the cache" in footer and "no tokens charged" in footer, footer
        assert cell_two.outputs[-1]["metadata"]["aimo"]["cached_at"]
    # ::echo answers carry the request's id: only a stored answer can repeat one exactly.
    assert json.loads(answer_of(second.cells[1].outputs))["headers"]["x-request-id"]
    usage = second.cells[-1].outputs[0]["data"]["text/plain"]
    assert "Cache hits" in usage
    total = next(line for line in usage.splitlines() if line.startswith("Total"))
    assert total.split()[1:3] == ["0", "0"], total  # no live answers, no prompt tokens
    assert total.split()[-2] == str(len(asks)), total

    raw = file_bytes(tmp_path)
    assert b"x-request-id" in raw, "the check reads the file the kernels wrote"
    assert KEY.encode() not in raw and KEY[-10:].encode() not in raw


# What misses and what is not kept -----------------------------------------------
def test_a_changed_parameter_model_or_prompt_misses(kernel: Kernel, emu: EmulatorHandle) -> None:
    cell = "%%aimo --no-history {options}\n::echo {prompt}"
    ok(kernel, cell.format(options="-t 0.2", prompt="p"))
    again = ok(kernel, cell.format(options="-t 0.2", prompt="p"))
    assert len(emu.requests) == 1
    assert "from the cache" in again.plain()
    for options, prompt in [
        ("-t 0.3", "p"),
        ("-t 0.2 --max-tokens 300", "p"),
        ("openai/gpt-4o -t 0.2", "p"),
        ("-t 0.2 -s 'Be brief.'", "p"),
        ("-t 0.2", "q"),
        ("-t 0.2 --no-cache", "p"),
    ]:
        before = len(emu.requests)
        run = ok(kernel, cell.format(options=options, prompt=prompt))
        assert len(emu.requests) == before + 1, options
        assert "from the cache" not in run.plain()


def test_off_by_default_and_on_for_one_cell(emu: EmulatorHandle, tmp_path: Path) -> None:
    kernel = start_kernel(emu, tmp_path)
    try:
        for _ in range(2):
            ok(kernel, "%%aimo --no-history\n::echo by default")
        assert len(emu.requests) == 2
        ok(kernel, "%%aimo --no-history --cache\n::echo one cell")
        hit = ok(kernel, "%%aimo --no-history --cache\n::echo one cell")
        assert len(emu.requests) == 3 and "from the cache" in hit.plain()
        ok(kernel, "%config AimoMagics.cache = True")
        ok(kernel, "%%aimo --no-history\n::echo one cell")
        assert len(emu.requests) == 3
        ok(kernel, "%aimo cache off")
        ok(kernel, "%%aimo --no-history\n::echo one cell")
        assert len(emu.requests) == 4
    finally:
        kernel.close()


def test_failures_are_not_cached(kernel: Kernel, emu: EmulatorHandle) -> None:
    ok(kernel, "%config AimoMagics.max_retries = 0")
    cell = "%%aimo --no-history\n::echo fails first"
    emu.queue_faults("status=500")
    failed = kernel.execute(cell)
    assert failed.status == "error"
    emu.queue_faults("disconnect_after=2")
    assert kernel.execute(cell).status == "error"
    assert len(emu.requests) == 2
    live = ok(kernel, cell)
    assert "from the cache" not in live.plain()
    assert len(emu.requests) == 3
    assert "from the cache" in ok(kernel, cell).plain()
    assert len(emu.requests) == 3


def test_an_interrupted_answer_is_not_cached(kernel: Kernel, emu: EmulatorHandle) -> None:
    def streaming_and_the_rest_held(run: CellRun) -> bool:
        return bool(run.of_type("update_display_data")) and emu.held == 1

    cell = "%%aimo --no-history\n::words 120 ::fault hold_after=30"
    emu.hold()  # the answer stops after 30 chunks until the stop button has been pressed
    stopped = kernel.execute(cell, interrupt_when=streaming_and_the_rest_held, timeout=120)
    emu.release()
    assert stopped.status == "error" and "Interrupted" in stopped.plain()
    again = ok(kernel, cell)  # the same request: answered live, then stored
    assert "from the cache" not in again.plain()
    assert len(emu.requests) == 2
    assert "from the cache" in ok(kernel, cell).plain()
    assert len(emu.requests) == 2


def test_a_hit_continues_the_thread_like_a_live_answer(kernel: Kernel, emu: EmulatorHandle) -> None:
    ok(kernel, "%%aimo -c t1 --new\n::echo one")
    ok(kernel, "%%aimo -c t1 --new\n::echo one")  # a hit, recorded in a fresh thread
    assert len(emu.requests) == 1
    follow = ok(kernel, "%%aimo -c t1\n::echo two")
    sent = json.loads(emu.requests[-1]["body"])["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert json.loads(sent[1]["content"])["message_count"] == 1
    assert follow.status == "ok"


# Files and kernels ------------------------------------------------------------------
WRITER = """
from IPython import get_ipython
for _i in range(25):
    get_ipython().run_cell_magic(
        "aimo", "--no-history --cache", "::words 30 kernel {n} question " + str(_i)
    )
"""


def test_two_kernels_write_at_once(emu: EmulatorHandle, tmp_path: Path) -> None:
    kernels = [start_kernel(emu, tmp_path) for _ in range(2)]
    runs: dict[int, CellRun] = {}
    try:

        def write(n: int) -> None:
            runs[n] = kernels[n].execute(WRITER.format(n=n), timeout=240)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for run in runs.values():
            assert run.status == "ok", run.error
            assert "locked" not in run.stderr and "cannot be used" not in run.stderr, run.stderr
        emu.clear_requests()
        again = kernels[0].execute(WRITER.format(n=1), timeout=240)
        assert again.status == "ok" and emu.requests == [], "kernel 0 reads kernel 1's answers"
    finally:
        for kernel in kernels:
            kernel.close()
    with AnswerCache(tmp_path) as store:
        assert store.stats().entries == 50


def test_a_corrupt_file_costs_one_warning_line(emu: EmulatorHandle, tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"not a database " * 500)
    kernel = start_kernel(emu, tmp_path)
    try:
        first = ok(kernel, "%%aimo --no-history\n::echo corrupt")
        assert first.stderr == ""  # caching is off: the file is not even opened
        on = ok(kernel, "%aimo cache on")
        lines = [line for line in on.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "cannot be used" in lines[0] and "corrupt" in lines[0], lines
        assert "Traceback" not in on.stderr
        for _ in range(2):
            run = ok(kernel, "%%aimo --no-history\n::echo corrupt")
            assert run.stderr == "" and "from the cache" not in run.plain()
            assert answer_of(run.final_outputs())
        assert len(emu.requests) == 3
        stats = ok(kernel, "%aimo cache stats")
        assert "cannot be used" in stats.stdout
    finally:
        kernel.close()
    assert (tmp_path / FILE_NAME).read_bytes() == b"not a database " * 500, "left as it was"


def test_a_file_that_breaks_during_a_cell_is_reported_once(
    kernel: Kernel, emu: EmulatorHandle, tmp_path: Path
) -> None:
    ok(kernel, "%%aimo --no-history\n::echo before")
    ok(kernel, "%aimo cache stats")
    corrupt = (
        "from aimo_magic.magics.extension import magics_for\n"
        "magics_for(get_ipython()).session.answer_cache().close()"
    )
    ok(kernel, corrupt)
    run = ok(kernel, "%%aimo --no-history\n::echo after")
    assert answer_of(run.final_outputs())
    assert run.stderr.count("cannot be used") == 1, run.stderr
    later = ok(kernel, "%%aimo --no-history\n::echo after")
    assert later.stderr == ""
    assert len(emu.requests) == 3


# %aimo cache ----------------------------------------------------------------------
def row(table: str, name: str) -> str:
    line = next(x for x in table.splitlines() if x.startswith(name))
    return line[len(name) :].strip()


def test_stats_and_clear(kernel: Kernel, tmp_path: Path) -> None:
    for cell in (
        "%%aimo --no-history\n::words 5 one",
        "%%aimo --no-history\n::words 5 two",
        "%%aimo openai/gpt-4o --no-history\n::words 5 three",
        "%%aimo --no-history\n::words 5 one",
    ):
        ok(kernel, cell)
    stats = ok(kernel, "%aimo cache stats").plain()
    assert row(stats, "Entries") == "3"
    assert row(stats, "Hits this session") == "1"
    assert row(stats, "Misses this session") == "3"
    assert row(stats, "Location") == str(tmp_path / FILE_NAME)
    assert row(stats, "State") == "on for %%aimo cells"
    assert row(stats, "Est. cost saved by hits this session").startswith("$")
    cleared = ok(kernel, "%aimo cache clear --model openai/gpt-4o").stdout
    assert cleared.startswith("Forgot 1 cached answer of openai/gpt-4o"), cleared
    assert ok(kernel, "%aimo cache clear --older-than 1").stdout.startswith("Forgot 0 cached")
    assert ok(kernel, "%aimo cache clear").stdout.startswith("Forgot 2 cached answers")
    assert "off for %%aimo" in ok(kernel, "%aimo cache off\n%aimo cache").stdout
    refused = kernel.execute("%aimo cache stats --model x")
    assert refused.status == "error"
    assert "go with `%aimo cache clear`" in (refused.error or {}).get("evalue", "")
