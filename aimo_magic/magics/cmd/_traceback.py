"""The last error of a session as plain text, with the cells it came from.

IPython keeps the last exception in ``sys.last_*``; its traceback starts in
IPython's own machinery, which means nothing to the user or to a model, so the
frames before the first notebook cell are dropped.
"""

from __future__ import annotations

import re
import sys
import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CELL_LABEL = re.compile(r"In\[(\d+)\]")
MAX_TRACEBACK_CHARS = 12_000
MAX_CELL_CHARS = 6_000
MAX_CELLS = 3


@dataclass
class LastError:
    """What a model needs to explain an error: the traceback and the cells' source."""

    summary: str
    traceback: str
    cells: list[tuple[int, str]]


def cell_number(shell: Any, filename: str) -> int | None:
    """The execution count of the cell a code filename belongs to, if it is a cell."""
    label = shell.compile.format_code_name(filename) if shell is not None else None
    found = CELL_LABEL.fullmatch(label[1]) if label else None
    return int(found.group(1)) if found else None


def cell_source(shell: Any, number: int) -> str | None:
    """A cell's source as typed (raw, before IPython's transformations)."""
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if history is None:
        history = shell.user_ns.get("In", [])
    return history[number] if 0 <= number < len(history) else None


def shorten(text: str, limit: int) -> str:
    """Keep the end, where the error is, and a little of the start."""
    if len(text) <= limit:
        return text
    head = limit // 6
    return f"{text[:head]}\n… [{len(text) - limit} characters cut] …\n{text[-(limit - head) :]}"


def _from_first_cell(
    shell: Any, tb: TracebackType | None
) -> tuple[TracebackType | None, list[int]]:
    numbers: list[int] = []
    first = None
    while tb is not None:
        number = cell_number(shell, tb.tb_frame.f_code.co_filename)
        if number is not None:
            first = first or tb
            if number not in numbers:
                numbers.append(number)
        tb = tb.tb_next
    return first, numbers


def last_error(shell: Any) -> LastError | None:
    """The session's last exception, plainly formatted, or None if there was none."""
    etype = getattr(sys, "last_type", None)
    value = getattr(sys, "last_value", None)
    if etype is None or value is None:
        return None
    tb, numbers = _from_first_cell(shell, getattr(sys, "last_traceback", None))
    filename = getattr(value, "filename", None)
    if isinstance(value, SyntaxError) and isinstance(filename, str):
        number = cell_number(shell, filename)
        if number is not None and number not in numbers:
            numbers.append(number)
    text = "".join(traceback.format_exception(etype, value, tb))
    for frame_file in {f.filename for f in traceback.extract_tb(tb)} | {filename or ""}:
        number = cell_number(shell, frame_file) if frame_file else None
        if number is not None:
            text = text.replace(frame_file, f"In[{number}]")
    cells = []
    for number in numbers[-MAX_CELLS:]:
        source = cell_source(shell, number)
        if source:
            cells.append((number, shorten(source, MAX_CELL_CHARS)))
    summary = ANSI.sub("", "".join(traceback.format_exception_only(etype, value))).strip()
    return LastError(
        summary=summary.splitlines()[-1] if summary else etype.__name__,
        traceback=shorten(ANSI.sub("", text), MAX_TRACEBACK_CHARS),
        cells=cells,
    )


def fenced(text: str, lang: str = "") -> str:
    """A markdown code block whose fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def explain_prompt(error: LastError) -> str:
    parts = [
        "This error came from a Python cell in a Jupyter notebook. Explain briefly what "
        "went wrong and why, then suggest a fix as corrected code.",
    ]
    for number, source in error.cells:
        parts += ["", f"Cell In[{number}]:", fenced(source, "python")]
    parts += ["", "Traceback:", fenced(error.traceback)]
    return "\n".join(parts)
