"""A function's return value as the text a model reads, within a size limit.

Values become text the way a ``{placeholder}`` does (``str(value)``, so a DataFrame is
pandas' own shortened view of a few rows), except that plain data (dicts, lists,
numbers) is sent as JSON, which models read best. Text longer than the limit is cut,
with a note saying how much the model did not see, so it neither believes it saw
everything nor asks again blindly.
"""

from __future__ import annotations

import json
from typing import Any

DEFAULT_LIMIT = 8_000
"""Characters of one result a model is sent (about 2,000 tokens)."""
DATAFRAME_ROWS = 10


def _pandas_text(value: Any) -> str | None:
    """A DataFrame or Series as a few rows (head and tail), with its shape when cut."""
    kind = type(value)
    if kind.__module__.split(".")[0] != "pandas" or kind.__name__ not in ("DataFrame", "Series"):
        return None
    import pandas as pd  # already imported: the value is pandas'

    with pd.option_context(
        "display.max_rows", DATAFRAME_ROWS, "display.min_rows", DATAFRAME_ROWS,
        "display.max_columns", 20, "display.width", 200,
    ):  # fmt: skip
        text = str(value)
    rows = len(value)
    if rows > DATAFRAME_ROWS:
        shape = "×".join(f"{n:,}" for n in value.shape)
        text += f"\n[{kind.__name__} {shape}: {DATAFRAME_ROWS} of {rows:,} rows shown]"
    return text


def value_text(value: Any) -> str:
    """The text a model is sent for ``value`` (before any cut)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    frame = _pandas_text(value)
    if frame is not None:
        return frame
    if isinstance(value, (dict, list, tuple, int, float, bool)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str, allow_nan=True)
        except (TypeError, ValueError, RecursionError):
            pass
    return str(value)


def cut(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """``text`` within ``limit`` characters; a cut one ends with a note saying so."""
    if len(text) <= limit:
        return text
    note = f"\n[cut: the first {limit:,} of {len(text):,} characters are shown]"
    return text[:limit] + note


def result_text(value: Any, limit: int = DEFAULT_LIMIT) -> str:
    """What the model reads as a call's result: the value's text, cut to the limit."""
    try:
        text = value_text(value)
    except Exception as exc:  # a __str__ that raises: say so instead of failing the loop
        text = f"[the result could not be shown as text: {type(exc).__name__}: {exc}]"
    return cut(text, limit)


ERROR_LIMIT = 2_000


def error_text(exc: BaseException) -> str:
    """A failed call's result: the error's type and message, no traceback."""
    try:
        message = str(exc).strip()
    except Exception:
        message = ""
    text = f"Error: {type(exc).__name__}: {message}" if message else f"Error: {type(exc).__name__}"
    return cut(text, ERROR_LIMIT)
