"""The data's rows as an evaluation sees them: each one's prompt, the row itself, its label,
and the value its answer is scored against.

``expected=`` is a column (a DataFrame's, or a key of every record), a callable given
the row, or a sequence of values as long as the data; it is checked before anything is
sent, so a misspelt column costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aimo_magic.batching.rows import Rows
from aimo_magic.batching.template import Template

EXPECTED_KINDS = "a column name, a callable row -> value, or a list as long as the data"


class Cases:
    """Rows bound to the template, with the expected value of each."""

    def __init__(self, data: Any, template: Template, expected: Any) -> None:
        self.rows = Rows(data)
        self.rows.bind(template)
        self._expected = expected
        self._column: list[Any] | None = None
        if expected is None or callable(expected):
            return
        if isinstance(expected, str):
            self._column = self._read_column(data, expected)
        elif _listlike(expected):
            values = list(expected.tolist() if hasattr(expected, "tolist") else expected)
            if len(values) != len(self.rows):
                raise ValueError(
                    f"expected= has {len(values):,} values but the data has "
                    f"{len(self.rows):,} rows; give one value per row."
                )
            self._column = values
        else:
            raise ValueError(f"expected must be {EXPECTED_KINDS}, not {type(expected).__name__}.")

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_expected(self) -> bool:
        return self._expected is not None

    def _read_column(self, data: Any, name: str) -> list[Any]:
        rows = self.rows
        if rows.frame:
            columns = [str(c) for c in data.columns]
            if name not in columns:
                raise ValueError(
                    f"expected={name!r} names no column of the data (columns: "
                    f"{', '.join(columns)})."
                )
            column = data[data.columns[columns.index(name)]]
            return [_plain(v) for v in column.tolist()]
        if not rows.records:
            raise ValueError(
                f"expected={name!r} names a column, but the rows are plain values; "
                "give a callable row -> value or a list of values instead."
            )
        values = []
        for position in range(len(rows)):
            record = rows.row(position)
            if name not in record:
                raise ValueError(
                    f"expected={name!r}: row {position} has no field {name!r} "
                    f"(fields: {', '.join(map(str, record))})."
                )
            values.append(record[name])
        return values

    def expected(self, position: int) -> Any:
        if self._column is not None:
            return self._column[position]
        if callable(self._expected):
            return self._expected(self.rows.row(position))
        return None

    def expected_values(self) -> list[Any]:
        """Every row's expected value (for ``choice`` with no options named)."""
        return [self.expected(p) for p in range(len(self.rows))]

    def row(self, position: int) -> Any:
        return self.rows.row(position)

    def label(self, position: int) -> Any:
        return self.rows.label(position)

    def prompt(self, position: int) -> str:
        return self.rows.prompt(position)


class ByPosition:
    """The rows as an engine sees them, with each row called by its position: an
    evaluation files a failed row's error by position, whatever the data's index."""

    def __init__(self, rows: Rows) -> None:
        self._rows = rows

    def prompt(self, position: int) -> str:
        return self._rows.prompt(position)

    def label(self, position: int) -> int:
        return position


def _listlike(value: Any) -> bool:
    if isinstance(value, (str, bytes, Mapping)):
        return False
    return isinstance(value, Sequence) or hasattr(value, "tolist")


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so that scorers and JSON see ordinary values."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value
