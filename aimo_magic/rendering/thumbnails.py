"""A small picture of the images a prompt sent, shown above the answer.

The notebook then records what the model saw. The output is a native ``image/png``
(a contact sheet of thumbnails) with a ``text/plain`` caption, never HTML: it is made
only from the images we encoded ourselves, so nothing a model writes can reach it, and
every frontend (JupyterLab, Notebook, VS Code, GitHub, nbviewer) shows it, trusted or not.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

from aimo_magic.core.image_parts import decode_data_url, part_label, part_url

THUMB_SIDE = 160
GAP = 8
PER_ROW = 6
BORDER = (200, 200, 200)

Bundle = dict[str, Any]


def caption(parts: Sequence[Mapping[str, Any]]) -> str:
    """``Sent with the prompt: [image 834x619], [image 300x200]``."""
    return "Sent with the prompt: " + ", ".join(part_label(part) for part in parts)


def _thumbnail(part: Mapping[str, Any]) -> Any:
    """A small RGB copy of one image part, or None when it cannot be decoded."""
    from PIL import Image

    url = part_url(part)
    decoded = decode_data_url(url) if url else None
    if decoded is None:
        return None
    try:
        with Image.open(io.BytesIO(decoded[1])) as picture:
            picture.thumbnail((THUMB_SIDE, THUMB_SIDE))
            rgba = picture.convert("RGBA")
    except Exception:  # not an image we can read: left out of the sheet, kept in the caption
        return None
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def contact_sheet(parts: Sequence[Mapping[str, Any]]) -> tuple[bytes, int, int] | None:
    """PNG bytes, width and height of the thumbnails in rows; None when none can be drawn."""
    try:
        from PIL import Image, ImageOps
    except ImportError:
        return None
    thumbs = [t for t in (_thumbnail(part) for part in parts) if t is not None]
    if not thumbs:
        return None
    thumbs = [ImageOps.expand(t, border=1, fill=BORDER) for t in thumbs]
    rows = [thumbs[i : i + PER_ROW] for i in range(0, len(thumbs), PER_ROW)]
    width = max(sum(t.width for t in row) + GAP * (len(row) - 1) for row in rows)
    height = sum(max(t.height for t in row) for row in rows) + GAP * (len(rows) - 1)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    top = 0
    for row in rows:
        left = 0
        for thumb in row:
            sheet.paste(thumb, (left, top))
            left += thumb.width + GAP
        top += max(t.height for t in row) + GAP
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), width, height


def images_bundle(parts: Sequence[Mapping[str, Any]]) -> tuple[Bundle, dict[str, Any]]:
    """The display bundle and its extra metadata (the picture's size) for sent images."""
    bundle: Bundle = {"text/plain": caption(parts)}
    sheet = contact_sheet(parts)
    if sheet is None:
        return bundle, {}
    data, width, height = sheet
    bundle["image/png"] = base64.b64encode(data).decode("ascii")
    return bundle, {"image/png": {"width": width, "height": height}}
