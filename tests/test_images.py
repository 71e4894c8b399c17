"""``aimo_magic.image``: every image type to an ``image_url`` part, sized for any provider."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from image_samples import encoded, picture
from matplotlib.figure import Figure
from PIL import Image

import aimo_magic
from aimo_magic.core import image_parts
from aimo_magic.core.catalogue import image_models, parse_catalogue
from aimo_magic.core.image_parts import (
    MAX_SIDE,
    MAX_URL_CHARS,
    ImageError,
    decode_data_url,
    encode_image,
    is_image,
    part_label,
)
from aimo_magic.core.pricing import estimate_cost
from aimo_magic.core.types import Pricing, Usage
from aimo_magic.emulator import EmulatorHandle


def decoded(part: dict[str, Any]) -> tuple[str, Image.Image]:
    assert part["type"] == "image_url"
    found = decode_data_url(part["image_url"]["url"])
    assert found is not None
    mime, data = found
    return mime, Image.open(io.BytesIO(data))


def plotted(width: float = 6.4, height: float = 4.8) -> Figure:
    figure = Figure(figsize=(width, height))
    axes = figure.add_subplot()
    axes.plot([1, 3, 2, 4])
    axes.set_title("sales")
    return figure


def python(code: str) -> str:
    """What a fresh interpreter prints running ``code`` (for what gets imported)."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout


# Each type -----------------------------------------------------------------------------
def test_a_figure_and_its_axes_become_the_same_png() -> None:
    figure = plotted()
    mime, shown = decoded(aimo_magic.image(figure))
    assert mime == "image/png" and shown.format == "PNG"
    assert 600 < shown.width <= MAX_SIDE
    assert aimo_magic.image(figure.axes[0]) == aimo_magic.image(figure)


def test_a_subfigure_sends_its_whole_figure() -> None:
    figure = Figure()
    left, _ = figure.subfigures(1, 2)
    left.add_subplot().plot([1, 2])
    assert aimo_magic.image(left) == aimo_magic.image(figure)


def test_a_transparent_figure_is_sent_on_white() -> None:
    figure = plotted()
    figure.patch.set_alpha(0.0)
    _, shown = decoded(aimo_magic.image(figure))
    assert shown.convert("RGBA").getpixel((1, 1)) == (255, 255, 255, 255)


def test_raw_png_and_jpeg_bytes_within_limits_are_sent_unchanged() -> None:
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        data = encoded(300, 200, fmt)
        for value in (data, bytearray(data), memoryview(data)):
            encoded_image = encode_image(value)
            assert (encoded_image.mime, encoded_image.data) == (mime, data)
            assert (encoded_image.width, encoded_image.height) == (300, 200)


def test_a_pil_image_keeps_jpeg_for_photos_and_png_otherwise() -> None:
    made = picture(320, 240)
    assert decoded(aimo_magic.image(made))[0] == "image/png"
    photo = Image.open(io.BytesIO(encoded(320, 240, "JPEG")))
    mime, shown = decoded(aimo_magic.image(photo))
    assert mime == "image/jpeg" and shown.size == (320, 240)


def test_ipython_images_from_data_and_their_refusal_without_data() -> None:
    from IPython.display import Image as IPythonImage

    data = encoded(64, 48)
    assert encode_image(IPythonImage(data=data)).data == data
    with pytest.raises(ImageError, match="embed=True"):
        encode_image(IPythonImage(url="https://example.org/plot.png"))


def test_gif_bytes_are_converted_to_png() -> None:
    mime, shown = decoded(aimo_magic.image(encoded(50, 40, "GIF")))
    assert mime == "image/png" and shown.size == (50, 40)


# Size ---------------------------------------------------------------------------------
def test_big_images_are_downscaled_to_the_long_side_limit() -> None:
    mime, shown = decoded(aimo_magic.image(encoded(4100, 1025)))
    assert mime == "image/png" and shown.size == (MAX_SIDE, 512)
    _, tall = decoded(aimo_magic.image(picture(900, 3000)))
    assert tall.size == (614, MAX_SIDE)


def test_a_big_figure_stays_within_the_limit() -> None:
    mime, shown = decoded(aimo_magic.image(plotted(40, 12)))
    assert mime == "image/png" and max(shown.size) <= MAX_SIDE


def test_a_photo_too_heavy_for_png_becomes_jpeg_under_the_size_limit() -> None:
    noisy = encoded(2000, 1500, noisy=True)
    assert len(noisy) * 4 / 3 > MAX_URL_CHARS  # as PNG it could not be sent
    part = aimo_magic.image(noisy)
    assert len(part["image_url"]["url"]) <= MAX_URL_CHARS
    mime, shown = decoded(part)
    assert mime == "image/jpeg" and shown.size == (2000, 1500)


def test_a_big_phone_photo_is_turned_the_right_way_up() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    buffer = io.BytesIO()
    picture(3000, 1000).save(buffer, format="JPEG", exif=exif)
    mime, shown = decoded(aimo_magic.image(buffer.getvalue()))
    assert mime == "image/jpeg" and shown.size == (683, MAX_SIDE)


def test_jpeg_flattens_transparency_on_white() -> None:
    clear = Image.new("RGBA", (3000, 100), (255, 0, 0, 0))
    mime, shown = decoded(image_parts.encode_image(clear).part())
    assert mime == "image/png" and shown.size == (MAX_SIDE, 68)
    assert image_parts._flatten(clear).getpixel((0, 0)) == (255, 255, 255)


# Refusals -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "words"),
    [
        (Figure(), "the figure is empty"),
        (b"\x89PNG\r\n\x1a\n not really", "could not be read as an image"),
        (b"plain bytes", "not a PNG, JPEG"),
        ("a string", "a str is not an image"),
    ],
)
def test_values_that_cannot_be_sent_get_one_line(value: Any, words: str) -> None:
    with pytest.raises(ImageError, match=words) as caught:
        encode_image(value)
    assert "\n" not in str(caught.value)


def test_a_decompression_bomb_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses over twice this
    with pytest.raises(ImageError, match="too large; crop or shrink it"):
        encode_image(encoded(100, 100))


def test_without_pillow_the_error_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from aimo_magic.core.image_parts import encode_image, ImageError\n"
        "try:\n    encode_image(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(40))\n"
        "except ImageError as exc:\n    print(exc)\n"
    )
    assert "pip install 'aimo-magic[images]'" in python(code)


def test_recognising_images_imports_neither_pillow_nor_matplotlib() -> None:
    code = (
        "import sys\n"
        "from aimo_magic.core.image_parts import is_image\n"
        "print(is_image(object()), is_image(b'\\x89PNG\\r\\n\\x1a\\n'), is_image(b'text'),\n"
        "      'PIL' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    assert python(code).split() == ["False", "True", "False", "False", "False"]


def test_is_image_knows_each_type_once_loaded() -> None:
    from IPython.display import Image as IPythonImage

    figure = plotted()
    for value in (figure, figure.axes[0], picture(4, 4), IPythonImage(data=encoded(4, 4))):
        assert is_image(value)
    for value in ("x", 3, [figure], b"GIF8"):
        assert not is_image(value)


def test_labels_read_the_size_from_the_data_url() -> None:
    assert part_label(aimo_magic.image(encoded(321, 123))) == "[image 321x123]"
    broken = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert part_label(broken) == "[image]"
    assert part_label({"type": "image_url", "image_url": {"url": "https://x/y.png"}}) == "[image]"


# Catalogue and price ------------------------------------------------------------------
def test_the_catalogue_says_which_models_take_images() -> None:
    models = parse_catalogue(
        {
            "data": [
                {"name": "seer", "architecture": {"input_modalities": ["text", "image"]}},
                {"name": "reader", "architecture": {"input_modalities": ["text"]}},
                {"id": "openai-shaped", "object": "model"},
            ]
        }
    )
    assert [m.takes_images for m in models] == [True, False, None]
    assert image_models(models) == ["seer"]


def test_the_cost_estimate_adds_the_image_price() -> None:
    usage = Usage(1000, 100, 1100)
    pricing = Pricing(prompt=0.001, completion=0.002, image=0.5)
    assert estimate_cost(usage, pricing) == pytest.approx(1.2)
    assert estimate_cost(usage, pricing, images=2) == pytest.approx(2.2)
    assert estimate_cost(usage, Pricing(0.001, 0.002), images=2) == pytest.approx(1.2)


# The Python API against the emulator ---------------------------------------------------
@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[aimo_magic.Client]:
    with aimo_magic.Client(
        "aimo-sk-v2-test-images-0000", base_url=emulator.base_url, max_retries=0
    ) as made:
        yield made


def test_image_parts_work_in_client_chat(client: aimo_magic.Client) -> None:
    content = [
        {"type": "text", "text": "What does this show? ::echo"},
        aimo_magic.image(plotted()),
        aimo_magic.image(encoded(300, 200, "JPEG")),
    ]
    result = client.chat([{"role": "user", "content": content}], model="openai/gpt-4o")
    facts = json.loads(result.text)["images"]
    assert facts["count"] == 2
    assert [item["mime"] for item in facts["items"]] == ["image/png", "image/jpeg"]
    assert (facts["items"][1]["width"], facts["items"][1]["height"]) == (300, 200)


def test_a_text_only_model_refuses_images_with_400(client: aimo_magic.Client) -> None:
    content = [{"type": "text", "text": "What is it?"}, aimo_magic.image(encoded(8, 8))]
    with pytest.raises(aimo_magic.InvalidRequestError, match="does not support image input"):
        client.chat([{"role": "user", "content": content}], model="DeepSeek-V3-1")


def test_image_parts_survive_json() -> None:
    part = aimo_magic.image(encoded(10, 10))
    assert json.loads(json.dumps(part)) == part
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    assert base64.b64decode(part["image_url"]["url"].split(",", 1)[1]) == encoded(10, 10)
