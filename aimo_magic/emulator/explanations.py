"""Canned explanations of a Python error, for prompts that carry a traceback
(``%aimo explain`` sends one): what went wrong, why, and how to fix it, by exception type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRACEBACK = re.compile(r"^Traceback(?: \(most recent call last\))?:?\s*$", re.M)
_EXCEPTION_LINE = re.compile(
    r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Iteration|Warning))"
    r"(?::[ \t]*(?P<message>[^\n]*))?$",
    re.M,
)
_FRAME = re.compile(r'^\s*File "[^"\n]*", line (?P<line>\d+), in (?P<function>[\w<>.]+)', re.M)

REASONS: dict[str, tuple[str, str]] = {
    "RecursionError": (
        "the function keeps calling itself and never reaches a case that stops it, so "
        "Python gives up after about a thousand nested calls.",
        "give it a base case that returns without calling itself (for a factorial, "
        "`if n <= 1: return 1`), and make sure every call moves towards that case.",
    ),
    "ZeroDivisionError": (
        "a number was divided by zero.",
        "check the divisor before dividing, or handle the zero case on its own.",
    ),
    "NameError": (
        "a name was used before anything was assigned to it, or it is misspelt.",
        "define it (or import it) before this line, fix the spelling, or run the cell "
        "that defines it first.",
    ),
    "KeyError": (
        "a dictionary (or a DataFrame) was asked for a key it does not have.",
        "check the key's spelling and case, or test `key in data` (or use "
        "`.get(key, default)`) first.",
    ),
    "IndexError": (
        "a position past the end of a sequence was used.",
        "check the length first, or loop over the items themselves instead of positions.",
    ),
    "TypeError": (
        "an operation was given a value of a type it cannot work with.",
        "look at the types of the values on that line (`type(x)`) and convert the one "
        "that is not what you expected.",
    ),
    "AttributeError": (
        "the object has no attribute or method of that name.",
        "check the object's type and the name's spelling; `dir(obj)` lists what it has.",
    ),
    "ValueError": (
        "a function got a value of the right type but one it cannot use.",
        "check the value before passing it on, or catch the error where bad input is expected.",
    ),
    "ModuleNotFoundError": (
        "the module is not installed in the environment this kernel runs in.",
        "install it from a cell with `%pip install NAME`, then restart the kernel.",
    ),
    "FileNotFoundError": (
        "the path does not point to an existing file, seen from the kernel's working directory.",
        "check the path (`pathlib.Path(p).resolve()` shows where it points) or create "
        "the file first.",
    ),
}
DEFAULT_REASON = (
    "the line named last in the traceback raised it.",
    "read the traceback's last line, print the values used on that line, and try the "
    "smallest input that still fails.",
)


@dataclass(frozen=True)
class ReportedError:
    name: str
    message: str
    function: str | None
    line: int | None

    @property
    def heading(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name


def reported_error(prompt: str) -> ReportedError | None:
    """The exception a traceback in ``prompt`` ends with, and where it was raised."""
    if not _TRACEBACK.search(prompt):
        return None
    exceptions = list(_EXCEPTION_LINE.finditer(prompt))
    if not exceptions:
        return None
    last = exceptions[-1]
    frames = list(_FRAME.finditer(prompt[: last.start()]))
    frame = frames[-1] if frames else None
    function = frame.group("function") if frame else None
    return ReportedError(
        last.group("name"),
        (last.group("message") or "").strip(),
        None if function in (None, "<module>") else function,
        int(frame.group("line")) if frame else None,
    )


def explanation(error: ReportedError) -> str:
    """What went wrong, why, and how to fix it, in markdown."""
    why, fix = REASONS.get(error.name.rsplit(".", 1)[-1], DEFAULT_REASON)
    where = f" in `{error.function}`" if error.function else ""
    if error.line is not None:
        where += f" (line {error.line})"
    return (
        f"**What went wrong:** `{error.heading}`, raised{where}.\n\n"
        f"**Why:** {why[0].upper()}{why[1:]}\n\n"
        f"**How to fix it:** {fix[0].upper()}{fix[1:]}\n"
    )
