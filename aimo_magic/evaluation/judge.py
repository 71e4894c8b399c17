"""A judge model that scores answers: ``judge="MODEL"`` with ``rubric=``.

Each answer becomes one row of a second batch, asked of the judge through a JSON
Schema (a score from 0 to 1 and a one-sentence reason), on the same engine, client,
cache and ``max_cost`` as the answers. So the judge's answers are cached like any
other (a re-run asks the judge nothing), and its requests are counted and priced apart
from the models'. A verdict the judge could not give (an error, JSON that does not fit)
leaves that answer unscored, never scored 0: it is the judge's failure, not the model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

JUDGE_TEMPLATE = """You are grading one answer to a task.
Score it from 0 (wrong or useless) to 1 (fully right) by the rubric, and give a one-sentence reason.

Rubric: {rubric}

The task:
{question}

{reference}The answer to grade:
{answer}"""
"""The judge's prompt; ``reference`` is the expected answer's paragraph, or nothing."""

JUDGE_SCHEMA: dict[str, Any] = {
    "title": "verdict",
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
    },
    "required": ["score", "reason"],
    "additionalProperties": False,
}
JUDGE_PARAMS: dict[str, Any] = {"temperature": 0}
"""The judge is asked to be as repeatable as its server allows."""


@dataclass(frozen=True)
class Verdict:
    """The judge's score (0..1) and reason for one answer."""

    score: float
    reason: str


def judge_row(rubric: str, question: str, answer: str, expected: Any) -> dict[str, str]:
    """One judge request's fields for ``JUDGE_TEMPLATE``."""
    reference = "" if expected is None else f"A reference answer:\n{expected}\n\n"
    return {"rubric": rubric, "question": question, "answer": answer, "reference": reference}


def verdict_of(value: Any) -> Verdict | str:
    """The judge's parsed JSON as a verdict, or why it is not one (one line)."""
    if not isinstance(value, dict):
        return "the judge did not answer with a JSON object"
    score = value.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
        return f"the judge's score is not a number ({score!r})"
    if not 0 <= score <= 1:
        return f"the judge's score {score!r} is outside 0..1"
    return Verdict(float(score), str(value.get("reason") or ""))


def check_judge(judge: Any, rubric: Any, score: Any, score_given: bool) -> None:
    """Refuse a judge without a rubric, a rubric without a judge, a judge beside ``score=``."""
    if judge is None:
        if rubric is not None:
            raise ValueError("rubric= goes with judge='MODEL' (the model that scores answers).")
        return
    if not isinstance(judge, str) or not judge.strip():
        raise ValueError(f"judge must be a model id or alias, not {judge!r}.")
    if not isinstance(rubric, str) or not rubric.strip():
        raise ValueError(
            "judge= needs rubric='...': what the judge should look for in a good answer."
        )
    if score_given:
        raise ValueError(
            f"judge= scores the answers, so score={score!r} would not be used; give one of them."
        )
