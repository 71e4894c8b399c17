"""The rule for fitting history into a token budget (the estimate is ``core.tokens``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aimo_magic.core.tokens import Estimator


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
