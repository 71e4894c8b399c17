"""A model's hostile HTML shown in a real page runs nothing: no dialog, no handler, no global.

The last cell of each notebook is a positive control: the same kind of payload shown
as raw trusted HTML (``IPython.display.HTML``) *does* run in that page and *is* found by
the same checks, so a pass means the answer was made inert, not that the checks are blind.
"""

from __future__ import annotations

import pytest

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODEL = "DeepSeek-V3-1"
# The emulator puts the first words of a prompt into its answer's heading and text,
# so these tags come back as model output, unfenced.
INJECTING_PROMPT = (
    '<img src=x onerror="window.aimoInjected=1"> <svg onload="window.aimoInjected=2">'
)
CONTROL = (
    "from IPython.display import HTML\n"
    "HTML('<img src=x onerror=\"window.aimoControl=1;alert(1)\">'\n"
    "     '<a href=\"javascript:void(0)\">x</a><script>window.aimoControlScript=1</script>')"
)


def test_hostile_answer_runs_no_script(notebook_page: NotebookPage) -> None:
    nb = notebook_page
    nb.open(
        "%load_ext aimo_magic",
        f"%%aimo {MODEL} --no-history\n::hostile ::pace 0",
        f"%%aimo {MODEL} --no-history\n{INJECTING_PROMPT} ::pace 0",
        CONTROL,
    )
    for index in range(3):
        nb.run_and_wait(index)

    assert nb.page.locator(".jp-Notebook .jp-Cell").count() == 4, "the page was rewritten"
    for index in (1, 2):
        assert nb.active_content(index) == [], f"cell {index} holds active content"
    assert nb.dialogs == [] and nb.page_errors == []
    assert nb.window_value("aimoInjected") is None
    assert nb.page.locator(".jp-Notebook").is_visible(), "a hostile <style> hid the notebook"

    hostile_text = nb.text(1)
    assert "Totally normal answer" in hostile_text and "tokens" in hostile_text
    assert "<script>alert(1)</script>" in hostile_text, "the hostile markup stays visible as text"
    injected_text = nb.text(2)
    assert 'onerror="window.aimoInjected=1">' in injected_text, injected_text[:300]

    # The control: raw trusted HTML runs in this very page, and the checks see it. Its
    # broken image fails after theirs would have, so no late handler of theirs went unseen.
    nb.run_and_wait(3)
    nb.page.wait_for_function("() => window.aimoControl === 1")
    assert nb.window_value("aimoControlScript") == 1
    assert nb.dialogs == ["alert: 1"]
    assert nb.window_value("aimoInjected") is None
    found = nb.active_content(3)
    assert any("onerror" in f for f in found) and any("javascript:" in f for f in found), found
