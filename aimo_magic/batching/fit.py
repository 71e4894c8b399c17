"""Rows whose prompt cannot fit the batch's model, found before the first request.

A batch sends each row's prompt to one model; a row that puts a whole document or
table in its prompt may be larger than that model's listed context. Every row still to
send is measured before anything is sent, so one such row does not fail after hundreds
of paid ones, and the refusal names the rows. The measure is a lower bound that formats
nothing (the template's text and the rows' string values, ``Template.least_chars``), in
``core.tokens``' units: a row is still formatted once, when it is sent, and only a row
that clearly cannot fit is refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from aimo_magic.batching.rows import Rows, messages_for
from aimo_magic.core.model_fit import DoesNotFit, context_refusal
from aimo_magic.core.tokens import CHARS_PER_TOKEN, estimate_prompt_tokens

if TYPE_CHECKING:
    from aimo_magic.core.types import Model

NAMED_ROWS = 5
SHORTEN = "shorten what the rows put in the prompt (a part or a summary of each)"


def refuse_rows_too_large(
    rows: Rows,
    system: str | None,
    model: Model | None,
    catalogue: Iterable[Model],
    positions: Sequence[int],
) -> None:
    """Raise ``DoesNotFit`` naming the rows among ``positions`` larger than the model's
    listed context; nothing is measured when the catalogue lists no context."""
    if model is None or not model.context_length:
        return
    limit = model.context_length
    around = estimate_prompt_tokens(messages_for(system, ""))  # the system prompt and roles
    too_large: list[tuple[int, int]] = []
    for position in positions:
        tokens = around + math.ceil(rows.least_chars(position) / CHARS_PER_TOKEN)
        if tokens > limit:
            too_large.append((position, tokens))
    if not too_large:
        return
    largest, tokens = max(too_large, key=lambda found: found[1])
    line = context_refusal(
        [model], tokens, catalogue, what=f"Row {rows.label(largest)}'s prompt", advice=SHORTEN
    )
    assert line is not None  # larger than the context, by construction
    if len(too_large) > 1:
        named = ", ".join(str(rows.label(p)) for p, _ in too_large[:NAMED_ROWS])
        more = ", …" if len(too_large) > NAMED_ROWS else ""
        line = f"{len(too_large):,} rows do not fit (rows {named}{more}). {line}"
    raise DoesNotFit(line)
