"""The evaluation's two DataFrames: ``table`` (one row per answer) and ``summary``.

The summary is worked out from the table alone (so a table from dask partitions gives
it the same way, and each figure can be checked by hand):

- ``rows``: data rows with an answer or a failure; ``score``: the mean over those rows
  of each row's score (the mean of its repeats), a failed answer scoring 0 and an
  answer not sent (or not judged) not counting; ``ci_low``/``ci_high``: its seeded 95%
  bootstrap interval over the rows (``figures.bootstrap_interval``);
- ``failures``: answers that failed; ``cost``: what the answers cost at the listed
  prices (a cached answer counts what it cost when it was asked; NaN when some price
  is unknown, never 0); ``cost_per_row``: ``cost / rows``; ``cost_per_correct``:
  ``cost`` over the sum of the answers' scores (infinite with none right);
- ``ttft_median``/``ttft_p95`` and ``time_median``/``time_p95``: seconds to the first
  token and to the whole answer, over the answers received (a cached or replayed answer
  counts the seconds measured when it was first answered; one replayed from a line
  without them counts as unknown, NaN, never 0);
- ``prompt_tokens``, ``completion_tokens``, ``tokens``; ``agreement`` with repeats (see
  ``figures.agreement``); with a judge, ``judge_cost`` (what the judge's verdicts on
  this model's answers cost) and ``judge_failures`` (answers it could not score);
- ``frontier``: no other model has a score at least as high and a cost per row at most
  as low, and one of them strictly.

Sorted by score (highest first), then cost per row (lowest first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from aimo_magic.evaluation.figures import (
    agreement,
    bootstrap_interval,
    frontier,
    mean,
    percentile,
)

ANSWERED, FAILED, NOT_SENT = "answered", "failed", "not sent"
TABLE_COLUMNS = (
    "row",
    "model",
    "repeat",
    "answer",
    "expected",
    "score",
    "status",
    "error",
    "cost",
    "prompt_tokens",
    "completion_tokens",
    "tokens",
    "first_token",
    "latency",
    "provider",
    "served_model",
    "cached",
)
JUDGE_COLUMNS = ("judge_reason", "judge_cost", "judge_error")


def table_frame(records: list[dict[str, Any]], judged: bool) -> Any:
    """The answers' records as the ``table`` DataFrame, columns in a fixed order."""
    import pandas as pd

    columns = list(TABLE_COLUMNS) + (list(JUDGE_COLUMNS) if judged else [])
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("score", "cost", "first_token", "latency") + (("judge_cost",) if judged else ()):
        frame[column] = frame[column].astype("float64")
    for column in ("prompt_tokens", "completion_tokens", "tokens"):
        frame[column] = frame[column].astype("Int64")
    frame["cached"] = frame["cached"].astype("boolean")
    return frame


def summarise(
    table: Any,
    order: Sequence[str],
    *,
    model_ids: dict[str, str] | None = None,
    providers: dict[str, str | None] | None = None,
    seed: int = 0,
    repeats: int = 1,
    judged: bool = False,
) -> Any:
    """One row per model label in ``order`` (see the module's docstring for each figure)."""
    import pandas as pd

    rows = []
    for label in order:
        part = table[table["model"] == label]
        rows.append(
            _figures(part, label, (model_ids or {}).get(label, label), providers, seed, repeats)
            | (_judge_figures(part) if judged else {})
        )
    frame = pd.DataFrame.from_records(rows)
    if frame.empty:
        return frame
    marks = frontier(list(zip(frame["score"], frame["cost_per_row"], strict=True)))
    frame["frontier"] = marks
    frame = frame.sort_values(
        ["score", "cost_per_row"], ascending=[False, True], na_position="last", kind="stable"
    )
    return frame.set_index("label").rename_axis(None)


def _figures(
    part: Any,
    label: str,
    model_id: str,
    providers: dict[str, str | None] | None,
    seed: int,
    repeats: int,
) -> dict[str, Any]:
    done = part[part["status"] != NOT_SENT]
    answered = part[part["status"] == ANSWERED]
    row_scores = [mean(list(group)) for _, group in done.groupby("row", sort=False)["score"]]
    row_scores = [s for s in row_scores if not math.isnan(s)]
    low, high = bootstrap_interval(row_scores, seed=seed)
    cost = _total(answered["cost"])
    rows_done = len(row_scores)
    right = float(done["score"].fillna(0).sum())
    figures: dict[str, Any] = {
        "label": label,
        "model": model_id,
        "provider": _provider(label, answered, providers),
        "rows": rows_done,
        "score": mean(row_scores),
        "ci_low": low,
        "ci_high": high,
        "failures": int((part["status"] == FAILED).sum()),
        "cost": cost,
        "cost_per_row": cost / rows_done if rows_done else math.nan,
        "cost_per_correct": (cost / right if right else math.inf) if not math.isnan(cost) else cost,
        "ttft_median": percentile(list(answered["first_token"]), 50),
        "ttft_p95": percentile(list(answered["first_token"]), 95),
        "time_median": percentile(list(answered["latency"]), 50),
        "time_p95": percentile(list(answered["latency"]), 95),
        "prompt_tokens": int(answered["prompt_tokens"].fillna(0).sum()),
        "completion_tokens": int(answered["completion_tokens"].fillna(0).sum()),
        "tokens": int(answered["tokens"].fillna(0).sum()),
    }
    if repeats > 1:
        figures["agreement"] = agreement(
            [list(group) for _, group in answered.groupby("row", sort=False)["answer"]]
        )
    return figures


def _judge_figures(part: Any) -> dict[str, Any]:
    """The judge's spend on this model's answers (a judge request that failed costs 0, as
    in every batch; NaN when the judge's price is unknown) and the verdicts it missed."""
    asked = part[part["judge_reason"].notna() | part["judge_error"].notna()]
    return {
        "judge_cost": _total(asked["judge_cost"]),
        "judge_failures": int(asked["judge_error"].notna().sum()),
    }


def _total(costs: Any) -> float:
    """The sum of the costs; NaN when any is unknown (money is never counted as 0)."""
    values = [float(c) for c in costs]
    if any(math.isnan(c) for c in values):
        return math.nan
    return float(sum(values))


def _provider(label: str, answered: Any, providers: dict[str, str | None] | None) -> str | None:
    """The pinned provider's name; for a routing name, the providers that served it."""
    pinned = (providers or {}).get(label)
    if pinned:
        return pinned
    served = [p for p in dict.fromkeys(answered["provider"].dropna()) if p]
    return ", ".join(served) if served else None
