"""The toolbar's stop button ends a long answer: what arrived stays, marked, and work goes on."""

from __future__ import annotations

import pytest

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODEL = "DeepSeek-V3-1"
# About 16,000 tokens at 100 per second: minutes, unless someone presses stop.
LONG_PROMPT = "Tell me about rivers ::long 40 ::pace 100"


def test_stop_button_interrupts_a_long_answer_and_the_next_cell_runs(
    notebook_page: NotebookPage,
) -> None:
    nb = notebook_page
    nb.open("%load_ext aimo_magic", f"%%aimo {MODEL}\n{LONG_PROMPT}", "print(40 + 2)")
    nb.run_and_wait(0)
    nb.run(1)
    answer = nb.output(1)
    # Some of the answer must be on screen before stopping it.
    answer.get_by_text("A long answer about Tell me about rivers").wait_for()
    shown_before_stop = nb.text(1)
    nb.interrupt()
    nb.wait_until_done(1)

    stopped = nb.text(1)
    assert stopped.startswith("A long answer about Tell me about rivers"), stopped[:200]
    assert stopped.startswith(shown_before_stop.strip()[:40])
    assert "Interrupted" in stopped and "partial answer" in stopped, stopped[-500:]
    assert len(stopped) < 20_000, "the answer stopped well before its 40 KiB end"

    nb.run_and_wait(2)
    assert nb.text(2).strip() == "42"
