"""What an answer's text holds: its fenced code blocks, and the JSON it gives.

The one reading of an answer, shared by every front end: ``%%aimo -f json`` and ``-f
code`` (shown by ``rendering.bundles``, kept by ``-o`` and ``--insert``) and a batch's
JSON rows (``batching.answers``) strip code fences the same way. Models often wrap JSON
in a fenced block, sometimes with a sentence around it; an answer cut short may leave
its fence open.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(
    r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)"
    r"(?:^[ \t]{0,3}(?P=fence)[`~]*[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
# Fence tags that name the same language as a kernel's language_info name.
_LANGUAGE_TAGS = {
    "py": "python",
    "py3": "python",
    "python3": "python",
    "ipython": "python",
    "ipython3": "python",
    "jl": "julia",
    "rscript": "r",
}


def code_blocks(text: str) -> list[tuple[str | None, str]]:
    """Language (lower case, None if untagged) and code of each fenced block, in order.

    An unclosed fence (an answer cut short) still yields its body.
    """
    blocks: list[tuple[str | None, str]] = []
    for match in _FENCE.finditer(text):
        info = match.group("info").strip()
        language = info.split(maxsplit=1)[0].lower() if info else None
        blocks.append((language, match.group("body").rstrip("\n")))
    return blocks


def same_language(tag: str | None, language: str) -> bool:
    """Whether a fence's tag names ``language`` (``py``, ``python3`` and ``ipython`` are Python)."""
    if tag is None:
        return False
    return _LANGUAGE_TAGS.get(tag.lower(), tag.lower()) == _LANGUAGE_TAGS.get(
        language.lower(), language.lower()
    )


def extract_code(text: str, prefer: str | None = None) -> tuple[str | None, str]:
    """Language and code of one fenced block, or ``(None, text)`` when unfenced.

    Without ``prefer``, the first block. With it (the kernel's language), the first
    block in that language, else the first untagged one, else the first.
    """
    blocks = code_blocks(text)
    if not blocks:
        return None, text
    if prefer:
        for wanted in (lambda tag: same_language(tag, prefer), lambda tag: tag is None):
            for block in blocks:
                if wanted(block[0]):
                    return block
    return blocks[0]


def json_source(text: str) -> str:
    """The JSON text of an answer: its first fenced block if it has one, else all of it."""
    return extract_code(text)[1]


def parse_json_answer(text: str) -> Any:
    """The JSON value of an answer, fenced or not; ValueError if it is not JSON."""
    return json.loads(json_source(text))
