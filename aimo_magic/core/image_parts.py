"""Images as OpenAI ``image_url`` content parts with data URLs, sized for any provider.

A matplotlib Figure (or Axes), a PIL image, ``IPython.display.Image`` or raw PNG/JPEG
bytes becomes ``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}``.
Every image is at most ``MAX_SIDE`` pixels on its long side and its data URL at most
``MAX_URL_CHARS`` characters, the smallest limits the big providers share.
Figures are always PNG (sharp lines and text); photos keep JPEG, and a PNG that is too
big becomes JPEG before it is shrunk further.

Pillow and matplotlib are optional (``pip install 'aimo-magic[images]'``) and imported
only when an image is encoded: ``is_image`` recognises values through the modules already
loaded, so a notebook that never plots pays nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import io
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_SIDE = 2048
# Anthropic refuses images over 5 MB of base64; 4 MiB of data URL leaves room.
MAX_URL_CHARS = 4 * 1024 * 1024
FIGURE_DPI = 150
JPEG_QUALITIES = (90, 80, 70, 60)
SHRINK_STEP = 0.75
MIN_SIDE = 64
# Resize in two steps (a fast box reduction, then Lanczos): as sharp, several times faster.
REDUCING_GAP = 3.0
IMAGE_PART_TYPES = ("image_url", "input_image", "image")
INSTALL_HINT = "pip install 'aimo-magic[images]'"

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_PIL_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_KEEP_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")


class ImageError(ValueError):
    """A value that cannot be sent as an image; the message says what to do instead."""


@dataclass(frozen=True)
class EncodedImage:
    """One image ready to send: encoded bytes, their MIME type and pixel size."""

    mime: str
    data: bytes
    width: int
    height: int

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def url_chars(self) -> int:
        """Length of ``data_url``, without building it."""
        return len(f"data:{self.mime};base64,") + 4 * ((len(self.data) + 2) // 3)

    def part(self) -> dict[str, Any]:
        """The OpenAI content part for this image."""
        return {"type": "image_url", "image_url": {"url": self.data_url}}

    @property
    def label(self) -> str:
        return f"[image {self.width}x{self.height}]"


def _sniff(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _loaded_class(module: str, name: str) -> Any:
    """A class from a module only if that module is already imported (never imports it)."""
    loaded = sys.modules.get(module)
    return getattr(loaded, name, None) if loaded is not None else None


def _figure_of(value: Any) -> Any:
    """The root matplotlib Figure behind a Figure, SubFigure or Axes, else None."""
    figure_base = _loaded_class("matplotlib.figure", "FigureBase")
    axes = _loaded_class("matplotlib.axes", "Axes")
    if axes is not None and isinstance(value, axes):
        value = value.figure
    if figure_base is None or not isinstance(value, figure_base):
        return None
    while getattr(value, "figure", value) is not value and value.figure is not None:
        value = value.figure  # a SubFigure's .figure is the root figure
    return value


def _ipython_image(value: Any) -> bool:
    cls = _loaded_class("IPython.core.display", "Image")
    return cls is not None and isinstance(value, cls)


def _pil_image(value: Any) -> bool:
    cls = _loaded_class("PIL.Image", "Image")
    return cls is not None and isinstance(value, cls)


def is_image(value: Any) -> bool:
    """Whether ``value`` is something ``image()`` sends: cheap, and imports nothing."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _sniff(bytes(value[:16])) is not None
    return _figure_of(value) is not None or _pil_image(value) or _ipython_image(value)


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImageError(f"Sending images needs Pillow: {INSTALL_HINT}") from None
    return Image


def _url_chars(byte_count: int) -> int:
    return len("data:image/jpeg;base64,") + 4 * ((byte_count + 2) // 3)


def _fits(data: bytes) -> bool:
    return _url_chars(len(data)) <= MAX_URL_CHARS


def _save(picture: Any, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _flatten(picture: Any) -> Any:
    """RGB on white: JPEG has no alpha, and some models read transparency as black."""
    pil = _pil()
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        background = pil.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return picture.convert("RGB")


def _attempts(picture: Any, formats: tuple[str, ...]) -> Iterable[tuple[str, bytes]]:
    for fmt in formats:
        if fmt == "PNG":
            png = picture if picture.mode in _KEEP_MODES else picture.convert("RGBA")
            yield "image/png", _save(png, "PNG")
        else:
            rgb = _flatten(picture)
            for quality in JPEG_QUALITIES:
                yield "image/jpeg", _save(rgb, "JPEG", quality=quality)


def _encode_raster(picture: Any, formats: tuple[str, ...]) -> EncodedImage:
    """Shrink to ``MAX_SIDE``, then try each format (and JPEG quality), shrinking until one
    fits ``MAX_URL_CHARS``."""
    pil = _pil()
    picture.load()
    scale = min(1.0, MAX_SIDE / max(picture.size))
    while True:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        sized = (
            picture
            if size == picture.size
            else picture.resize(size, pil.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        )
        for mime, data in _attempts(sized, formats):
            if _fits(data):
                return EncodedImage(mime, data, *sized.size)
        if min(size) <= MIN_SIDE:
            raise ImageError(
                f"could not make a {picture.width}×{picture.height} image small enough to send; "
                "crop it or save it at a lower resolution"
            )
        scale *= SHRINK_STEP


def _from_bytes(data: bytes, *, what: str) -> EncodedImage:
    """Raw image bytes: sent as they are when PNG or JPEG within the limits."""
    pil = _pil()
    try:
        picture = pil.open(io.BytesIO(data))
        picture.size  # noqa: B018 - reading the header is the check
    except pil.DecompressionBombError:
        raise ImageError(
            f"{what} could not be opened safely: the picture is too large; crop or shrink it"
        ) from None
    except Exception:  # Pillow raises many kinds for undecodable data
        raise ImageError(f"{what} could not be read as an image; is it damaged?") from None
    mime = _PIL_MIME.get(picture.format or "")
    if mime in ("image/png", "image/jpeg") and max(picture.size) <= MAX_SIDE and _fits(data):
        return EncodedImage(mime, data, *picture.size)
    from PIL import ImageOps

    if mime == "image/jpeg" and max(picture.size) > MAX_SIDE:
        # Decode at 1/2, 1/4 or 1/8 scale straight away: far less work for big photos.
        scale = MAX_SIDE / max(picture.size)
        picture.draft("RGB", (math.ceil(picture.width * scale), math.ceil(picture.height * scale)))
    # A phone photo the right way up; a damaged EXIF block must not stop the image.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(picture, in_place=True)
    formats = ("JPEG",) if mime == "image/jpeg" else ("PNG", "JPEG")
    return _encode_raster(picture, formats)


def _from_figure(figure: Any) -> EncodedImage:
    """A figure as PNG at a resolution a model reads well, on white where it is transparent."""
    if not figure.axes and not figure.artists and not figure.texts and not figure.images:
        raise ImageError(
            "the figure is empty (nothing is drawn on it); draw a plot first, "
            "or pass the Figure object you drew on"
        )
    width, height = figure.get_size_inches()
    dpi = min(FIGURE_DPI, MAX_SIDE / max(width, height, 1e-6))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    data = buffer.getvalue()
    pil = _pil()
    picture = pil.open(io.BytesIO(data))
    if _transparent(picture):
        return _encode_raster(_flatten(picture), ("PNG",))
    if max(picture.size) <= MAX_SIDE and _fits(data):
        return EncodedImage("image/png", data, *picture.size)
    return _encode_raster(picture, ("PNG",))


def _transparent(picture: Any) -> bool:
    """Whether any pixel is see-through (matplotlib's inline style makes figures so)."""
    if picture.mode not in ("RGBA", "LA"):
        return False
    low, _ = picture.getchannel("A").getextrema()
    return bool(low < 255)


def encode_image(value: Any) -> EncodedImage:
    """Encode any supported image value; ImageError (one line) for anything else."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if _sniff(data[:16]) is None:
            raise ImageError("these bytes are not a PNG, JPEG, GIF or WebP image")
        return _from_bytes(data, what="the image bytes")
    figure = _figure_of(value)
    if figure is not None:
        return _from_figure(figure)
    if _pil_image(value):
        source = _PIL_MIME.get(value.format or "")
        return _encode_raster(value, ("JPEG",) if source == "image/jpeg" else ("PNG", "JPEG"))
    if _ipython_image(value):
        data = value.data
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError(
                "this IPython Image only links to its picture (a URL); "
                "create it with embed=True, or from a file or bytes"
            )
        return _from_bytes(bytes(data), what="the IPython Image")
    raise ImageError(
        f"a {type(value).__name__} is not an image; pass a matplotlib Figure or Axes, "
        "a PIL image, IPython.display.Image, or PNG/JPEG bytes"
    )


def image(value: Any) -> dict[str, Any]:
    """The OpenAI ``image_url`` content part for an image, for ``Client.chat`` messages.

    >>> client.chat([{"role": "user", "content": [                       # doctest: +SKIP
    ...     {"type": "text", "text": "What does this plot show?"}, image(fig)]}])
    """
    return encode_image(value).part()


# Reading parts back --------------------------------------------------------------------


def is_image_part(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("type") in IMAGE_PART_TYPES


def image_parts(content: Any) -> list[Mapping[str, Any]]:
    """The image parts of one message's content (none for plain text)."""
    if not isinstance(content, list):
        return []
    return [part for part in content if is_image_part(part)]


def count_images(messages: Iterable[Mapping[str, Any]]) -> int:
    """How many images a request carries, for the per-image price."""
    return sum(len(image_parts(message.get("content"))) for message in messages)


def part_url(part: Mapping[str, Any]) -> str | None:
    """The URL of an image part, in OpenAI's shape or the bare-string variant."""
    inner = part.get("image_url")
    if isinstance(inner, Mapping):
        inner = inner.get("url")
    return inner if isinstance(inner, str) else None


def decode_data_url(url: str) -> tuple[str, bytes] | None:
    """MIME type and bytes of a base64 ``data:`` URL, or None for anything else."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    try:
        return header[: -len(";base64")], base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=128)
def _url_size(url: str) -> tuple[int, int] | None:
    decoded = decode_data_url(url)
    if decoded is None:
        return None
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        return tuple(Image.open(io.BytesIO(decoded[1])).size)  # type: ignore[return-value]
    except Exception:  # not decodable: shown without a size
        return None


def part_size(part: Mapping[str, Any]) -> tuple[int, int] | None:
    """Pixel size of an image part with a data URL (read from its header), else None."""
    url = part_url(part)
    return _url_size(url) if url is not None else None


def part_label(part: Mapping[str, Any]) -> str:
    """``[image WxH]``, or ``[image]`` when the size cannot be read."""
    size = part_size(part)
    return f"[image {size[0]}x{size[1]}]" if size else "[image]"
