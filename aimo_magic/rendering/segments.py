"""Where a growing markdown answer can be frozen, so updates cost the tail, not the whole.

A live answer is shown as a run of outputs. Once the complete top-level
blocks at the start of the unfrozen tail are large enough, they are rendered
one last time and frozen; only the rest is re-rendered on later updates. The
last top-level block is never frozen whole, because text still to come can
change it (a list gaining items, a fence still open, a setext underline).

A last block too large to wait for (a long code listing, a huge table or
list) is split inside: between list items or quoted blocks, between table
rows (the header is repeated), or between lines of a fence (closed in the
frozen part and reopened with the same info string in the rest), and as a
last resort inside one enormous line at a sentence end. This is what keeps
the per-update cost bounded whatever the answer's shape.
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
    # For a cut between top-level blocks: where the rest starts in the token list,
    # so both sides can be rendered from the one parse. None for a split inside a block.
    rest_token: int | None = None


_Split = tuple[int, str, str]
_INSIDE_LINE_ATTEMPTS = 32  # offset in src, frozen source, carry for the rest


def _line_starts(src: str) -> list[int]:
    return [0, *accumulate(len(line) + 1 for line in src.split("\n"))][:-1]


def _last_line(src: str, starts: list[int]) -> int:
    """Index of the line holding the final character (the line still being written)."""
    index = len(starts) - 1
    while index > 0 and starts[index] >= len(src):
        index -= 1
    return index


def _fence_split(token: Token, src: str, starts: list[int]) -> _Split | None:
    assert token.map is not None
    first, end = token.map
    closing = src[starts[end - 1] : starts[end] if end < len(starts) else len(src)].strip()
    closed = end - 1 > first and closing.startswith(token.markup) and len(set(closing)) == 1
    cut_line = end - 2 if closed else _last_line(src, starts)
    if cut_line <= first + 1:
        return None
    opening = src[starts[first] : starts[first + 1]]
    return starts[cut_line], src[: starts[cut_line]] + token.markup + "\n", opening


def _table_split(block: list[Token], src: str, starts: list[int]) -> _Split | None:
    table = block[0]
    assert table.map is not None
    rows = [t.map[0] for t in block if t.type == "tr_open" and t.map is not None]
    if len(rows) < 3:  # the header row plus at least one body row to freeze
        return None
    header = src[starts[table.map[0]] : starts[table.map[0] + 2]]
    return starts[rows[-1]], src[: starts[rows[-1]]], header


def _children_split(block: list[Token], src: str, starts: list[int]) -> _Split | None:
    children = [t.map[0] for t in block if t.level == 1 and t.nesting >= 0 and t.map]
    if len(children) < 2:
        return None
    return starts[children[-1]], src[: starts[children[-1]]], ""


def _inside_line(src: str, line_start: int, keep: int) -> int | None:
    """A cut after a sentence (or at least a word) that leaves no inline span open.

    Only the last few candidates are tried, so a line whose spans never
    balance costs a bounded amount of work per update.
    """
    line = src[line_start : len(src) - keep]
    for separator in (". ", " "):
        position = len(line)
        for _ in range(_INSIDE_LINE_ATTEMPTS):
            position = line.rfind(separator, 0, position)
            if position <= 0:
                break
            end = position + len(separator)
            head = line[:end]
            balanced = all(head.count(c) % 2 == 0 for c in "`$*")
            if line[end : end + 1].isalpha() and balanced and head.count("[") == head.count("]"):
                return line_start + end
    return None


def _paragraph_split(token: Token, src: str, starts: list[int], split_at: int) -> _Split | None:
    assert token.map is not None
    cut_line = _last_line(src, starts)
    if len(src) - starts[cut_line] > split_at:  # one enormous line: split inside it
        offset = _inside_line(src, starts[cut_line], keep=min(256, split_at // 4))
        if offset is not None:
            return offset, src[:offset] + "\n", ""
    # The rest must start a paragraph again: a line opening with a letter cannot
    # turn into a list, heading, quote or indented code once it is first.
    while cut_line > token.map[0] and not src[starts[cut_line] : starts[cut_line] + 1].isalpha():
        cut_line -= 1
    if cut_line <= token.map[0]:
        return None
    return starts[cut_line], src[: starts[cut_line]], ""


def _split_inside(
    block: list[Token], src: str, starts: list[int], size: int, freeze_at: int, split_at: int
) -> _Split | None:
    head = block[0]
    if head.type == "table_open" and size > freeze_at:
        return _table_split(block, src, starts)
    if head.type in ("bullet_list_open", "ordered_list_open", "blockquote_open"):
        return _children_split(block, src, starts) if size > freeze_at else None
    if head.type == "fence" and size > split_at:
        return _fence_split(head, src, starts)
    if head.type == "paragraph_open" and size > split_at:
        return _paragraph_split(head, src, starts, split_at)
    return None


def find_cut(
    carry: str, text: str, tokens: list[Token], *, freeze_at: int, split_at: int
) -> Cut | None:
    """The prefix of ``carry + text`` (parsed as ``tokens``) to freeze now, if any.

    Complete top-level blocks are frozen once they reach ``freeze_at``
    characters. A last block bigger than that is split inside when its pieces
    stay readable apart (list items, quoted blocks, table rows); code fences
    and paragraphs are split only past ``split_at``, as the seam shows more.
    """
    src = carry + text
    if len(src) < freeze_at:
        return None
    tops = [i for i, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0 and t.map]
    if not tops:
        return None
    starts = _line_starts(src)
    last_map = tokens[tops[-1]].map
    assert last_map is not None
    last_start = starts[last_map[0]]
    inner = _split_inside(
        tokens[tops[-1] :], src, starts, len(src) - last_start, freeze_at, split_at
    )
    if inner is not None and inner[0] > len(carry):
        offset, source, new_carry = inner
        return Cut(consumed=offset - len(carry), source=source, carry=new_carry)
    if len(tops) >= 2 and last_start >= freeze_at and last_start > len(carry):
        return Cut(
            consumed=last_start - len(carry),
            source=src[:last_start],
            carry="",
            rest_token=tops[-1],
        )
    return None
