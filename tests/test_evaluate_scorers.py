"""Each named scorer, and the user's callable, on answers written out by hand."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from aimo_magic.evaluation.scorers import (
    Choice,
    ScoreError,
    number_in,
    scorer_for,
)


def score(name: Any, answer: str, expected: Any, row: Any = None, **options: Any) -> float:
    return scorer_for(name, **options)(answer, expected, row)


def test_exact_folds_case_and_whitespace_only() -> None:
    assert score("exact", "  Billing\n", "billing") == 1.0
    assert score("exact", "BUG  report", "bug report") == 1.0
    assert score("exact", "Billing.", "billing") == 0.0  # punctuation is not folded
    assert score("exact", "billing issue", "billing") == 0.0


def test_contains_finds_the_expected_text_in_the_answer() -> None:
    assert score("contains", "I think it is a Billing   question.", "billing question") == 1.0
    assert score("contains", "A bug.", "billing") == 0.0


def test_regex_finds_the_pattern_and_with_a_group_compares_it() -> None:
    assert score(r"regex:\bcat\b", "The cat sat.", None) == 1.0
    assert score(r"regex:\bcat\b", "concatenate", None) == 0.0
    grouped = r"regex:label:\s*(\w+)"
    assert score(grouped, "label: Bug", "bug") == 1.0
    assert score(grouped, "label: billing", "bug") == 0.0
    assert score(grouped, "no label here", "bug") == 0.0
    with pytest.raises(ScoreError, match=r"does not compile"):
        scorer_for("regex:(unclosed")


def test_number_reads_the_answer_and_compares_within_the_tolerance() -> None:
    assert number_in("42") == 42.0
    assert number_in("The answer is 1,234.5.") == 1234.5
    assert number_in("from 3 to −7") == -7.0
    assert number_in("no digits") is None
    assert score("number", "The total is 12.", 12) == 1.0
    assert score("number", "12.0", "12") == 1.0
    assert score("number", "12.01", 12) == 0.0
    assert score("number:0.05", "12.04", 12) == 1.0
    assert score("number:0.05", "12.06", 12) == 0.0
    assert score("number", "twelve", 12) == 0.0
    with pytest.raises(ScoreError, match=r"tolerance must be a number"):
        scorer_for("number:lots")


SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["bug", "billing"]}, "urgent": {}},
    "required": ["label"],
}


def test_json_parses_validates_and_compares_field_by_field() -> None:
    assert score("json", '{"label": "bug"}', None, schema=SCHEMA) == 1.0
    assert score("json", '```json\n{"label": "bug"}\n```', None, schema=SCHEMA) == 1.0
    assert score("json", '{"label": "spam"}', None, schema=SCHEMA) == 0.0  # not in the enum
    assert score("json", '{"urgent": true}', None, schema=SCHEMA) == 0.0  # label required
    assert score("json", "not json", None) == 0.0
    assert score("json", "[1, 2]", None) == 0.0  # JSON, but not an object
    expected = {"label": "Bug", "urgent": True}
    assert score("json", '{"label": "bug", "urgent": true}', expected, schema=SCHEMA) == 1.0
    assert score("json", '{"label": "bug", "urgent": false}', expected, schema=SCHEMA) == 0.5
    assert score("json", '{"label": "billing"}', expected, schema=SCHEMA) == 0.0


def test_json_validates_against_a_pydantic_class() -> None:
    class Ticket(BaseModel):
        label: str
        urgent: bool

    assert score("json", '{"label": "bug", "urgent": true}', None, schema=Ticket) == 1.0
    assert score("json", '{"label": "bug"}', None, schema=Ticket) == 0.0


def test_choice_needs_exactly_one_option_named_and_the_right_one() -> None:
    named = "choice:billing,bug,question"
    assert score(named, "Bug", "bug") == 1.0
    assert score(named, "This is a bug.", "bug") == 1.0
    assert score(named, "billing", "bug") == 0.0
    assert score(named, "a bug or a billing issue", "bug") == 0.0  # two options named
    assert score(named, "debugging", "bug") == 0.0  # whole words only
    assert score(named, "no idea", "bug") == 0.0
    assert score("choice", "bug", "bug", choices=["bug", "billing"]) == 1.0
    from_data = scorer_for("choice", expected_values=lambda: ["bug", "billing", "bug", None])
    assert isinstance(from_data, Choice) and from_data.options == ("bug", "billing")
    with pytest.raises(ScoreError, match=r"needs two options or more"):
        scorer_for("choice", expected_values=lambda: ["bug", "bug"])


def test_a_callable_gets_answer_expected_and_row_and_its_bool_or_number_is_the_score() -> None:
    seen: list[tuple[Any, ...]] = []

    def starts_right(answer: str, expected: Any, row: Any) -> bool:
        seen.append((answer, expected, row))
        return answer.startswith(expected)

    assert score(starts_right, "bug: crash", "bug", {"text": "it crashed"}) == 1.0
    assert score(starts_right, "billing", "bug", {"text": "x"}) == 0.0
    assert seen[0] == ("bug: crash", "bug", {"text": "it crashed"})
    assert score(lambda a, e, r: 0.25, "x", None) == 0.25
    with pytest.raises(ScoreError, match=r"returned str 'yes'"):
        score(lambda a, e, r: "yes", "x", None)


def test_an_unknown_scorer_is_refused_naming_the_ones_there_are() -> None:
    with pytest.raises(ScoreError, match=re.escape("score='exactly' names no scorer; use one of")):
        scorer_for("exactly")
    with pytest.raises(ScoreError, match=r"not int"):
        scorer_for(3)
