"""Small real images for tests: PNG and JPEG bytes, data URLs and content parts."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image


def picture(width: int, height: int, *, noisy: bool = False) -> Image.Image:
    """A picture with some structure (a gradient, or noise that compresses badly)."""
    if noisy:
        return Image.frombytes("RGB", (width, height), _noise(width * height * 3))
    across = Image.linear_gradient("L").rotate(90).resize((width, height))
    down = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (across, down, Image.new("L", (width, height), 128)))


def _noise(count: int) -> bytes:
    import random

    rng = random.Random(14)
    return rng.randbytes(count)


def encoded(width: int, height: int, fmt: str = "PNG", *, noisy: bool = False) -> bytes:
    buffer = io.BytesIO()
    picture(width, height, noisy=noisy).save(buffer, format=fmt)
    return buffer.getvalue()


def data_url(width: int, height: int, fmt: str = "PNG") -> str:
    mime = "image/png" if fmt == "PNG" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(encoded(width, height, fmt)).decode()}"


def image_part(width: int, height: int, fmt: str = "PNG") -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_url(width, height, fmt)}}
