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
