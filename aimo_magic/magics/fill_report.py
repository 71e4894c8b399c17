"""What each filled placeholder became, so the user sees what the model was sent.

``{df}`` becomes ``str(df)``, and pandas shortens that to a handful of rows: the
model then answers about a sample while the user believes it saw the data. Each
fill is described by its value's kind and size, what the text kept of it, and a
warning when the text is a shortened view. pandas and numpy are never imported
here: a value that is theirs means they already are.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from typing import Any

_CUT_COLUMNS = re.compile(r"\s\.\.\.(\s|$)")
_DOTS_LINE = re.compile(r"^\s*\.\.\.\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Fill:
    """One placeholder and what it was replaced by, or why it was left as written."""

    expression: str
    what: str
    chars: int
    sent: str | None = None
    warning: str | None = None
    left: str | None = None
    """Why the placeholder went out as typed (``undefined_var is not defined``)."""

    def summary(self) -> str:
        """E.g. ``{df} → DataFrame 200,000×5, sent as 10 rows (737 chars)``."""
        if self.left is not None:
            return f"{{{self.expression}}} left as written: {self.left}"
        sent = f", sent as {self.sent}" if self.sent else ""
        unit = "char" if self.chars == 1 else "chars"
        return f"{{{self.expression}}} → {self.what}{sent} ({self.chars:,} {unit})"


def left_as_written(expression: str, reason: str) -> Fill:
    """The report of a placeholder sent as typed, and why (it was not filled)."""
    return Fill(expression, "left as written", 0, left=reason)


def describe(expression: str, value: Any, text: str) -> Fill:
    """The fill of ``{expression}`` whose value is ``value`` and whose text is ``text``."""
    kind = type(value)
    module = kind.__module__.split(".")[0]
    if module == "pandas" and kind.__name__ == "DataFrame":
        return _data_frame(expression, value, text)
    if module == "pandas" and kind.__name__ == "Series":
        return _series(expression, value, text)
    if module == "numpy" and kind.__name__ == "ndarray":
        return _array(expression, value, text)
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        count = len(value)
        return Fill(expression, f"{kind.__name__} of {count:,}", len(text))
    return Fill(expression, kind.__name__, len(text))


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(f"{n:,}" for n in shape)


def _shown_rows(value: Any, series: bool) -> int | None:
    """Rows the repr shows, by pandas' own formatter; None if its internals moved."""
    try:
        fmt = importlib.import_module("pandas.io.formats.format")  # already loaded

        if series:
            params = fmt.get_series_repr_params()
            formatter = fmt.SeriesFormatter(
                value, max_rows=params["max_rows"], min_rows=params["min_rows"]
            )
            return len(formatter.tr_series)
        params = fmt.get_dataframe_repr_params()
        frame = fmt.DataFrameFormatter(
            value,
            max_rows=params["max_rows"],
            min_rows=params["min_rows"],
            max_cols=params["max_cols"],
        )
        return int(frame.tr_frame.shape[0])
    except Exception:  # a private API: a failure only costs the detail
        return None


def _shortened(expression: str, detail: str) -> str:
    return (
        f"{{{expression}}} was shortened by pandas: the model sees {detail}. "
        f"Send {{{expression}.to_csv()}} for all of it, or a summary such as "
        f"{{{expression}.describe()}}."
    )


def _data_frame(expression: str, value: Any, text: str) -> Fill:
    rows, columns = value.shape
    shown = _shown_rows(value, series=False)
    header = text.split("\n", 1)[0]
    cut_rows = shown is not None and shown < rows
    cut_columns = bool(_CUT_COLUMNS.search(header)) and columns > 1
    if shown is None and re.search(r"\n\[\d+ rows x \d+ columns\]\s*$", text):
        cut_rows = True  # pandas adds that footer only to a shortened frame
    if not (cut_rows or cut_columns):
        return Fill(expression, f"DataFrame {_shape((rows, columns))}", len(text))
    sent, seen = [], []
    if cut_rows and shown is not None:
        sent.append(f"{shown:,} rows")
        seen.append(f"{shown:,} of {rows:,} rows")
    elif cut_rows:
        seen.append(f"only some of its {rows:,} rows")
    if cut_columns:
        sent.append("some columns")
        seen.append(f"only some of its {columns:,} columns")
    return Fill(
        expression,
        f"DataFrame {_shape((rows, columns))}",
        len(text),
        sent=", ".join(sent) or None,
        warning=_shortened(expression, " and ".join(seen)),
    )


def _series(expression: str, value: Any, text: str) -> Fill:
    length = len(value)
    shown = _shown_rows(value, series=True)
    cut = shown < length if shown is not None else bool(_DOTS_LINE.search(text))
    what = f"Series of {length:,}"
    if not cut:
        return Fill(expression, what, len(text))
    if shown is None:
        return Fill(expression, what, len(text), warning=_shortened(expression, "some values"))
    seen = f"{shown:,} of {length:,} values"
    sent = f"{shown:,} values"
    return Fill(expression, what, len(text), sent=sent, warning=_shortened(expression, seen))


def _array(expression: str, value: Any, text: str) -> Fill:
    what = f"ndarray {_shape(tuple(value.shape))}"
    numpy = sys.modules.get("numpy")
    threshold = numpy.get_printoptions()["threshold"] if numpy is not None else None
    if threshold is None or value.size <= threshold or "..." not in text:
        return Fill(expression, what, len(text))
    warning = (
        f"{{{expression}}} was shortened by numpy (more than {threshold:,} values): the "
        f"model sees the corners only. Send {{{expression}.tolist()}} for all of it."
    )
    return Fill(expression, what, len(text), sent="its corners", warning=warning)
