"""Where a growing markdown answer can be frozen, so updates cost the tail, not the whole.

A live answer is shown as a run of outputs. Once the complete top-level
blocks at the start of the unfrozen tail are large enough, they are rendered
one last time and frozen; only the rest is re-rendered on later updates. The
last top-level block is never frozen whole, because text still to come can
change it (a list gaining items, a fence still open, a setext underline).

A last block too large to wait for (a long code listing, a huge table or
list) is split inside: between list items or quoted blocks, between table
rows (the header is repeated), or between lines of a fence (closed in the
frozen part and reopened with the same info string in the rest). This is
what keeps the per-update cost bounded whatever the answer's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token


@dataclass(frozen=True)
class Cut:
    """A prefix of ``carry + text`` to render once and freeze."""

    consumed: int  # characters of ``text`` (after the carry) now frozen
    source: str  # the markdown to render for the frozen part
    carry: str  # markdown to put before the remaining text (a reopened fence or table header)


def _line_starts(src: str) -> list[int]:
    return [0, *accumulate(len(line) + 1 for line in src.split("\n"))][:-1]


def _last_line(src: str, starts: list[int]) -> int:
    """Index of the line holding the final character (the line still being written)."""
    index = len(starts) - 1
    while index > 0 and starts[index] >= len(src):
        index -= 1
    return index


def _block_range(tokens: list[Token], first: int) -> list[Token]:
    return tokens[first:]  # the last top-level block runs to the end of the token list


def _fence_split(token: Token, src: str, starts: list[int]) -> tuple[int, str, str] | None:
    assert token.map is not None
    first, end = token.map
    line_of = _last_line(src, starts)
    closing = src[starts[end - 1] : starts[end] if end < len(starts) else len(src)].strip()
    closed = end - 1 > first and closing.startswith(token.markup) and len(set(closing)) == 1
    cut_line = end - 2 if closed else line_of
    if cut_line <= first + 1:
        return None
    opening = src[starts[first] : starts[first + 1]]
    frozen = src[: starts[cut_line]] + token.markup + "\n"
    return starts[cut_line], frozen, opening


def _table_split(block: list[Token], src: str, starts: list[int]) -> tuple[int, str, str] | None:
    table = block[0]
    assert table.map is not None
    rows = [t for t in block if t.type == "tr_open" and t.map is not None]
    if len(rows) < 3:  # the header row plus at least one body row to freeze
        return None
    cut_line = rows[-1].map[0]  # type: ignore[index]
    header = src[starts[table.map[0]] : starts[table.map[0] + 2]]
    return starts[cut_line], src[: starts[cut_line]], header


def _children_split(block: list[Token], src: str, starts: list[int]) -> tuple[int, str, str] | None:
    children = [t for t in block if t.level == 1 and t.nesting >= 0 and t.map is not None]
    if len(children) < 2:
        return None
    cut_line = children[-1].map[0]  # type: ignore[index]
    return starts[cut_line], src[: starts[cut_line]], ""


def _paragraph_split(token: Token, src: str, starts: list[int]) -> tuple[int, str, str] | None:
    assert token.map is not None
    cut_line = _last_line(src, starts)
    if cut_line <= token.map[0]:
        return None
    return starts[cut_line], src[: starts[cut_line]], ""


def _split_inside(block: list[Token], src: str, starts: list[int]) -> tuple[int, str, str] | None:
    head = block[0]
    if head.type == "fence":
        return _fence_split(head, src, starts)
    if head.type == "table_open":
        return _table_split(block, src, starts)
    if head.type in ("bullet_list_open", "ordered_list_open", "blockquote_open"):
        return _children_split(block, src, starts)
    if head.type == "paragraph_open":
        return _paragraph_split(head, src, starts)
    return None


def find_cut(carry: str, text: str, *, freeze_at: int, split_at: int) -> Cut | None:
    """The prefix to freeze now, if the complete blocks reach ``freeze_at`` characters
    or the last block alone exceeds ``split_at`` and can be split inside."""
    from aimo_magic.rendering.markdown import block_parser

    src = carry + text
    if len(src) < freeze_at:
        return None
    tokens = block_parser().parse(src)
    tops = [i for i, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0 and t.map]
    if not tops:
        return None
    starts = _line_starts(src)
    last_map = tokens[tops[-1]].map
    assert last_map is not None
    last_start = starts[last_map[0]]
    if len(src) - last_start > split_at:
        inner = _split_inside(_block_range(tokens, tops[-1]), src, starts)
        if inner is not None and inner[0] > len(carry):
            offset, source, new_carry = inner
            return Cut(consumed=offset - len(carry), source=source, carry=new_carry)
    if len(tops) >= 2 and last_start >= freeze_at and last_start > len(carry):
        return Cut(consumed=last_start - len(carry), source=src[:last_start], carry="")
    return None
