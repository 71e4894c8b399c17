"""What a person sees while ``%%aimo --compare`` streams: every pane grows at once."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODELS = "openai/gpt-4o,DeepSeek-V3-1"
# About 160 tokens at 40 a second: four seconds during which both answers arrive.
PROMPT = "Tell me about rivers ::words 150 ::pace 40"

# The length of each pane's answer (0 while it waits), sampled every 100 ms until stopped.
RECORD_PANE_LENGTHS = """el => {
    const seen = [];
    const sample = () => {
        const bodies = el.querySelectorAll('.aimo-pane .aimo-pane-body');
        const length = body =>
            body.innerText.startsWith('waiting for the first token') ? 0 : body.innerText.length;
        seen.push(Array.from(bodies, length));
    };
    sample();
    const timer = setInterval(sample, 100);
    return {stop() { clearInterval(timer); sample(); return seen; }};
}"""


def test_both_panes_visibly_grow_at_the_same_time(
    notebook_page: NotebookPage, screenshots_dir: Path | None
) -> None:
    nb = notebook_page
    nb.open("%load_ext aimo_magic", f"%%aimo --compare {MODELS}\n{PROMPT}")
    nb.run_and_wait(0)
    recorder = nb.output(1).evaluate_handle(RECORD_PANE_LENGTHS)
    nb.run_and_wait(1)
    samples: list[list[int]] = NotebookPage.stop_recording(recorder)  # type: ignore[assignment]

    two = [s for s in samples if len(s) == 2]
    assert two, f"no two panes were ever shown: {samples[-3:]}"
    both_grew = [
        (before, after)
        for before, after in itertools.pairwise(two)
        if after[0] > before[0] and after[1] > before[1] and min(before) > 0
    ]
    print(f"pane lengths sampled: {two}")
    assert both_grew, (
        "there should be a moment where both panes had text and both grew, "
        f"but the samples were {two}"
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
