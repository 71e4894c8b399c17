"""What a person sees when the model calls functions: a card per call above the answer,
the approval question the running cell waits on, and the answer once approved (or the
call declined). In JupyterLab 4 and Notebook 7, against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODEL = "DeepSeek-V3-1"
SETUP = """%load_ext aimo_magic
import aimo_magic

@aimo_magic.tool
def column_stats(column: str) -> dict:
    '''Summary statistics of one column.'''
    return {"column": column, "mean": 41.5, "note": '<img src=x onerror="window.aimoTool=1">'}

@aimo_magic.tool(approve=True)
def save_chart(column: str, path: str) -> str:
    '''Plot a column and save the figure to path.'''
    SAVED.append(path)
    return "saved " + path

SAVED = []"""


def answer_prompt(nb: NotebookPage, index: int, reply: str) -> tuple[str, str]:
    """Wait for the stdin box under the running cell and answer it; the question it
    asked, and what the cell showed while it waited."""
    box = nb.cell(index).locator(".jp-Stdin-input")
    box.wait_for()
    question = nb.cell(index).locator(".jp-Stdin-prompt").inner_text()
    waiting = nb.text(index)
    box.fill(reply)
    box.press("Enter")
    return question, waiting


def test_cards_show_each_call_and_the_cell_waits_for_approval(
    notebook_page: NotebookPage, screenshots_dir: Path | None
) -> None:
    nb = notebook_page
    nb.open(
        SETUP,
        f"%%aimo {MODEL} --tools column_stats,save_chart\nWhat does column_stats say?",
        f"%%aimo {MODEL} --tools column_stats,save_chart\nPlease use save_chart.",
        f"%%aimo {MODEL} --tools save_chart\nPlease use save_chart again.",
        "print(len(SAVED), 'saved')",
    )
    nb.run_and_wait(0)

    nb.run_and_wait(1)
    first = nb.text(1)
    assert first.index("function call") < first.index("tokens"), "cards above, footer last"
    assert "⚙ column_stats" in first and "done" in first and "1 call in 2 steps" in first
    # the model-facing result shows as text, never as an element
    assert 'onerror=\\"window.aimoTool=1\\"' in first
    assert nb.active_content(1) == [] and nb.window_value("aimoTool") is None
    card = nb.output(1).locator("details")
    assert card.count() == 1
    assert card.get_attribute("open") is None, "a settled card is folded"
    card.locator("summary").click()
    assert card.get_attribute("open") is not None, "a click unfolds it, no script"
    assert "arguments" in card.inner_text() and '"column"' in card.inner_text()

    nb.run(2)
    question, waiting = answer_prompt(nb, 2, "y")
    assert question.startswith("Run save_chart({") and "[a]ll for this cell" in question
    assert "waiting for approval" in waiting, "the card says what the cell waits for"
    nb.wait_until_done(2)
    approved = nb.text(2)
    assert "⚙ save_chart" in approved and "done" in approved and "saved " in approved
    assert "waiting for approval" not in approved.split("Run save_chart(")[0]

    nb.run(3)
    answer_prompt(nb, 3, "n")
    nb.wait_until_done(3)
    assert "declined" in nb.text(3)
    nb.run_and_wait(4)
    assert nb.text(4).strip() == "1 saved"
    assert nb.dialogs == [] and nb.page_errors == []

    if screenshots_dir is not None and nb.kind == "lab":
        nb.screenshot(nb.cell(2), screenshots_dir / "tool-cards.png")
