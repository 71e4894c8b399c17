"""Prompts over data: one template asked of every row, concurrently, resumably.

The package is ``batching`` so that ``aimo_magic.batch`` can stay the function.
``aimo_magic.batch(template, data, ...)`` returns the answers shaped like ``data``;
``aimo_magic.Batch(...)`` is the same with ``.estimate()`` first and ``.errors``,
``.usage``, ``.cost``, ``.elapsed`` after. pandas and dask are imported only when the
data is a pandas or dask object.

Modules: ``template`` (the placeholders), ``rows`` (input and output shapes),
``answers`` (text, JSON, schemas), ``engine`` (the async requests), ``gate`` (shared
backoff), ``costs`` and ``estimate`` (prices), ``progress``, ``runner`` (from blocking
code and notebooks), ``stored`` and ``positions`` (the answer cache), ``on_dask``,
``api``. Where the requests go (key, model, session) is ``core.resolution``'s to decide.
"""

from __future__ import annotations

from aimo_magic.batching.api import Batch, batch
from aimo_magic.batching.estimate import Estimate
from aimo_magic.batching.outcome import BatchError, BatchInterrupted, RowError
from aimo_magic.batching.template import TemplateError

__all__ = [
    "Batch",
    "BatchError",
    "BatchInterrupted",
    "Estimate",
    "RowError",
    "TemplateError",
    "batch",
]
