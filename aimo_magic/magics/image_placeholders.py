"""Images in ``%%aimo`` prompts: placeholders that become image parts, and which models.

Interpolation turns each ``{expr}`` into text; for an image value it writes a marker
instead, and ``ImagePlaceholders.content`` then cuts the prompt at the markers into
OpenAI content parts, keeping the text around each image in order. Nothing here imports
Pillow or matplotlib unless a value really is an image.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from aimo_magic.core.image_parts import is_image

if TYPE_CHECKING:
    from aimo_magic.conversation import Content
    from aimo_magic.core.image_parts import EncodedImage
    from aimo_magic.magics.figures import FigureMemory
    from aimo_magic.magics.fill_report import Fill

# NUL cannot come from a notebook cell's text or a str() of a value in practice.
_MARKER = "\x00aimo-image-{}\x00"
_MARKERS = re.compile("\x00aimo-image-(\\d+)\x00")


class ImagePlaceholders:
    """Collects the images a prompt's placeholders named, in the order they appear."""

    def __init__(self, figures: FigureMemory | None = None) -> None:
        self._figures = figures
        self.images: list[EncodedImage] = []
        self._by_expression: dict[str, EncodedImage] = {}

    def text_for(self, expression: str, value: Any) -> str | None:
        """A marker standing for ``value`` if it is an image (encoding it now), else None."""
        if self._figures is not None:
            value = self._figures.resolve(value)
        if not is_image(value):
            return None
        from aimo_magic.core.image_parts import ImageError, encode_image

        try:
            encoded = encode_image(value)
        except ImageError as exc:
            raise ImageError(f"{{{expression.strip()}}}: {exc}") from None
        self.images.append(encoded)
        self._by_expression[expression.strip()] = encoded
        return _MARKER.format(len(self.images) - 1)

    def report(self, fill: Fill) -> Fill:
        """The fill report's line for a placeholder, saying so when it became an image."""
        encoded = self._by_expression.get(fill.expression)
        if encoded is None:
            return fill
        kind = encoded.mime.split("/")[-1].upper()
        sent = f"an image {encoded.width}x{encoded.height} {kind}"
        return dataclasses.replace(fill, chars=encoded.url_chars, sent=sent)

    def content(self, text: str) -> Content:
        """The prompt as plain text, or as text and image parts when it names images."""
        if not self.images:
            return text
        parts: list[dict[str, Any]] = []
        position = 0
        for match in _MARKERS.finditer(text):
            if match.start() > position:
                parts.append({"type": "text", "text": text[position : match.start()]})
            parts.append(self.images[int(match.group(1))].part())
            position = match.end()
        if position < len(text):
            parts.append({"type": "text", "text": text[position:]})
        return parts
