"""How an answer's markdown looks in a real page: code panels without stripes."""

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
