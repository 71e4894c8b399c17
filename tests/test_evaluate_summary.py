"""The summary's figures against ones worked out by hand on a small table, and the plot.

The tables here are written out row by row, as ``Evaluation.table`` lays them out, so
each figure of ``summarise`` can be checked against arithmetic done in the test.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from aimo_magic.evaluation.figures import agreement, bootstrap_interval, frontier
from aimo_magic.evaluation.plot import plot_summary
from aimo_magic.evaluation.tables import summarise, table_frame

NAN = math.nan


def answer(
    model: str,
    row: int,
    score: float,
    cost: float,
    *,
    first: float = 0.1,
    total: float = 0.2,
    text: str = "x",
    repeat: int = 0,
    provider: str = "p",
    tokens: tuple[int, int] = (10, 2),
) -> dict[str, Any]:
    return {
        "row": row,
        "model": model,
        "repeat": repeat,
        "answer": text,
        "expected": "x",
        "score": score,
        "status": "answered",
        "error": None,
        "cost": cost,
        "prompt_tokens": tokens[0],
        "completion_tokens": tokens[1],
        "tokens": sum(tokens),
        "first_token": first,
        "latency": total,
        "provider": provider,
        "served_model": model,
        "cached": False,
    }


def failed(model: str, row: int) -> dict[str, Any]:
    return {"row": row, "model": model, "repeat": 0, "status": "failed", "score": 0.0,
            "error": "ServerError: boom (HTTP 500)", "provider": "p"}  # fmt: skip


def not_sent(model: str, row: int) -> dict[str, Any]:
    return {"row": row, "model": model, "repeat": 0, "status": "not sent", "score": NAN}


def small_table() -> Any:
    records = [
        # A: three right of four, one failure; costs 1, 2, 1.
        answer("A", 0, 1.0, 1.0, first=0.5, total=1.0),
        answer("A", 1, 1.0, 2.0, first=1.0, total=2.0),
        failed("A", 2),
        answer("A", 3, 1.0, 1.0, first=1.5, total=3.0),
        # B: all right at 0.5 each: better than A on both counts.
        *(answer("B", r, 1.0, 0.5) for r in range(4)),
        # C: one right of three answered, the fourth not sent, 0.1 each: cheapest.
        answer("C", 0, 0.0, 0.1),
        answer("C", 1, 0.0, 0.1),
        answer("C", 2, 1.0, 0.1),
        not_sent("C", 3),
        # D: right, but its price is unknown.
        answer("D", 0, 1.0, NAN),
        answer("D", 1, 1.0, NAN),
    ]
    return table_frame(records, judged=False)


def test_the_summary_figures_are_the_hand_computed_ones() -> None:
    summary = summarise(small_table(), ["A", "B", "C", "D"])
    a, b, c, d = (summary.loc[m] for m in "ABCD")
    assert (a["rows"], a["failures"], a["score"]) == (4, 1, 0.75)
    assert (a["cost"], a["cost_per_row"]) == (4.0, 1.0)
    assert a["cost_per_correct"] == pytest.approx(4.0 / 3)
    # numpy's linear percentiles: of 1, 2, 3 the median is 2 and the 95th 2 + 0.9 × 1.
    assert (a["time_median"], a["time_p95"]) == (2.0, pytest.approx(2.9))
    assert (a["ttft_median"], a["ttft_p95"]) == (1.0, pytest.approx(1.45))
    assert (a["prompt_tokens"], a["completion_tokens"], a["tokens"]) == (30, 6, 36)
    assert (b["score"], b["cost"], b["cost_per_row"], b["cost_per_correct"]) == (1, 2, 0.5, 0.5)
    assert (b["ci_low"], b["ci_high"]) == (1.0, 1.0)
    assert (c["rows"], c["failures"]) == (3, 0)  # the row not sent does not count
    assert c["score"] == pytest.approx(1 / 3)
    assert c["cost"] == pytest.approx(0.3) and c["cost_per_row"] == pytest.approx(0.1)
    assert c["cost_per_correct"] == pytest.approx(0.3)
    assert math.isnan(d["cost"]) and math.isnan(d["cost_per_correct"])  # never 0 when unknown
    assert d["score"] == 1.0


def test_the_summary_is_sorted_by_score_then_cost_and_marks_the_frontier() -> None:
    summary = summarise(small_table(), ["A", "B", "C", "D"])
    # B and D both score 1: B, whose cost is known and lower, comes first.
    assert list(summary.index) == ["B", "D", "A", "C"]
    # A is beaten by B on both; C is the cheapest; D's cost is unknown.
    assert dict(summary["frontier"]) == {"B": True, "D": False, "A": False, "C": True}
    assert list(summary["model"]) == ["B", "D", "A", "C"]


def test_the_interval_is_the_seeded_bootstrap_of_the_row_scores() -> None:
    summary = summarise(small_table(), ["A", "B", "C", "D"], seed=7)
    scores = np.array([1.0, 1.0, 0.0, 1.0])
    drawn = np.random.default_rng(7).integers(0, 4, size=(2000, 4))
    low, high = np.percentile(scores[drawn].mean(axis=1), [2.5, 97.5])
    assert (summary.loc["A", "ci_low"], summary.loc["A", "ci_high"]) == (low, high)
    assert (low, high) == (0.25, 1.0)  # what these four rows allow: one to four right
    again = summarise(small_table(), ["A", "B", "C", "D"], seed=7)
    assert again.loc["A", "ci_low"] == low  # deterministic


def test_bootstrap_edges() -> None:
    assert all(math.isnan(v) for v in bootstrap_interval([]))
    assert bootstrap_interval([0.4]) == (0.4, 0.4)
    low, high = bootstrap_interval([0.0, 1.0] * 50)
    assert 0.35 < low < 0.5 < high < 0.65


def test_repeats_give_each_row_the_mean_of_its_answers_and_an_agreement() -> None:
    records = [
        answer("E", 0, 1.0, 1.0, text="A", repeat=0),
        answer("E", 0, 1.0, 1.0, text="a ", repeat=1),
        answer("E", 0, 0.0, 1.0, text="B", repeat=2),
        *(answer("E", 1, 0.0, 1.0, text="x", repeat=k) for k in range(3)),
    ]
    summary = summarise(table_frame(records, judged=False), ["E"], repeats=3)
    e = summary.loc["E"]
    assert e["rows"] == 2
    assert e["score"] == pytest.approx((2 / 3 + 0) / 2)
    assert e["agreement"] == pytest.approx((2 / 3 + 1) / 2)
    assert e["cost_per_correct"] == pytest.approx(6.0 / 2)  # six answers, two right
    assert agreement([["a"], ["b", "B"]]) == 1.0  # a row asked once says nothing


def test_the_judge_columns_count_its_spend_and_the_answers_it_could_not_score() -> None:
    records = [
        answer("A", 0, 0.8, 1.0) | {"judge_reason": "ok", "judge_cost": 0.25, "judge_error": None},
        answer("A", 1, NAN, 1.0)
        | {"judge_reason": None, "judge_cost": 0.0, "judge_error": "ServerError: down"},
        answer("A", 2, 0.4, 1.0) | {"judge_reason": "meh", "judge_cost": 0.5, "judge_error": None},
    ]
    summary = summarise(table_frame(records, judged=True), ["A"], judged=True)
    a = summary.loc["A"]
    assert (a["judge_cost"], a["judge_failures"]) == (0.75, 1)
    assert a["rows"] == 2 and a["score"] == pytest.approx(0.6)  # the unjudged row not counted


def test_the_frontier_rule() -> None:
    assert frontier([(0.9, 1.0), (0.9, 1.0)]) == [True, True]  # equal points beat neither
    assert frontier([(0.9, 1.0), (0.9, 2.0), (0.5, 0.5)]) == [True, False, True]
    assert frontier([(NAN, 1.0), (0.2, NAN), (0.1, 5.0)]) == [False, False, True]


def test_the_plot_draws_every_priced_model_and_the_frontier_line() -> None:
    summary = summarise(small_table(), ["A", "B", "C", "D"])
    figure = plot_summary(summary)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n" and len(buffer.getvalue()) > 5000
    ax = figure.axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == "frontier")
    assert list(line.get_xdata()) == pytest.approx([0.1, 0.5])  # C then B, by cost
    assert list(line.get_ydata()) == pytest.approx([1 / 3, 1.0])
    labels = [text.get_text() for text in ax.texts]
    assert sorted(labels) == ["A", "B", "C"]  # D has no price: named in the title instead
    assert "D" in ax.get_title()


def test_matplotlib_is_imported_only_for_a_plot() -> None:
    code = (
        "import sys, aimo_magic\n"
        "from aimo_magic.evaluation import tables, api\n"
        "assert aimo_magic.evaluate is api.evaluate\n"
        "assert 'matplotlib' not in sys.modules, 'imported early'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
