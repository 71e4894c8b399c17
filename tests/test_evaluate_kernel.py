"""Evaluations in a real kernel: the cell form, a bar per model, interrupt and resume.

The interrupt is synchronised on the server, never on time: the emulator answers some
requests and holds the next (``hold``), and the kernel is stopped while they wait.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from kernel_harness import AIMO_THREADS_LEFT, Kernel, aimo_kernel
from kernel_harness import run_ok as ok
from waiting import wait_until

from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-evaluate-kernel-0000"
WIDGET = "application/vnd.jupyter.widget-view+json"
MODELS = "DeepSeek-V3-1,openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    setup = (
        "%load_ext aimo_magic\nimport aimo_magic, pandas as pd\n"
        "sums = pd.DataFrame({'a': [1, 2, 3, 4], 'b': [10, 20, 30, 40]})\n"
        "sums['total'] = sums.a + sums.b"
    )
    cache = str(tmp_path_factory.mktemp("evaluate-kernel-cache"))
    with aimo_kernel(emulator.base_url, KEY, setup, cache) as running:
        yield running


def test_each_with_compare_is_an_evaluation_with_a_bar_per_model(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    cell = (
        f"%%aimo --each sums --compare {MODELS} --expected total --score number -o ev\n"
        "What is {a} + {b}? Answer with the number only."
    )
    run = ok(kernel, cell)
    bars = [o for o in run.final_outputs() if WIDGET in o["data"]]
    assert len(bars) == 2, "one live bar per model"
    html = run.html()
    assert "DeepSeek-V3-1" in html and "openai/gpt-4o-mini" in html and "frontier" in html
    assert re.search(r"8 of 8 answers \(4 rows × 2 models\)", run.stdout), run.stdout
    assert len(emu.requests) == 8
    kept = ok(kernel, "print(type(ev).__name__, len(ev.table), list(ev.summary['score']))")
    assert kept.stdout.strip() == "Evaluation 8 [1.0, 1.0]"
    emu.clear_requests()
    again = ok(kernel, cell)
    assert "8 from the cache" in again.stdout and emu.requests == []


def test_the_cell_form_refuses_in_one_line(kernel: Kernel, emu: EmulatorHandle) -> None:
    alone = kernel.execute("%%aimo --each sums --expected total\nWhat is {a} + {b}?")
    assert alone.status == "error" and alone.error is not None
    assert "--expected and --score make an evaluation" in alone.error["evalue"]
    bare = kernel.execute(f"%%aimo --each sums --compare {MODELS}\nWhat is {{a}} + {{b}}?")
    assert bare.error is not None and "add --expected COLUMN" in bare.error["evalue"]
    typo = kernel.execute(f"%%aimo --each sums --compare {MODELS} --expected totl\n{{a}}")
    assert typo.error is not None and "names no column" in typo.error["evalue"]
    assert "Traceback" not in typo.stdout + typo.stderr
    assert emu.requests == []


def test_interrupt_keeps_the_answers_and_run_again_sends_only_the_rest(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, "slow = [{'q': f'{n} + 1?', 'want': n + 1} for n in range(24)]")
    code = (
        f"ev = aimo_magic.evaluate('What is {{q}}', slow, models='{MODELS}', expected='want',\n"
        "                         score='number', concurrency=4)\n"
        "ev.run()"
    )
    # The server answers eight requests, then holds every answer: the stop button is
    # pressed while four wait at the server and the rest are not sent yet.
    emu.hold(after=8)
    stopped = kernel.execute(code, interrupt_when=lambda _: emu.held == 4, timeout=120)
    assert stopped.status == "error" and stopped.error is not None
    assert stopped.error["ename"] == "EvaluationInterrupted"
    found = re.search(r"(\d+) of 48 answers .*not sent, interrupted", stopped.error["evalue"])
    assert found, stopped.error["evalue"]
    answered = int(found.group(1))
    assert answered == 8
    counted = ok(kernel, "print((ev.table['status'] == 'answered').sum())")
    assert int(counted.stdout) == answered
    # What was in flight was cancelled, and once the package's threads have ended
    # nothing more can be sent: the server has seen only what was sent before the stop.
    # (Within half the client's 60 s timeout, which would also end them.)
    wait_until(lambda: emu.held == 0, "the server sees the held requests cancelled", 30)
    assert emu.abandoned == 4
    assert ok(kernel, AIMO_THREADS_LEFT).stdout.strip() == "0"
    assert len(emu.requests) == answered + 4, "nothing is sent after the interrupt"
    emu.release()
    emu.clear_requests()
    resumed = ok(kernel, "summary = ev.run()\nprint(len(summary), ev.report)", timeout=120)
    assert len(emu.requests) == 48 - answered, "only the answers still missing are asked"
    assert "48 of 48 answers" in resumed.stdout
    emu.clear_requests()
    ok(kernel, "ev.run(); assert (ev.table['status'] == 'answered').all()")
    assert emu.requests == []
