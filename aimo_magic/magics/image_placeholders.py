"""Images in ``%%aimo`` prompts: placeholders whose values become image parts.

Interpolation hands on the prompt's text cut at its filled placeholders, with each
value as it is (``interpolate.interpolate_pieces``); here each value becomes text, or
an image part where it stood when it is an image, the text around it kept in order.
Nothing here imports Pillow or matplotlib unless a value really is an image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aimo_magic.core.image_parts import is_image
from aimo_magic.magics.fill_report import Fill, describe
from aimo_magic.magics.interpolate import Piece, Placed

if TYPE_CHECKING:
    from aimo_magic.core.content import Content
    from aimo_magic.core.image_parts import EncodedImage
    from aimo_magic.magics.figures import FigureMemory


class ImagePlaceholders:
    """Turns filled text into content, one text part at a time, sending image values
    as images; it remembers whether any came before, as a prompt of several text parts
    then becomes parts throughout."""

    def __init__(self, figures: FigureMemory | None = None) -> None:
        self._figures = figures
        self.images: list[EncodedImage] = []

    def content(
        self, pieces: Sequence[Piece], found: Sequence[Fill | Placed]
    ) -> tuple[Content, list[Fill]]:
        """The text as plain text, or as text and image parts when it names images,
        and the fill report (saying so where a placeholder became an image)."""
        shown: dict[int, str | EncodedImage] = {}
        fills: list[Fill] = []
        for item in found:
            if isinstance(item, Fill):
                fills.append(item)
                continue
            shown[id(item)] = self._shown(item)
            fills.append(self._report(item, shown[id(item)]))
        values = [piece if isinstance(piece, str) else shown[id(piece)] for piece in pieces]
        if not self.images:
            return "".join(value for value in values if isinstance(value, str)), fills
        parts: list[dict[str, Any]] = []
        text = ""
        for value in values:
            if isinstance(value, str):
                text += value
                continue
            if text:
                parts.append({"type": "text", "text": text})
                text = ""
            parts.append(value.part())
        if text:
            parts.append({"type": "text", "text": text})
        return parts, fills

    def _shown(self, placed: Placed) -> str | EncodedImage:
        """The value's text, or the value encoded as an image if it is one."""
        value = self._figures.resolve(placed.value) if self._figures else placed.value
        if not is_image(value):
            return placed.text()
        from aimo_magic.core.image_parts import ImageError, encode_image

        try:
            encoded = encode_image(value)
        except ImageError as exc:
            raise ImageError(f"{{{placed.expression}}}: {exc}") from None
        self.images.append(encoded)
        return encoded

    @staticmethod
    def _report(placed: Placed, shown: str | EncodedImage) -> Fill:
        """The fill report's line for a placeholder, saying so when it became an image."""
        if isinstance(shown, str):
            return describe(placed.expression, placed.value, shown)
        kind = shown.mime.split("/")[-1].upper()
        sent = f"an image {shown.width}x{shown.height} {kind}"
        fill = describe(placed.expression, placed.value, "")
        return dataclasses.replace(fill, chars=shown.url_chars, sent=sent)
