"""Images in threads (resent, budgeted, dropped when old, saved) and their thumbnails."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from image_samples import image_part
from PIL import Image
from test_rendering_live import Clock, RecordingSink

from aimo_magic.conversation import IMAGE_TOKENS, ConversationStore, Thread, Turn
from aimo_magic.conversation.thread import IMAGE_LEFT_OUT
from aimo_magic.magics.cmd.history import history_lines
from aimo_magic.rendering.live import LiveAnswer
from aimo_magic.rendering.sinks import TerminalSink
from aimo_magic.rendering.thumbnails import THUMB_SIDE, images_bundle


def image_turn(n: int, width: int = 40, height: int = 30) -> Turn:
    return Turn(
        user=[{"type": "text", "text": f"q{n}"}, image_part(width, height)],
        assistant=f"a{n}",
        model="openai/gpt-4o",
        cell_id=f"cell-{n}",
    )


def kinds(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    return ["text"] if isinstance(content, str) else [p["type"] for p in content]


def test_later_turns_send_earlier_images_again() -> None:
    thread = Thread("t")
    thread.record(image_turn(1))
    messages = thread.messages_for("and now?")
    assert kinds(messages[0]) == ["text", "image_url"]
    assert messages[0]["content"][1] == image_part(40, 30)


def test_image_turns_keeps_images_only_in_the_newest_turns() -> None:
    thread = Thread("t")
    for n in range(1, 4):
        thread.record(image_turn(n))
    prompt = [{"type": "text", "text": "p"}, image_part(8, 8)]
    users = [m for m in thread.messages_for(prompt, image_turns=1) if m["role"] == "user"]
    assert [kinds(m) for m in users] == [
        ["text", "text"],
        ["text", "text"],
        ["text", "image_url"],  # the newest earlier turn keeps its image
        ["text", "image_url"],  # the prompt keeps its own
    ]
    assert users[0]["content"][1] == {"type": "text", "text": IMAGE_LEFT_OUT}
    everything = thread.messages_for(prompt)
    assert sum(kinds(m).count("image_url") for m in everything) == 4
    none = thread.messages_for(prompt, image_turns=0)
    assert sum(kinds(m).count("image_url") for m in none) == 1
    with pytest.raises(ValueError, match="image_turns must be 0 or more"):
        thread.messages_for(prompt, image_turns=-1)


def test_the_budget_counts_a_fixed_estimate_per_image_and_dropping_images_frees_it() -> None:
    thread = Thread("t")
    thread.record(image_turn(1))
    budget = IMAGE_TOKENS // 2
    assert len(thread.messages_for("p", max_tokens=budget)) == 1  # the image turn cannot fit
    assert len(thread.messages_for("p", max_tokens=budget, image_turns=0)) == 3


def test_history_text_shows_each_image_with_its_size() -> None:
    thread = Thread("t")
    thread.record(image_turn(1, 640, 480))
    assert "q1\n[image 640x480]" in history_lines(thread)


def test_save_writes_data_urls_and_load_restores_them(tmp_path: Path) -> None:
    store = ConversationStore()
    store.thread().record(image_turn(1, 123, 45))
    path = store.save(tmp_path / "chat.json")
    saved = json.loads(path.read_text())["threads"][0]["turns"][0]["user"][1]
    assert saved["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    restored = ConversationStore()
    restored.load(path)
    assert restored == store
    assert "q1\n[image 123x45]" in history_lines(restored.thread())


def test_an_image_part_without_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="image part without a URL"):
        Turn(user=[{"type": "image_url", "image_url": {}}], assistant="", model="m")


# Thumbnails ----------------------------------------------------------------------------
def sheet(bundle: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))


def test_the_thumbnail_sheet_shows_each_image_small_with_a_caption() -> None:
    parts = [image_part(800, 600), image_part(100, 400, "JPEG")]
    bundle, metadata = images_bundle(parts)
    assert bundle["text/plain"] == "Sent with the prompt: [image 800x600], [image 100x400]"
    picture = sheet(bundle)
    assert picture.height == THUMB_SIDE + 2  # the tallest thumbnail and its border
    assert picture.width < 2 * (THUMB_SIDE + 2) + 20
    assert metadata == {"image/png": {"width": picture.width, "height": picture.height}}
    assert set(bundle) == {"text/plain", "image/png"}  # no HTML at all


def test_undecodable_images_keep_their_caption_without_a_picture() -> None:
    broken = {"type": "image_url", "image_url": {"url": "https://example.org/a.png"}}
    bundle, metadata = images_bundle([broken])
    assert bundle == {"text/plain": "Sent with the prompt: [image]"} and metadata == {}


def test_live_answers_show_the_images_above_the_answer() -> None:
    sink, clock = RecordingSink(), Clock()
    live = LiveAnswer(sink=sink, clock=clock, metadata={"aimo": {"model": "m"}})
    live.show_images([image_part(50, 50)])
    live.append("It is a gradient.")
    live.reset("retrying")
    live.append("It is a gradient.")
    live.finish("complete")
    first = sink.outputs[0]
    assert first.metadata["aimo"]["output"] == "images"
    assert len(first.history) == 1  # the retry did not touch it
    assert "image/png" in first.bundle
    assert sink.shown_plain() == "It is a gradient."


def test_no_images_no_output_and_the_terminal_gets_the_caption() -> None:
    sink = RecordingSink()
    LiveAnswer(sink=sink).show_images([])
    assert sink.outputs == []
    stream = io.StringIO()
    live = LiveAnswer(sink=TerminalSink(stream))
    live.show_images([image_part(10, 20)])
    live.append("ok")
    live.finish("complete")
    assert stream.getvalue().startswith("Sent with the prompt: [image 10x20]\nok")
