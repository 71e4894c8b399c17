"""How an answer's markdown looks in a real page: code panels without stripes, task lists
as checkboxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODEL = "DeepSeek-V3-1"
TRANSPARENT = "rgba(0, 0, 0, 0)"

# The backgrounds painted inside each code panel, by anything but the panel itself.
INNER_BACKGROUNDS = """root => {
    const found = [];
    for (const pre of root.querySelectorAll('pre')) {
        for (const el of pre.querySelectorAll('*')) {
            const background = getComputedStyle(el).backgroundColor;
            if (background !== 'rgba(0, 0, 0, 0)' && background !== 'transparent')
                found.push(`<${el.tagName.toLowerCase()}> ${background}`);
        }
    }
    return found;
}"""


def test_code_panels_are_one_even_colour(notebook_page: NotebookPage, tmp_path: Path) -> None:
    """Frontend CSS gives ``code`` an opaque background; inside our panel it would paint a
    stripe behind each line of code."""
    nb = notebook_page
    nb.open("%load_ext aimo_magic", f"%%aimo {MODEL} --no-history\n::code python ::pace 0")
    nb.run_and_wait(0)
    nb.run_and_wait(1)
    output = nb.output(1)
    panel = output.locator("pre").first
    panel.wait_for()
    assert panel.locator("span").count() > 3, "the code is highlighted"
    assert panel.evaluate("el => getComputedStyle(el).backgroundColor") != TRANSPARENT
    assert output.evaluate(INNER_BACKGROUNDS) == []
    nb.screenshot(panel, tmp_path / "code-panel.png")


def test_task_lists_show_as_disabled_checkboxes(notebook_page: NotebookPage) -> None:
    nb = notebook_page
    # The emulator's rich answer has a checklist: one item done, two to do.
    nb.open("%load_ext aimo_magic", f"%%aimo {MODEL} --no-history\nTell me about rivers ::pace 0")
    nb.run_and_wait(0)
    nb.run_and_wait(1)
    boxes = nb.output(1).locator("li > input[type=checkbox]")
    boxes.first.wait_for()
    assert boxes.count() == 3
    assert [boxes.nth(i).is_checked() for i in range(3)] == [True, False, False]
    assert all(boxes.nth(i).is_disabled() for i in range(3))
    text = nb.text(1)
    assert "read the question" in text and "[x]" not in text and "[ ]" not in text
