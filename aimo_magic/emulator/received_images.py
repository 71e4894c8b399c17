"""Image parts in chat requests: read them the way a vision model's server would.

Every ``image_url`` part with a data URL is decoded and its pixel size read (Pillow, when
installed), so ``::echo`` can report exactly what arrived; undecodable data is a 400, as
on the real API, and so is an image sent to a model whose catalogue entry takes text only.
Remote ``http(s)`` URLs are not fetched (the emulator stays offline): they are reported
without a size. This module is the emulator's own, independent of ``aimo_magic.core``.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

from aimo_magic.emulator.validation import BadRequest

IMAGE_PART_TYPES = ("image_url", "input_image", "image")


@dataclass(frozen=True)
class ImageFacts:
    """One image as the emulator received it."""

    mime: str | None
    width: int | None
    height: int | None
    bytes: int | None
    url: str | None = None
    """Set only for remote URLs, which are not fetched."""

    def as_dict(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
        }
        if self.url is not None:
            facts["url"] = self.url
        return facts

    @property
    def description(self) -> str:
        size = f"{self.width}×{self.height} px" if self.width and self.height else "size unknown"
        return f"{self.mime or 'remote image'}, {size}"


def _url_of(part: dict[str, Any], where: str) -> str:
    inner = part.get("image_url")
    url = inner.get("url") if isinstance(inner, dict) else inner
    if not isinstance(url, str) or not url:
        raise BadRequest(f"{where}: an image_url part needs 'image_url': {{'url': ...}}")
    return url


def _pixel_size(data: bytes, where: str) -> tuple[int | None, int | None]:
    try:
        from PIL import Image
    except ImportError:  # without Pillow the emulator cannot measure, only count
        return None, None
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
    except Exception:  # Pillow raises many kinds for data that is not an image
        raise BadRequest(f"{where}: invalid image data (it could not be decoded)") from None
    return width, height


def _facts(url: str, where: str) -> ImageFacts:
    if url.startswith(("http://", "https://")):
        return ImageFacts(None, None, None, None, url=url[:200])
    header, sep, payload = url.partition(",")
    if not url.startswith("data:") or not sep or not header.endswith(";base64"):
        raise BadRequest(f"{where}: image URLs must be https:// or data:<type>;base64,<data>")
    mime = header[len("data:") : -len(";base64")]
    if not mime.startswith("image/"):
        raise BadRequest(f"{where}: invalid image type {mime!r}")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: invalid base64 in the image data URL") from None
    width, height = _pixel_size(data, where)
    return ImageFacts(mime, width, height, len(data))


def inspect_images(messages: list[dict[str, Any]]) -> tuple[ImageFacts, ...]:
    """Every image part in the request, in order; BadRequest for one that is broken."""
    found: list[ImageFacts] = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") in IMAGE_PART_TYPES:
                where = f"messages[{i}].content[{j}]"
                found.append(_facts(_url_of(part, where), where))
    return tuple(found)


def refusal_for_text_only(model_name: str) -> str:
    """The 400 message for images sent to a text-only model."""
    return (
        f"Model '{model_name}' does not support image input: "
        "send text only, or pick a model whose input_modalities include 'image'"
    )


def images_summary(images: tuple[ImageFacts, ...]) -> dict[str, Any]:
    """What ``::echo`` reports about the images: how many, their types and sizes."""
    return {"count": len(images), "items": [facts.as_dict() for facts in images]}


def mention(images: tuple[ImageFacts, ...]) -> str:
    """The sentence a default answer starts with when the request carried images."""
    if not images:
        return ""
    described = "; ".join(facts.description for facts in images)
    noun, pronoun = ("an image", "it") if len(images) == 1 else (f"{len(images)} images", "them")
    return f"I received {noun} ({described}) and read {pronoun} with your question.\n\n"
