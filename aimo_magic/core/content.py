"""A chat message's content: plain text, or a list of parts (text, images).

Checked once where content comes in (a prompt, a recorded turn), and read as text
wherever a person or a check needs words rather than parts.
"""

from __future__ import annotations

from typing import Any, Union

from aimo_magic.core.image_parts import is_image_part, part_label, part_url

# OpenAI chat content: plain text or a list of parts such as text and image_url.
Content = Union[str, list[dict[str, Any]]]  # noqa: UP007 - a runtime alias must work on 3.10


def check_content(content: object, what: str) -> Content:
    """Return ``content`` if it is OpenAI chat content, else raise a one-line ValueError."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, dict) and isinstance(part.get("type"), str) for part in content
    ):
        for part in content:
            if part["type"] == "image_url" and part_url(part) is None:
                raise ValueError(
                    f"{what} has an image part without a URL; build image parts with "
                    "aimo_magic.image(...)"
                )
        return content
    raise ValueError(
        f"{what} must be a string or a list of content parts like "
        "{'type': 'text', 'text': ...}; got " + type(content).__name__
    )


def content_text(content: Content) -> str:
    """Readable text of some content, with each image shown as ``[image WxH]``."""
    if isinstance(content, str):
        return content
    pieces: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            pieces.append(str(part.get("text", "")))
        elif is_image_part(part):
            pieces.append(part_label(part))
        else:
            pieces.append(f"[{kind}]")
    return "\n".join(pieces)


def has_non_text_part(content: Content) -> bool:
    return not isinstance(content, str) and any(part.get("type") != "text" for part in content)
