"""Images in ``%%aimo`` cells, in a real kernel against the emulator."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel, aimo_kernel
from PIL import Image
from test_cell_magic import answer_text, echo, one_line_error

from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-images-0000"
VISION = "openai/gpt-4o"

SETUP = """
import io
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
from PIL import Image
from IPython.display import Image as IPythonImage

def encoded(width, height, fmt="PNG"):
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()

fig, ax = plt.subplots(figsize=(4, 3))
ax.plot([1, 3, 2, 5])
ax.set_title("sales")
photo = Image.open(io.BytesIO(encoded(320, 240, "JPEG")))
drawing = Image.linear_gradient("L").resize((200, 100))
shot = IPythonImage(data=encoded(150, 90))
png_bytes = encoded(64, 48)
jpeg_bytes = encoded(80, 60, "JPEG")
huge = Image.linear_gradient("L").resize((5000, 1250))
"""


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle) -> Iterator[Kernel]:
    setup = f"%load_ext aimo_magic\n%aimo use {VISION}\n{SETUP}"
    with aimo_kernel(emulator.base_url, KEY, setup) as running:
        yield running


def sent_images(run: CellRun) -> list[dict[str, Any]]:
    """The images the emulator says it received, from an ``::echo`` answer."""
    return list(echo(run)["images"]["items"])


def sizes(run: CellRun) -> list[tuple[str, int, int]]:
    return [(i["mime"], i["width"], i["height"]) for i in sent_images(run)]


def thumbnails(run: CellRun) -> list[dict[str, Any]]:
    outputs = run.final_outputs()
    return [o for o in outputs if o["metadata"].get("aimo", {}).get("output") == "images"]


# Each image type ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("{photo}", [("image/jpeg", 320, 240)]),
        ("{drawing}", [("image/png", 200, 100)]),
        ("{shot}", [("image/png", 150, 90)]),
        ("{png_bytes}", [("image/png", 64, 48)]),
        ("{jpeg_bytes}", [("image/jpeg", 80, 60)]),
    ],
)
def test_each_image_type_arrives_as_an_image(
    kernel: Kernel, emu: EmulatorHandle, placeholder: str, expected: list[Any]
) -> None:
    run = kernel.execute(f"%%aimo --no-history\nWhat is this? {placeholder} ::echo")
    assert sizes(run) == expected


def test_a_figure_and_its_axes_arrive_as_png_with_the_text_in_order(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = kernel.execute("%%aimo --no-history\nBefore {fig} between {ax} after ::echo")
    facts = echo(run)
    assert [i["mime"] for i in facts["images"]["items"]] == ["image/png", "image/png"]
    content = facts["messages"][-1]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "text", "image_url", "text"]
    assert [p["text"] for p in content if p["type"] == "text"] == [
        "Before ",
        " between ",
        " after ::echo",
    ]


def test_plt_gcf_is_the_figure_the_previous_cell_drew(kernel: Kernel, emu: EmulatorHandle) -> None:
    drawn = kernel.execute("plt.figure(figsize=(5, 2)); plt.bar(['a', 'b'], [3, 1]);")
    assert any("image/png" in o["data"] for o in drawn.final_outputs())
    run = kernel.execute("%%aimo --no-history\nWhat does this show? {plt.gcf()} ::echo")
    (item,) = sent_images(run)
    assert item["mime"] == "image/png" and item["width"] > 2 * item["height"]
    leftovers = [o for o in run.final_outputs() if "Figure size" in o["data"].get("text/plain", "")]
    assert leftovers == [], "the empty figure plt.gcf() made is not shown"


def test_a_big_image_arrives_downscaled(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute("%%aimo --no-history\n{huge} ::echo")
    assert sizes(run) == [("image/png", 2048, 512)]


def test_the_thumbnail_above_the_answer_shows_what_was_sent(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = kernel.execute("%%aimo --no-history\nDescribe {drawing} and {png_bytes}")
    assert run.status == "ok", run.error
    roles = [o["metadata"]["aimo"]["output"] for o in run.final_outputs()]
    assert roles[:3] == ["preface", "images", "answer"]
    preface, images = run.final_outputs()[:2]
    assert "{drawing} → Image, sent as an image 200x100 PNG (" in preface["data"]["text/plain"]
    assert "{png_bytes} → bytes, sent as an image 64x48 PNG (" in preface["data"]["text/plain"]
    assert images["data"]["text/plain"] == "Sent with the prompt: [image 200x100], [image 64x48]"
    assert "text/html" not in images["data"]
    sheet = Image.open(io.BytesIO(base64.b64decode(images["data"]["image/png"])))
    assert max(sheet.size) <= 2 * 162 + 8
    assert answer_text(run).startswith("I received 2 images (image/png, 200×100 px;")
    assert roles.count("images") == 1


def test_an_image_that_fails_to_encode_ends_the_cell_in_one_line(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("empty_figure = plt.figure(); bad_png = b'\\x89PNG\\r\\n\\x1a\\n nothing'")
    message = one_line_error(kernel.execute("%%aimo --no-history\n{bad_png}"))
    assert "could not be read as an image" in message
    assert emu.requests == []


# Which models -------------------------------------------------------------------------
def test_a_text_only_model_is_refused_before_anything_is_sent(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    message = one_line_error(kernel.execute("%%aimo DeepSeek-V3-1\nWhat is this? {fig}"))
    assert "DeepSeek-V3-1" in message and "text" in message
    assert "openai/gpt-4o" in message or "Llama-3.2-11B-Vision-Instruct" in message
    assert emu.requests == [], "nothing was sent"
    assert thumbnails(kernel.execute("%%aimo DeepSeek-V3-1 --no-history\nhi")) == []


def test_a_comparison_checks_every_model_for_images(kernel: Kernel, emu: EmulatorHandle) -> None:
    # DeepSeek-V3-1 (text only) has a larger context than openai/gpt-4o (images): the
    # smallest context is not the one to check.
    line = f"%%aimo --compare {VISION},DeepSeek-V3-1,anthropic/claude-3.5-haiku --no-history"
    message = one_line_error(kernel.execute(f"{line}\nWhat is this? {{fig}}"))
    assert message.startswith(
        "DeepSeek-V3-1 and anthropic/claude-3.5-haiku take text only, so the image was not "
        "sent to any of the compared models"
    ), message
    assert VISION not in message.split(";")[0]
    assert emu.requests == [], "nothing was sent"
    both = kernel.execute(f"%%aimo --compare {VISION},openai/gpt-4o-mini --no-history\n{{fig}}")
    assert both.status == "ok", both.error
    assert len(emu.requests) == 2


def test_a_comparison_with_a_text_only_model_sends_earlier_images_as_notes(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo reset --all")
    assert kernel.execute("%%aimo\nLook: {drawing}", cell_id="c-1").status == "ok"
    emu.clear_requests()
    run = kernel.execute(f"%%aimo --compare {VISION},DeepSeek-V3-1\nAnd now? ::echo")
    assert run.status == "ok", run.error
    sent = [json.loads(r["body"]) for r in emu.requests]
    assert len(sent) == 2
    for body in sent:
        first = body["messages"][0]["content"]
        assert [part["type"] for part in first] == ["text", "text"], "a note, not the image"
    kernel.execute("%aimo reset --all")


def test_a_text_only_model_gets_earlier_turns_with_notes_instead_of_images(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo reset --all")
    assert kernel.execute("%%aimo\nLook: {drawing}", cell_id="t-1").status == "ok"
    facts = echo(kernel.execute("%%aimo DeepSeek-V3-1\n::echo", cell_id="t-2"))
    assert facts["images"]["count"] == 0
    first = facts["messages"][0]["content"]
    assert [p["type"] for p in first] == ["text", "text"]
    kernel.execute("%aimo reset --all")


def test_with_no_word_from_the_catalogue_the_image_is_sent(emulator: EmulatorHandle) -> None:
    from aimo_magic.emulator import start as start_emulator

    # pyplot first this time: the inline backend's hook is registered before ours.
    setup = f"{SETUP}\n%load_ext aimo_magic"
    with (
        start_emulator(models_shape="openai") as openai_shaped,
        aimo_kernel(openai_shaped.base_url, KEY, setup) as running,
    ):
        running.execute("plt.plot([1, 2]);")
        sent = running.execute("%%aimo openai/gpt-4o --no-history\n{plt.gcf()} ::echo")
        assert [mime for mime, _, _ in sizes(sent)] == ["image/png"]
        refused = running.execute("%%aimo DeepSeek-V3-1 --no-history\n{png_bytes}")
        assert "does not support image input" in one_line_error(refused)


# History ------------------------------------------------------------------------------
def test_save_and_load_round_trip_an_image_turn(
    kernel: Kernel, emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "images.json"
    kernel.execute("%aimo reset --all")
    assert kernel.execute("%%aimo\nWhat is in {drawing}?", cell_id="s-1").status == "ok"
    saved = kernel.execute(f"%aimo save {path}")
    assert saved.status == "ok", saved.error
    turn = json.loads(path.read_text())["threads"][0]["turns"][0]
    assert turn["user"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    kernel.execute("%aimo reset --all")
    loaded = kernel.execute(f"%aimo load {path}")
    assert loaded.status == "ok", loaded.error
    history = kernel.execute("%aimo history")
    assert "What is in \n[image 200x100]\n?" in history.stdout
    resent = kernel.execute("%%aimo\nAnd now? ::echo", cell_id="s-2")
    assert sizes(resent) == [("image/png", 200, 100)]
    kernel.execute("%aimo reset --all")


def test_image_turns_stops_resending_old_images(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("%aimo reset --all")
    kernel.execute("%%aimo\nFirst {png_bytes}", cell_id="i-1")
    kernel.execute("%%aimo\nSecond {drawing}", cell_id="i-2")
    assert len(sent_images(kernel.execute("%%aimo\n::echo", cell_id="i-3"))) == 2
    kernel.execute("%config AimoMagics.image_turns = 1")
    try:
        assert sizes(kernel.execute("%%aimo\n::echo", cell_id="i-3")) == [("image/png", 200, 100)]
    finally:
        kernel.execute("%config AimoMagics.image_turns = None")
        kernel.execute("%aimo reset --all")


# Cost ---------------------------------------------------------------------------------
def test_the_cost_estimate_includes_the_image_price(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("%aimo reset --all")
    run = kernel.execute("%%aimo --no-history\nHow many bars? {png_bytes} {jpeg_bytes}")
    assert run.status == "ok", run.error
    outputs = run.final_outputs()
    meta = outputs[-2]["metadata"]["aimo"]
    usage = meta["usage"]
    # openai/gpt-4o is served by nebula-gpu at 2.5 in, 10.0 out (dollars per million tokens,
    # as inferred from the catalogue) and $0.003613 per image.
    tokens = usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10.0
    expected = tokens / 1e6 + 2 * 0.003613
    footer = outputs[-1]["data"]["text/plain"]
    assert "2 images" in footer
    shown = float(footer.split("≈$")[1].split()[0])
    assert shown == pytest.approx(expected, rel=0.06), "shown to two significant digits"
    without = expected - 2 * 0.003613
    assert abs(shown - without) > abs(shown - expected)


# Load time ----------------------------------------------------------------------------
def test_loading_the_extension_imports_neither_pillow_nor_matplotlib(
    emulator: EmulatorHandle,
) -> None:
    check = "print(sorted(m for m in ('PIL', 'matplotlib') if m in sys.modules))"
    with aimo_kernel(emulator.base_url, KEY, "import sys") as running:
        before = running.execute(check)
        loaded = running.execute(f"%load_ext aimo_magic\n{check}")
        asked = running.execute(f"%%aimo {VISION}\nA question in {{sys.platform}}")
        after = running.execute(check)
    assert before.stdout.strip() == "[]"
    assert loaded.stdout.strip() == "[]"
    assert asked.status == "ok", asked.error
    assert after.stdout.strip() == "[]"
