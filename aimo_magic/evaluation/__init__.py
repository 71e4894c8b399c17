"""Evaluations: which model (and which provider) is good enough for my data, for the least.

``aimo_magic.evaluate(template, data, models=[...], expected=..., score=...)`` returns an
:class:`Evaluation`: ``.estimate()``, ``.run()``, then ``.summary`` (one row per model,
sorted, the frontier marked), ``.table`` (one row per answer), ``.plot()`` and
``.best()``. It is a use of the batch engine, not a second one: every model's rows run
on one engine's concurrency, shared 429 backoff, ``max_cost`` and answer cache.

Modules: ``cases`` (rows and expected values), ``scorers``, ``judge``, ``lanes`` (the
models' engines run as one), ``estimate``, ``tables`` (the table and the summary),
``figures`` (bootstrap, percentiles, agreement, frontier), ``plot``, ``on_dask``, ``api``.
pandas is needed (the results are DataFrames); matplotlib only for ``plot()``.
"""

from __future__ import annotations

from aimo_magic.evaluation.api import (
    Evaluation,
    EvaluationError,
    EvaluationInterrupted,
    evaluate,
)
from aimo_magic.evaluation.estimate import EvaluationEstimate
from aimo_magic.evaluation.scorers import ScoreError

__all__ = [
    "Evaluation",
    "EvaluationError",
    "EvaluationEstimate",
    "EvaluationInterrupted",
    "ScoreError",
    "evaluate",
]
