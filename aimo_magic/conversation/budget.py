"""A cheap token estimate and the rule for fitting history into a budget.

The estimate only has to keep requests comfortably inside a model's context
window, so it trades accuracy for needing no tokenizer download.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CHARS_PER_TOKEN = 4
# OpenAI bills a high-detail 512x512 tile at 765 tokens; a fair guess for any image.
IMAGE_TOKENS = 765
# Role markers and separators the chat template adds around each message.
MESSAGE_OVERHEAD_TOKENS = 4

Estimator = Callable[[Mapping[str, Any]], int]


def estimate_tokens(message: Mapping[str, Any]) -> int:
    """Roughly how many tokens one chat message costs (about 4 characters a token)."""
    content = message.get("content")
    chars = 0
    images = 0
    if isinstance(content, str):
        chars = len(content)
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                chars += len(part["text"])
            elif part.get("type") in ("image_url", "input_image", "image"):
                images += 1
    return MESSAGE_OVERHEAD_TOKENS + math.ceil(chars / CHARS_PER_TOKEN) + images * IMAGE_TOKENS


def keep_recent(
    turns: Sequence[Sequence[Mapping[str, Any]]],
    *,
    fixed_tokens: int,
    max_turns: int | None,
    max_tokens: int | None,
    estimate: Estimator,
) -> int:
    """How many of the newest ``turns`` fit; each turn is its list of messages.

    Whole turns are kept or dropped so a question never loses its answer, and the
    kept turns are always a contiguous newest run so the model never sees a gap.
    ``fixed_tokens`` is what must be sent regardless (system prompt, new prompt).
    """
    if max_turns is not None and max_turns < 0:
        raise ValueError(f"max_turns must be 0 or more, not {max_turns}; use None for no limit")
    if max_tokens is not None and max_tokens < 0:
        raise ValueError(f"max_tokens must be 0 or more, not {max_tokens}; use None for no limit")
    limit = len(turns) if max_turns is None else min(max_turns, len(turns))
    if max_tokens is None:
        return limit
    used = fixed_tokens
    kept = 0
    for turn in reversed(turns[len(turns) - limit :]):
        used += sum(estimate(message) for message in turn)
        if used > max_tokens:
            break
        kept += 1
    return kept
