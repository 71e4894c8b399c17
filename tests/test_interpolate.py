"""``{placeholders}`` in prompts: prose is filled, pasted code is left as written."""

from __future__ import annotations

from typing import Any

import pytest

from aimo_magic.magics.interpolate import InterpolationError, interpolate


class Frame:
    """Enough of a DataFrame for a placeholder: a repr and a method."""

    def __repr__(self) -> str:
        return "FRAME"

    def describe(self) -> str:
        return "DESCRIBED"

    def __len__(self) -> int:
        return 3


NS: dict[str, Any] = {"name": "Alice", "d": {"a": 1}, "df": Frame(), "title": "Dune", "n": 2}


@pytest.mark.parametrize(
    "code",
    [
        'return f"Hello {name}!"',
        "print(f\"{d['a']} rows={len(df)}\")",
        "msg = F'{name}' + rf\"{name}\\n\"",
        'greeting = "Hello {name}".format(name=user)',
        "'{name} has {n}'.format_map(row)",
        'template = "Dear {name},"\nletter = template.format(name="Bob")',
        'print("{name}")',
        'log.info("rows: {n}")',
        'x = {"key": "{name}"}',
        'query = f"""\nSELECT * FROM t\nWHERE owner = {name}\n"""',
        'def greet(name):\n    return f"Hello {name}!"',
        'if label == "{title}":\n    pass',
        'f"{{name}} stays doubled"',
    ],
)
def test_placeholders_in_pasted_code_stay_as_written(code: str) -> None:
    assert interpolate(code, NS) == code
    prompt = f"Why does this not work?\n\n{code}\n\nThanks, {{name}}."
    assert interpolate(prompt, NS) == f"Why does this not work?\n\n{code}\n\nThanks, Alice."


@pytest.mark.parametrize(
    "code",
    [
        'print(f"hi {name}")',
        'print("{name}".format(name=x))',
        'rows = [\n    "{name}",\n    "{title}",\n]',
    ],
)
def test_code_in_a_fence_stays_as_written(code: str) -> None:
    prompt = f"Explain {{title}}:\n```python\n{code}\n```\n"
    assert interpolate(prompt, NS) == f"Explain Dune:\n```python\n{code}\n```\n"


@pytest.mark.parametrize(
    ("prose", "filled"),
    [
        ("What stands out? {df.describe()}", "What stands out? DESCRIBED"),
        ('Translate "{title}" into French.', 'Translate "Dune" into French.'),
        ('Title: "{title}"\nAuthor: {name}', 'Title: "Dune"\nAuthor: Alice'),
        ("- '{title}' by {name}", "- 'Dune' by Alice"),
        ("It's {name}'s turn, isn't it?", "It's Alice's turn, isn't it?"),
        ("```\n{df}\n```", "```\nFRAME\n```"),
        ("The data: {df}\nf'(x) is {n}", "The data: FRAME\nf'(x) is 2"),
        ("Costs ${n}, keep {{name}}", "Costs $2, keep {name}"),
    ],
)
def test_placeholders_in_prose_are_filled(prose: str, filled: str) -> None:
    assert interpolate(prose, NS) == filled


def test_an_expression_that_raises_still_says_so() -> None:
    with pytest.raises(InterpolationError, match="KeyError"):
        interpolate("Value: {d['missing']}", NS)


def test_a_code_line_inside_prose_keeps_its_strings_and_the_prose_is_filled() -> None:
    prompt = "Here is the line:\nx = '{name}' + str(n)\nand the book is {title}, it's {n}"
    assert interpolate(prompt, NS) == (
        "Here is the line:\nx = '{name}' + str(n)\nand the book is Dune, it's 2"
    )


def test_a_fence_of_prose_is_read_as_prose() -> None:
    prompt = "```\nIt's '{title}' by {name}\n```\nand ```` unclosed {n}"
    assert interpolate(prompt, NS) == "```\nIt's 'Dune' by Alice\n```\nand ```` unclosed 2"


def test_a_long_prompt_is_read_in_one_pass() -> None:
    """Thousands of lines of mixed code and prose: every line judged, nothing skipped."""
    block = 'print(f"{name}")\nThe title is {title}.\n\n'
    prompt = block * 300
    assert interpolate(prompt, NS) == 'print(f"{name}")\nThe title is Dune.\n\n' * 300


def test_each_fill_says_what_it_became_and_pandas_shortening_is_a_warning() -> None:
    import numpy as np
    import pandas as pd

    from aimo_magic.magics.interpolate import interpolate_with_fills

    ns = {
        "df": pd.DataFrame(np.zeros((200_000, 5)), columns=list("abcde")),
        "small": pd.DataFrame({"x": [1, 2, 3]}),
        "s": pd.Series(range(1000)),
        "name": "Alice",
        "rows": [1, 2, 3],
    }
    text, fills = interpolate_with_fills("{df} {small} {s} {name} {rows} {len(rows)} {df}", ns)
    assert text.count("[200000 rows x 5 columns]") == 2
    lines = [fill.summary() for fill in fills]
    assert len(lines) == 6, "each expression once"
    big = lines[0]
    assert big.startswith("{df} → DataFrame 200,000×5, sent as 10 rows (") and big.endswith(
        f"({len(str(ns['df'])):,} chars)"
    )
    assert lines[1] == f"{{small}} → DataFrame 3×1 ({len(str(ns['small']))} chars)"
    assert lines[2].startswith("{s} → Series of 1,000, sent as 10 values")
    assert lines[3:] == [
        "{name} → str (5 chars)",
        "{rows} → list of 3 (9 chars)",
        "{len(rows)} → int (1 char)",
    ]
    warnings = [fill.warning for fill in fills if fill.warning]
    assert len(warnings) == 2
    assert "10 of 200,000 rows" in warnings[0] and "{df.to_csv()}" in warnings[0]
    assert fills[1].warning is None


def test_placeholders_left_as_written_are_reported_with_the_reason() -> None:
    from aimo_magic.magics.interpolate import interpolate_with_fills

    prompt = (
        "Hi {name}, {undefined_var} and {1/0}, {len(nowhere)} {undefined_var} "
        '{a + b}; JSON {"a": 1}, a set {1, 2}, math e^{-1} and x^{2}, {{escaped}}'
    )
    text, fills = interpolate_with_fills(prompt, NS)
    assert text.startswith("Hi Alice, {undefined_var} and {1/0}, {len(nowhere)}")
    assert [fill.summary() for fill in fills] == [
        "{name} → str (5 chars)",
        "{undefined_var} left as written: undefined_var is not defined",
        "{1/0} left as written: it uses none of your variables "
        "(only expressions over them are filled)",
        "{len(nowhere)} left as written: nowhere is not defined",
        "{a + b} left as written: a and b are not defined",
    ]
    assert all(fill.warning is None for fill in fills)


def test_wide_frames_say_columns_were_left_out() -> None:
    import numpy as np
    import pandas as pd

    from aimo_magic.magics.interpolate import interpolate_with_fills

    _, [fill] = interpolate_with_fills("{wide}", {"wide": pd.DataFrame(np.zeros((5, 40)))})
    assert fill.sent == "some columns" and fill.warning and "columns" in fill.warning
