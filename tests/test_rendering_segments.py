"""Where a growing markdown answer may be frozen, and what the frozen part looks like."""

from __future__ import annotations

from aimo_magic.rendering.markdown import parse, render_markdown
from aimo_magic.rendering.segments import Cut, find_cut


def cut(text: str, carry: str = "", *, freeze_at: int = 64, split_at: int = 128) -> Cut | None:
    tokens, _ = parse(carry + text)
    return find_cut(carry, text, tokens, freeze_at=freeze_at, split_at=split_at)


def test_nothing_is_frozen_below_the_threshold() -> None:
    assert cut("# Title\n\nshort\n", freeze_at=1000) is None


def test_complete_blocks_are_frozen_and_the_last_block_is_kept() -> None:
    text = "# Title\n\n" + "First paragraph. " * 5 + "\n\nStill being writ"
    found = cut(text)
    assert found is not None
    assert text[found.consumed :] == "Still being writ"
    assert found.source == text[: found.consumed]
    assert found.carry == ""
    assert found.rest_token is not None


def test_a_long_open_fence_is_closed_and_reopened() -> None:
    body = "".join(f"x_{i} = {i}\n" for i in range(40))
    text = f"~~~~python linenums\n{body}y = "
    found = cut(text)
    assert found is not None
    assert found.carry == "~~~~python linenums\n"
    assert found.source.endswith("x_39 = 39\n~~~~\n")
    assert text[found.consumed :] == "y = "
    rest = found.carry + text[found.consumed :]
    html = render_markdown(rest)
    assert html.startswith("<pre") and html.endswith(">y = \n</code></pre>\n")


def test_a_long_table_repeats_its_header() -> None:
    text = "| k | v |\n|:--|--:|\n" + "".join(f"| r{i} | {i} |\n" for i in range(30))
    found = cut(text)
    assert found is not None
    assert found.carry == "| k | v |\n|:--|--:|\n"
    assert text[found.consumed :] == "| r29 | 29 |\n"
    assert '<th style="text-align:left">k</th>' in render_markdown(found.carry + "| a | b |\n")


def test_a_long_list_is_split_between_items() -> None:
    text = "".join(f"{i}. item {i}\n" for i in range(1, 30))
    found = cut(text)
    assert found is not None
    assert text[found.consumed :] == "29. item 29\n"
    assert render_markdown(text[found.consumed :]).startswith('<ol start="29">')


def test_a_paragraph_is_never_split_before_a_line_that_would_change_meaning() -> None:
    lines = [f"words on line {i}" for i in range(20)] + ["    indented", "2. not a list"]
    text = "\n".join(lines)
    found = cut(text)
    assert found is not None
    assert text[found.consumed :].startswith("words on line 19\n")


def test_one_enormous_line_is_split_after_a_sentence_with_spans_closed() -> None:
    text = "Start `code` here. " + "More **bold** words here. " * 20
    found = cut(text, freeze_at=64, split_at=128)
    assert found is not None
    head, rest = text[: found.consumed], text[found.consumed :]
    assert head.endswith(". ") and rest[0].isalpha()
    assert head.count("`") % 2 == 0 and head.count("*") % 4 == 0


def test_a_line_whose_spans_never_close_is_left_whole() -> None:
    assert cut("`" + "word " * 200) is None
