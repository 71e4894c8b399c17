"""The rows a batch asks about, whatever shape they came in, and how to shape answers back.

A list gives a list; a pandas Series or DataFrame gives a Series (or, for JSON answers,
a DataFrame) on the same index. pandas is imported only when the data already is a
pandas object, so a batch over a plain list never pays for it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aimo_magic.batching.template import Template, TemplateError

if TYPE_CHECKING:
    import pandas as pd

DATA_KINDS = "a list (of strings or of dicts), a pandas Series or DataFrame, or a dask one"


def is_pandas(data: Any) -> bool:
    if "pandas" not in sys.modules:
        return False
    import pandas as pd

    return isinstance(data, (pd.Series, pd.DataFrame))


def is_dask(data: Any) -> bool:
    if "dask.dataframe" not in sys.modules:
        return False
    import dask.dataframe as dd

    return isinstance(data, (dd.DataFrame, dd.Series))


def field_names(data: Any) -> list[str] | None:
    """The fields ``{column}`` may name in ``data``'s rows; None for rows of plain values.

    For a list of dicts, the fields of its first row (the template check names any
    row that lacks one).
    """
    if is_pandas(data) or is_dask(data):
        return [str(c) for c in data.columns] if hasattr(data, "columns") else None
    if isinstance(data, Sequence) and data and isinstance(data[0], Mapping):
        return [str(k) for k in data[0]]
    return None


def messages_for(system: str | None, prompt: str) -> list[dict[str, Any]]:
    """One row's messages: the batch's system prompt, then the row's prompt."""
    user = {"role": "user", "content": prompt}
    return [{"role": "system", "content": system}, user] if system else [user]


class Rows:
    """Rows as the engine needs them: how many, each one's prompt, each one's label."""

    def __init__(self, data: Any) -> None:
        self.index: pd.Index | None = None
        self.name: Any = None
        self.frame = False
        self._columns: dict[str, list[Any]] = {}
        self._values: list[Any] | None = None
        self._records: list[Mapping[str, Any]] | None = None
        self._frame_records: list[dict[str, Any]] | None = None
        if is_pandas(data):
            self._from_pandas(data)
        elif not _listlike(data):
            raise TemplateError(
                f"data must be {DATA_KINDS}, not {type(data).__name__}"
                + (" (a single string: put it in a list)" if isinstance(data, str) else "")
                + "."
            )
        else:
            items = list(data)
            if items and all(isinstance(item, Mapping) for item in items):
                self._records = items
            elif any(isinstance(item, Mapping) for item in items):
                raise TemplateError(
                    "data mixes records (dicts) with plain values; give one kind of row."
                )
            else:
                self._values = items
        self.length = len(self.index) if self.index is not None else len(self._items())

    def _from_pandas(self, data: Any) -> None:
        import pandas as pd

        self.index = data.index
        if isinstance(data, pd.DataFrame):
            self.frame = True
            self._frame = data
        else:
            self.name = data.name
            self._values = data.tolist()

    def _items(self) -> list[Any]:
        return self._values if self._values is not None else self._records or []

    @property
    def records(self) -> bool:
        """Rows that fill ``{column}`` (a DataFrame, a list of dicts), not ``{}``."""
        return self.frame or self._records is not None

    def __len__(self) -> int:
        return self.length

    def bind(self, template: Template) -> None:
        """Check every placeholder against the rows (before anything is sent)."""
        if self.frame:
            by_name = {str(c): c for c in self._frame.columns}
            template.check(list(by_name), "the DataFrame's rows")
            self._columns = {f: self._frame[by_name[f]].tolist() for f in template.fields}
        elif self._records is not None:
            for position, record in enumerate(self._records):
                keys = [str(k) for k in record]
                template.check(keys, "the rows" if position == 0 else f"row {position}")
        else:
            template.check(None)
        self._template = template

    def prompt(self, position: int) -> str:
        return self._template.fill(self._row(position))

    def least_chars(self, position: int) -> int:
        """A lower bound of the length of ``prompt(position)``, formatting nothing."""
        return self._template.least_chars(self._row(position))

    def _row(self, position: int) -> Any:
        """What the template fills: the value, or the record as a mapping of its fields."""
        if self.frame:
            return {f: values[position] for f, values in self._columns.items()}
        if self._records is not None:
            return {str(k): v for k, v in self._records[position].items()}
        return self._items()[position]

    def row(self, position: int) -> Any:
        """The row itself: a DataFrame's row as a dict of its columns, a record, or a value."""
        if self.frame:
            if self._frame_records is None:  # made once, on first use
                self._frame_records = [
                    {str(k): v for k, v in record.items()}
                    for record in self._frame.to_dict("records")
                ]
            return self._frame_records[position]
        return self._items()[position]

    def label(self, position: int) -> Any:
        """What ``.errors`` calls a row: its index label, or its position in a list."""
        if self.index is not None:
            label = self.index[position]
            return label.item() if hasattr(label, "item") else label
        return position

    def shape(self, values: list[Any], columns: Sequence[str] | None, dtypes: Any = None) -> Any:
        """Answers shaped like the input: ``columns`` is set for parsed (JSON) answers."""
        if self.index is None:
            return values
        import pandas as pd

        if columns is None:
            return pd.Series(values, index=self.index, dtype="string", name=self.name)
        return frame_of(values, self.index, columns, dtypes)


def _listlike(data: Any) -> bool:
    """A sequence of rows (numpy arrays too, checked without importing numpy); not a string."""
    if isinstance(data, (str, bytes)):
        return False
    return isinstance(data, Sequence) or (hasattr(data, "__array__") and hasattr(data, "__len__"))


def frame_of(values: list[Any], index: Any, columns: Sequence[str], dtypes: Any = None) -> Any:
    """One column per field of the parsed answers; a failed row is NA in every column."""
    import pandas as pd

    data = {
        column: [row.get(column) if isinstance(row, Mapping) else None for row in values]
        for column in columns
    }
    frame = pd.DataFrame(data, index=index, columns=list(columns))
    if dtypes:
        return frame.astype(dtypes)
    return frame.convert_dtypes()
