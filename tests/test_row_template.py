"""A ``%%aimo --each`` cell turned into a batch template, without a kernel."""

from __future__ import annotations

import pytest

from aimo_magic.batching.template import Template
from aimo_magic.magics.interpolate import InterpolationError
from aimo_magic.magics.row_template import row_template

NAMESPACE = {"tone": "dry", "limit": 3, "name": "NOT-A-ROW"}


def test_row_fields_win_other_placeholders_are_filled_once_and_braces_stay() -> None:
    cell = 'Write {limit} {tone} lines on {name} ({price:.2f}); keep {{x}}, {"a": 1} and `f"{y}"`'
    template = row_template(cell, NAMESPACE, ["name", "price"])
    assert Template(template).fill({"name": "lamp", "price": 4}) == (
        'Write 3 dry lines on lamp (4.00); keep {x}, {"a": 1} and `f"{y}"`'
    )


def test_plain_value_rows_keep_the_empty_placeholder() -> None:
    template = row_template("Define {} in a {tone} way", NAMESPACE, None)
    assert Template(template).fill("tide") == "Define tide in a dry way"


def test_a_bare_name_that_is_neither_field_nor_variable_is_refused() -> None:
    with pytest.raises(InterpolationError, match=r"\{nmae\} names no field of df's rows"):
        row_template("About {nmae}", NAMESPACE, ["name"], rows="df's rows")
    with pytest.raises(InterpolationError, match=r"plain values: write \{\} for the row"):
        row_template("About {word}", NAMESPACE, None)


def test_no_interpolate_keeps_notebook_placeholders_literally() -> None:
    template = row_template("{tone} {name} {missing}", NAMESPACE, ["name"], fill=False)
    assert Template(template).fill({"name": "lamp"}) == "{tone} lamp {missing}"
