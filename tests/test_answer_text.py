"""One reading of JSON answers: a ``%%aimo -f json`` cell and a batch row agree."""

from __future__ import annotations

import json

import pytest

from aimo_magic.batching.answers import AnswerFormat, AnswerFormatError
from aimo_magic.rendering.bundles import FormatError, render_bundle

ANSWERS = {
    "bare": '{"city": "Lisbon"}',
    "fenced": '```json\n{"city": "Lisbon"}\n```',
    "fenced, untagged, blank around": '\n  ```\n{"city": "Lisbon"}\n```\n',
    "tilde fence": '~~~json\n{"city": "Lisbon"}\n~~~',
    "a sentence around the block": 'Here it is:\n\n```json\n{"city": "Lisbon"}\n```\nDone.',
    "cut short, fence left open": '```json\n{"city": "Lisbon"}\n',
}


@pytest.mark.parametrize("text", ANSWERS.values(), ids=ANSWERS.keys())
def test_the_cell_and_the_batch_read_the_same_value(text: str) -> None:
    shown = render_bundle(text, "json")
    row = AnswerFormat("json").parse(text)
    assert shown["application/json"] == row == {"city": "Lisbon"}
    assert json.loads(shown["text/plain"]) == row


@pytest.mark.parametrize("text", ["Lisbon.", '```json\n{"city": \n```'])
def test_text_that_is_not_json_is_refused_by_both(text: str) -> None:
    with pytest.raises(FormatError):
        render_bundle(text, "json")
    with pytest.raises(AnswerFormatError, match="not valid JSON"):
        AnswerFormat("json").parse(text)
