"""A cheap token estimate for chat messages, shared by history trimming and batch costs.

The estimate only has to keep requests comfortably inside a model's context window
and give a batch's cost a sensible high end, so it trades accuracy for needing no
tokenizer download. It lives in the core so every layer that guesses tokens guesses
them the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
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


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """The estimate for a whole request's messages."""
    return sum(estimate_tokens(m) for m in messages)


def estimate_request_tokens(body: Mapping[str, Any]) -> int:
    """The estimate for a whole chat body: its messages, and the tool definitions and
    answer schema it carries (the server counts those as prompt tokens too)."""
    import json

    messages = body.get("messages")
    tokens = estimate_prompt_tokens(messages) if isinstance(messages, list) else 0
    for extra in ("tools", "response_format"):
        if body.get(extra):
            text = json.dumps(body[extra], default=str)
            tokens += math.ceil(len(text) / CHARS_PER_TOKEN)
    return tokens
