"""A deterministic stand-in for a tokenizer.

Real token counts are model specific; the emulator only needs counts that are stable,
that add up, and that match the stream (one chunk per token), so that clients can check
their usage arithmetic against it.
"""

from __future__ import annotations

import re
from typing import Any

# Leading whitespace sticks to the next word or symbol, long words split every 8 chars;
# the alternatives cover every character, so "".join(split_tokens(t)) == t.
_TOKEN = re.compile(r"\s*\w{1,8}|\s*[^\w\s]|\s+")

IMAGE_PART_TOKENS = 85


def split_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(split_tokens(text))


def content_text(content: Any) -> str:
    """The text of a message's content, whether a string or a list of OpenAI parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def count_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Tokens of every message's text, plus a flat charge per image part."""
    total = 0
    for message in messages:
        content = message.get("content")
        total += count_tokens(content_text(content))
        if isinstance(content, list):
            total += IMAGE_PART_TOKENS * sum(
                1 for p in content if isinstance(p, dict) and p.get("type") == "image_url"
            )
    return total
