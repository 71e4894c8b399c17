"""What a person sees while ``%%aimo`` streams: the answer grows in place, then its footer."""

from __future__ import annotations

from pathlib import Path

import pytest

from .jupyter_pages import NotebookPage

pytestmark = pytest.mark.browser

MODEL = "DeepSeek-V3-1"
# About 500 tokens at the browser emulator's 100 per second: some five seconds of streaming.
PROMPT = "Tell me about rivers"


def test_answer_appears_progressively_then_ends_with_its_footer(
    notebook_page: NotebookPage, screenshots_dir: Path | None
) -> None:
    nb = notebook_page
    nb.open("%load_ext aimo_magic", f"%%aimo {MODEL}\n{PROMPT}")
    nb.run_and_wait(0)
    recorder = nb.record_texts(1)
    nb.run_and_wait(1)
    texts = nb.stop_recording(recorder)

    final = texts[-1]
    *answer_lines, footer = final.strip().splitlines()
    assert final.startswith("Tell me about rivers"), final[:200]
    assert MODEL in footer and "tokens" in footer, footer
    assert "def " in final and "Option" in final, "the whole answer is there at the end"

    answer = "\n".join(answer_lines)
    # Partial states clearly short of the whole answer: an answer shown only once at the
    # end, even if MathJax retouches it, has none of these.
    growing = [t for t in texts[:-1] if t.strip() and len(t) < 0.9 * len(answer)]
    assert len(growing) >= 3, (
        f"the answer should be seen growing, but only {len(growing)} partial state(s) "
        f"were shown before the end: {[t[:60] for t in growing]}"
    )
    heading = final.splitlines()[0]
    assert all(heading.startswith(t.splitlines()[0]) for t in growing)
    assert all("tokens" not in t for t in growing), "the footer comes last"
    assert nb.dialogs == [] and nb.page_errors == []

    if screenshots_dir is not None and nb.kind == "lab":
        nb.screenshot(nb.cell(1), screenshots_dir / "streamed-answer.png")
