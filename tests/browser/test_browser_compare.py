"""What a person sees while ``%%aimo --compare`` streams: every pane grows at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from aimo_magic.emulator import EmulatorHandle

from .jupyter_pages import API_KEY, NotebookPage, new_notebook

pytestmark = pytest.mark.browser

MODELS = "openai/gpt-4o,DeepSeek-V3-1"
# Each answer stops after 40 chunks until the test has seen both panes with text.
PROMPT = "Tell me about rivers ::words 150 ::fault hold_after=40"

# The length of each pane's answer as shown (0 while it waits for its first token).
PANE_LENGTHS = """el => Array.from(
    el.querySelectorAll('.aimo-pane .aimo-pane-body'),
    body => body.innerText.startsWith('waiting for the first token') ? 0 : body.innerText.length
)"""


def test_both_panes_visibly_grow_at_the_same_time(
    notebook_page: NotebookPage, browser_emulator: EmulatorHandle, screenshots_dir: Path | None
) -> None:
    nb = notebook_page
    nb.open("%load_ext aimo_magic", f"%%aimo --compare {MODELS}\n{PROMPT}")
    nb.run_and_wait(0)
    browser_emulator.hold()
    nb.run(1)
    shown: list[list[int]] = [[]]

    def both_panes_show_text_while_both_answers_are_held() -> bool:
        shown[0] = nb.output(1).evaluate(PANE_LENGTHS)
        return browser_emulator.held == 2 and len(shown[0]) == 2 and min(shown[0]) > 0

    wait_until(
        both_panes_show_text_while_both_answers_are_held,
        "both panes show part of their answer while the rest is held",
    )
    while_held = shown[0]
    browser_emulator.release()
    nb.wait_until_done(1)
    after = nb.output(1).evaluate(PANE_LENGTHS)
    print(f"pane lengths while held: {while_held}, at the end: {after}")
    assert after[0] > while_held[0] and after[1] > while_held[1], (
        "both panes had text at the same time and both grew after it"
    )
    final = nb.text(1)
    assert "Cheapest:" in final and "Fastest:" in final, final[-300:]
    statuses = (
        nb.output(1).locator(".aimo-pane").evaluate_all("panes => panes.map(p => p.dataset.status)")
    )
    assert statuses == ["complete", "complete"]
    assert nb.dialogs == [] and nb.page_errors == []

    if screenshots_dir is not None and nb.kind == "lab":
        nb.screenshot(nb.cell(1), screenshots_dir / "compare.png")


# An output that only a trusted notebook may show as written: the sanitiser of an
# untrusted one drops its <style> element, which is how the test knows it is untrusted.
TRUST_PROBE = '<style>.aimo-probe { color: red }</style><div class="aimo-probe">probe</div>'


def saved_comparison(emulator: EmulatorHandle, home: Path) -> Any:
    """A notebook whose comparison ran headless (nbclient), saved with its outputs and
    not signed, as a notebook someone sent looks when it is opened."""
    import nbformat
    from nbclient import NotebookClient

    notebook = new_notebook(
        ["%load_ext aimo_magic", f"%%aimo --compare {MODELS}\nTell me about rivers ::words 40"]
    )
    env = {"AIMO_BASE_URL": emulator.base_url, "AIMO_API_KEY": API_KEY, "HOME": str(home)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    probe = nbformat.v4.new_code_cell("# shown as saved")
    probe.outputs = [nbformat.v4.new_output("display_data", data={"text/html": TRUST_PROBE})]
    notebook.cells.append(probe)
    return notebook


def test_a_saved_comparison_reopened_untrusted_keeps_its_panes_side_by_side(
    notebook_page: NotebookPage, browser_emulator: EmulatorHandle, browser_home: Path
) -> None:
    nb = notebook_page
    nb.open_notebook(saved_comparison(browser_emulator, browser_home))
    probe = nb.output(2)
    probe.locator(".aimo-probe").wait_for()
    assert probe.locator("style").count() == 0, "the notebook should be opened untrusted"

    panes = nb.output(1).locator(".aimo-pane")
    assert panes.count() == 2
    nb.output(1).scroll_into_view_if_needed()
    first, second = (panes.nth(i).bounding_box() for i in range(2))
    assert first is not None and second is not None
    print(f"pane boxes: {first} {second}")
    assert abs(first["y"] - second["y"]) < 1, "side by side: the same top"
    assert second["x"] >= first["x"] + first["width"], "side by side: the second to the right"
    frames = panes.evaluate_all(
        "panes => panes.map(p => getComputedStyle(p))"
        ".map(s => [s.borderTopStyle, s.borderTopWidth, s.borderTopColor])"
    )
    assert all(style == "solid" and width == "1px" for style, width, _ in frames), (
        f"each pane keeps its frame: {frames}"
    )
    assert nb.page_errors == []
