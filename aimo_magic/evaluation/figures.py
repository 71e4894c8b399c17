"""The summary's statistics: a seeded bootstrap interval, percentiles, agreement, the frontier.

Plain functions over numbers (numpy, which pandas brings), so that each figure can be
checked by hand on a small table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95


def bootstrap_interval(
    scores: Sequence[float], *, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of ``scores`` (one per data row).

    Deterministic: ``numpy.random.default_rng(seed)`` draws ``samples`` resamples of the
    rows with replacement, all at once; the interval is the 2.5th and 97.5th
    percentiles of their means (numpy's linear interpolation). NaN for no scores.
    """
    import numpy as np

    values = np.asarray([s for s in scores if not math.isnan(s)], dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    if values.size == 1 or np.all(values == values[0]):
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, values.size, size=(samples, values.size))
    means = values[drawn].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def percentile(values: Sequence[float], q: float) -> float:
    """numpy's linear-interpolation percentile of the values that are not NaN (NaN if none)."""
    import numpy as np

    kept = [v for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return math.nan
    return float(np.percentile(np.asarray(kept, dtype=float), q))


def agreement(answers: Sequence[Sequence[str]]) -> float:
    """How stable repeated answers are: per row, the share of its answers that equal its
    most common one (case and whitespace folded), averaged over rows with two or more."""
    from aimo_magic.evaluation.scorers import normalise

    shares = []
    for repeated in answers:
        if len(repeated) < 2:
            continue
        counts = Counter(normalise(a) for a in repeated)
        shares.append(counts.most_common(1)[0][1] / len(repeated))
    return sum(shares) / len(shares) if shares else math.nan


def frontier(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (score, cost) points: True where no other point is at least as good on both
    and better on one (higher score, lower cost). A point with an unknown (NaN) score or
    cost is never on the frontier, and beats nothing."""

    def known(point: tuple[float, float]) -> bool:
        return not (math.isnan(point[0]) or math.isnan(point[1]))

    marks = []
    for score, cost in points:
        if not known((score, cost)):
            marks.append(False)
            continue
        beaten = any(
            known((other_score, other_cost))
            and other_score >= score
            and other_cost <= cost
            and (other_score > score or other_cost < cost)
            for other_score, other_cost in points
        )
        marks.append(not beaten)
    return marks


def mean(values: Sequence[Any]) -> float:
    kept = [float(v) for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan
