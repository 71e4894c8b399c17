"""Each row of a batch as it went: the provider that answered it, from the cache or not.

A batch spread over providers (``providers=``, ``model="NAME@*"``) answers each row from
one of them; this table says which, row by row, so a slow or failing provider's share
can be looked at, and priced, on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.batching.outcome import RowError
    from aimo_magic.batching.rows import Rows
    from aimo_magic.core.types import Model

COLUMNS = ("row", "model", "provider", "status", "error")


def row_details(
    rows: Rows,
    served: Sequence[str | None],
    values: Sequence[Any],
    errors: Sequence[RowError],
    catalogue: Sequence[Model],
) -> Any:
    """One record per row (``COLUMNS``): ``model`` is the id that answered, ``provider``
    its provider's listed name (None for a routing name's answer, or a row not answered),
    ``status`` ``answered``, ``failed`` or ``not sent``."""
    from aimo_magic.core.catalogue import provider_name

    failed = {error.index: error for error in errors}
    records = []
    for position in range(len(rows)):
        label = rows.label(position)
        model = served[position]
        error = failed.get(label)
        status = "answered" if values[position] is not None else "failed" if error else "not sent"
        records.append(
            {
                "row": label,
                "model": model,
                "provider": provider_name(catalogue, model) if model else None,
                "status": status,
                "error": f"{error.error}: {error.message}" if error else None,
            }
        )
    if rows.index is None:
        return records
    import pandas as pd

    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS), index=rows.index)
    return frame.drop(columns="row")
