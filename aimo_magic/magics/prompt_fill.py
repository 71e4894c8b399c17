"""A prompt as typed becomes the prompt as sent: checked, then ``{placeholders}`` filled.

The second step of a cell's prompt (after the line is parsed, before its messages are
built): a placeholder's value becomes text (``magics/interpolate.py``), or an image part
where it stood when the value is an image (``magics/image_placeholders.py``). What each
placeholder became is reported above the answer, never sent or recorded.

The prompt is checked before filling (a refused cell runs none of the user's
expressions) and again after (a placeholder may bring in a key or nothing at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aimo_magic.core.content import Content, check_content, content_text, has_non_text_part

if TYPE_CHECKING:
    from aimo_magic.magics.figures import FigureMemory
    from aimo_magic.magics.fill_report import Fill

KEY_IN_PROMPT = (
    "Refused: the prompt contains something that looks like an AiMo API key; it would "
    "be sent to the model and saved in the notebook. Remove it and run the cell again."
)
NO_PROMPT = "The cell has no prompt: write your question below the %%aimo line."


@dataclass(frozen=True)
class FilledPrompt:
    """The prompt as it will be sent and recorded, and what its placeholders became."""

    content: Content
    fills: tuple[Fill, ...] = ()


def check_prompt(prompt: object) -> Content:
    """The prompt without surrounding blank space, if it is one that may be sent."""
    return _sendable(check_content(prompt, "the prompt"))


def _sendable(prompt: Content) -> Content:
    from aimo_magic.core.secrets import looks_like_key

    if isinstance(prompt, str):
        prompt = prompt.strip()
    text = content_text(prompt)
    if looks_like_key(text):
        raise ValueError(KEY_IN_PROMPT)
    if not text.strip() and not has_non_text_part(prompt):
        raise ValueError(NO_PROMPT)
    return prompt


def fill_prompt(
    prompt: object,
    namespace: Mapping[str, Any] | None,
    figures: FigureMemory | None = None,
) -> FilledPrompt:
    """The checked prompt with its placeholders filled from ``namespace``; None leaves
    the prompt as given (``--no-interpolate``, or a prompt from Python)."""
    content = check_prompt(prompt)
    fills: tuple[Fill, ...] = ()
    if namespace is not None:
        content, fills = fill_placeholders(content, namespace, figures)
        content = _sendable(content)
    return FilledPrompt(content, fills)


def fill_placeholders(
    prompt: Content, namespace: Mapping[str, Any], figures: FigureMemory | None = None
) -> tuple[Content, tuple[Fill, ...]]:
    """``{expr}`` placeholders replaced from the user's variables, in every text part,
    and what each one became.

    A placeholder whose value is an image becomes an image part where it stood, the
    text around it kept in order.
    """
    from aimo_magic.magics.image_placeholders import ImagePlaceholders
    from aimo_magic.magics.interpolate import interpolate_pieces

    images = ImagePlaceholders(figures)
    fills: list[Fill] = []

    def fill(text: str) -> Content:
        content, reported = images.content(*interpolate_pieces(text, namespace))
        fills.extend(reported)
        return content

    if isinstance(prompt, str):
        return fill(prompt), tuple(fills)
    parts: list[dict[str, Any]] = []
    for part in prompt:
        if part.get("type") != "text":
            parts.append(part)
            continue
        content = fill(str(part.get("text", "")))
        parts.extend([{**part, "text": content}] if isinstance(content, str) else content)
    return parts, tuple(fills)
