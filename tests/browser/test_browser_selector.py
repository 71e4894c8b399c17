"""The model selector in a real page: it renders, filters as one types, and its choice is
the model the next ``%%aimo`` cell asks for.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aimo_magic.emulator import model_names, provider_id

from .jupyter_pages import CATALOGUE_SIZE, NotebookPage

pytestmark = pytest.mark.browser

QUERY = "llama"
CHOSEN_MODEL = "meta-llama/llama-3.3-70b-instruct"
CHOSEN_PROVIDER = "helios-compute"


def test_selector_filters_and_its_choice_reaches_the_next_cell(
    notebook_page: NotebookPage, screenshots_dir: Path | None
) -> None:
    nb = notebook_page
    nb.open("%load_ext aimo_magic", "%aimo select", "%%aimo --no-history\n::echo")
    nb.run_and_wait(0)
    nb.run_and_wait(1)
    panel = nb.output(1).locator(".widget-vbox").first
    models = panel.locator(".widget-select select option")
    status = panel.get_by_text(re.compile(r"\d+ (of \d+ )?models"))
    status.wait_for()
    assert status.inner_text() == f"{CATALOGUE_SIZE} models."
    assert models.count() == CATALOGUE_SIZE

    panel.locator(".widget-text input").press_sequentially(QUERY, delay=50)
    expected = [name for name in model_names(CATALOGUE_SIZE) if QUERY in name.lower()]
    status.filter(has_text=f"{len(expected)} of {CATALOGUE_SIZE} models match").wait_for()
    shown = models.all_inner_texts()
    assert len(shown) == len(expected)
    assert all(any(name in text for name in expected) for text in shown), shown

    chosen = models.filter(has_text=CHOSEN_MODEL)
    panel.locator(".widget-select select").select_option(chosen.get_attribute("value"))
    panel.locator(".widget-radio-box label", has_text=CHOSEN_PROVIDER).click()
    pinned = f"{provider_id(CHOSEN_PROVIDER)}:{CHOSEN_MODEL}"
    panel.get_by_text(f"Selected id: {pinned}").wait_for()
    panel.get_by_role("button", name="Use this model").click()
    # The label is rewritten by the kernel once it has taken the new default.
    panel.get_by_text(f"Default for %%aimo: {CHOSEN_MODEL} via {CHOSEN_PROVIDER}").wait_for()
    if screenshots_dir is not None and nb.kind == "lab":
        nb.screenshot(panel, screenshots_dir / "selector.png")

    nb.run_and_wait(2)
    echoed = nb.text(2)
    assert f'"model_requested": "{pinned}"' in echoed, echoed[:500]
    assert f'"provider_name": "{CHOSEN_PROVIDER}"' in echoed
    footer = echoed.strip().splitlines()[-1]
    assert CHOSEN_MODEL in footer and f"via {CHOSEN_PROVIDER}" in footer, footer
    assert nb.dialogs == [] and nb.page_errors == []
