"""LiveAnswer inside a real ipykernel: display handles, updates and metadata on the wire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kernel_harness import Kernel

pytestmark = pytest.mark.kernel

STREAM_CELL = """
from aimo_magic.rendering import FooterInfo, LiveAnswer, rich_frontend_available
print(rich_frontend_available())
live = LiveAnswer(min_interval=0.0, metadata={"model": "m/x"})
for piece in PIECES:
    live.append(piece)
live.finish("complete", footer=FooterInfo(model="m/x", total_s=1.5), metadata={"usage": 7})
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    running = Kernel()
    try:
        yield running
    finally:
        running.close()


def test_live_answer_streams_through_display_handles(kernel: Kernel) -> None:
    pieces = ["# Title\n\n", "Some *text* ", "with $x_1 * y_2$.\n\n", "<script>alert(1)</script>"]
    run = kernel.execute(f"PIECES = {pieces!r}\n{STREAM_CELL}")
    assert run.status == "ok", run.error
    assert run.stdout.strip() == "True"
    assert len(run.of_type("display_data")) == 2  # the answer, then the footer
    assert len(run.of_type("update_display_data")) >= len(pieces)
    answer, footer = run.final_outputs()
    html = answer["data"]["text/html"]
    assert "<h1>Title</h1>" in html and "<em>text</em>" in html
    assert "$x_1 * y_2$" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert answer["data"]["text/plain"] == "".join(pieces)
    assert answer["metadata"]["aimo"]["usage"] == 7
    assert footer["data"]["text/plain"] == "m/x · 1.5 s"
    assert footer["metadata"]["aimo"]["output"] == "footer"


def test_reset_in_a_kernel_replaces_what_was_shown(kernel: Kernel) -> None:
    code = (
        "from aimo_magic.rendering import LiveAnswer\n"
        "live = LiveAnswer(min_interval=0.0)\n"
        "live.append('first attempt')\n"
        "live.reset('retrying')\n"
        "live.append('second attempt')\n"
        "live.finish('complete')\n"
    )
    run = kernel.execute(code)
    assert run.status == "ok", run.error
    assert [o["data"]["text/plain"] for o in run.final_outputs()] == ["second attempt"]
