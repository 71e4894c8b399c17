"""The toolbar's stop button ends a long answer: what arrived stays, marked, and work goes on."""

from __future__ import annotations

import pytest
from waiting import wait_until

from aimo_magic.emulator import EmulatorHandle

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODEL = "DeepSeek-V3-1"
# About 16,000 tokens, held by the emulator after 300 of them until the test lets go.
LONG_PROMPT = "Tell me about rivers ::long 40 ::fault hold_after=300"


def test_stop_button_interrupts_a_long_answer_and_the_next_cell_runs(
    notebook_page: NotebookPage, browser_emulator: EmulatorHandle
) -> None:
    nb = notebook_page
    nb.open("%load_ext aimo_magic", f"%%aimo {MODEL}\n{LONG_PROMPT}", "print(40 + 2)")
    nb.run_and_wait(0)
    browser_emulator.hold()
    nb.run(1)
    answer = nb.output(1)
    # Some of the answer must be on screen, and the rest on its way, before stopping it.
    answer.get_by_text("A long answer about Tell me about rivers").wait_for()
    wait_until(lambda: browser_emulator.held == 1, "the rest of the answer is held")
    shown_before_stop = nb.text(1)
    nb.interrupt()
    nb.wait_until_done(1)
    wait_until(lambda: browser_emulator.held == 0, "the stop button cancelled the request")
    assert browser_emulator.abandoned == 1

    stopped = nb.text(1)
    assert stopped.startswith("A long answer about Tell me about rivers"), stopped[:200]
    assert stopped.startswith(shown_before_stop.strip()[:40])
    assert "Interrupted" in stopped and "partial answer" in stopped, stopped[-500:]
    assert len(stopped) < 20_000, "the answer stopped well before its 40 KiB end"
    browser_emulator.release()

    nb.run_and_wait(2)
    assert nb.text(2).strip() == "42"
