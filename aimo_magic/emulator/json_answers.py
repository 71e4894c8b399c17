"""A JSON object (``response_format: json_object``, no schema) shaped as the prompt asks.

"Suggest three follow-up analyses ... as a JSON object with a short title and the columns
needed for each" gets ``{"analyses": [{"title": ..., "columns": [...]}, ...three]}``: the
count and the plural noun after it name the list, the words after the last "with" (or
"including", "containing") its fields; a plural field is a list of the values the prompt
quotes (``'month'``, ``'region'``), a singular one a short text. A prompt that asks for no
such shape gets ``None``, and the emulator's general JSON answer instead.
"""

from __future__ import annotations

import re
from typing import Any

from aimo_magic.emulator.questions import STOPWORDS

_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_LIST = re.compile(
    r"\b(two|three|four|five|six|seven|eight|[2-8])\s+((?:[a-z-]+\s+){0,2}?[a-z-]+s)\b", re.I
)
_FIELDS_START = re.compile(r"\b(?:with|including|containing)\s+", re.I)
_FIELDS_END = re.compile(r"[.:\n]")
_QUOTED = re.compile(r"'([^'\n]{1,40})'|\"([^\"\n]{1,40})\"|`([^`\n]{1,40})`")
_FILLER = frozenset(
    [
        "short",
        "brief",
        "long",
        "main",
        "key",
        "needed",
        "required",
        "each",
        "every",
        "one",
        "own",
        "its",
        "their",
        "following",
    ]
)


def _field_name(phrase: str) -> str | None:
    words = [w.lower() for w in re.findall(r"[A-Za-z][\w-]*", phrase)]
    kept = [w for w in words if w not in STOPWORDS and w not in _FILLER]
    return kept[0].replace("-", "_") if kept else None


_TITLES = frozenset(["title", "name", "headline", "label", "topic", "heading"])


def _singular(noun: str) -> str:
    if noun.endswith("yses"):
        return noun[:-2] + "is"  # analyses -> analysis
    return noun[:-1] if noun.endswith("s") else noun


def shaped_json(prompt: str) -> dict[str, Any] | None:
    """The object a prompt describes (a counted list of records with named fields)."""
    counted = _LIST.search(prompt)
    starts = list(_FIELDS_START.finditer(prompt))
    if counted is None or not starts:
        return None
    after = prompt[starts[-1].end() :]  # the last "with ...": the fields
    clause = after[: m.start()] if (m := _FIELDS_END.search(after)) else after
    count = _COUNTS.get(counted.group(1).lower()) or int(counted.group(1))
    noun = counted.group(2).split()[-1].lower()
    parts = re.split(r",\s*|\s+and\s+", clause)
    fields = list(dict.fromkeys(f for f in map(_field_name, parts) if f))
    if not fields:
        return None
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(prompt)]
    records = []
    for index in range(count):
        picked = [quoted[(index + k) % len(quoted)] for k in range(min(2, len(quoted)))]
        record: dict[str, Any] = {}
        for field in fields:
            if field.endswith("s"):
                record[field] = picked or [f"{_singular(field)} {k + 1}" for k in range(2)]
            elif field not in _TITLES:
                record[field] = f"{field.replace('_', ' ')} of {_singular(noun)} {index + 1}"
            elif len(picked) > 1:
                record[field] = f"{picked[1].capitalize()} by {picked[0]}"
            else:
                record[field] = f"{_singular(noun).capitalize()} {index + 1}"
        records.append(record)
    return {noun.replace("-", "_"): records}
