"""A ``%%aimo --each`` cell as a batch template: row fields kept, other placeholders filled.

The batch layer reads ``str.format`` templates (``{field}``, ``{{ }}`` for braces); a cell
is written for ``%%aimo``, where ``{expr}`` is filled from the notebook and other braces
stay as written. This turns one into the other, filling notebook placeholders with the
cell's own interpolation (``interpolate``) so both follow the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from aimo_magic.magics.interpolate import InterpolationError, interpolate

_TOKEN = re.compile(r"\{\{([^{}]*)\}\}|\{([^{}]*)\}|[{}]")
_FIELD_END = re.compile(r"[!:]")


def literal(text: str) -> str:
    """Text as a ``str.format`` template that produces it unchanged (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def row_template(
    text: str,
    namespace: Mapping[str, Any],
    fields: Collection[str] | None,
    *,
    fill: bool = True,
    rows: str = "the rows",
) -> str:
    """A ``%%aimo --each`` cell as a batch template (``str.format`` syntax).

    ``{field}`` of the rows stays a placeholder (``{}`` too, for rows that are plain
    values; ``fields`` is None for those), with its conversion and format spec: row
    fields win over notebook variables. Any other evaluable ``{expr}`` is filled
    once, now; pasted code, ``{{...}}`` and other braces are kept as written. A bare
    name that is neither a field nor a variable is refused, naming it, since it
    would otherwise go out literally in every row.
    """
    from aimo_magic.magics.pasted_code import code_spans

    values: dict[str, str | None] = {}
    pieces: list[str] = []
    position = 0

    def prose(part: str) -> str:
        out: list[str] = []
        cursor = 0
        for match in _TOKEN.finditer(part):
            out.append(part[cursor : match.start()])
            cursor = match.end()
            inner = match.group(2)
            if match.group(1) is not None:
                out.append(match.group(0))  # {{x}}: a literal {x} in both syntaxes
            elif inner is None:
                out.append(match.group(0) * 2)  # a lone brace
            else:
                out.append(_row_placeholder(inner, namespace, fields, fill, rows, values))
        out.append(part[cursor:])
        return "".join(out)

    for start, end in code_spans(text):
        pieces.append(prose(text[position:start]))
        pieces.append(literal(text[start:end]))
        position = end
    pieces.append(prose(text[position:]))
    return "".join(pieces)


def _filled(inner: str, namespace: Mapping[str, Any], values: dict[str, str | None]) -> str | None:
    """The value of ``{inner}`` as the cell's interpolation fills it (once), else None."""
    if inner not in values:
        placeholder = "{" + inner + "}"
        filled = interpolate(placeholder, namespace)
        values[inner] = None if filled == placeholder else filled
    return values[inner]


def _row_placeholder(
    inner: str,
    namespace: Mapping[str, Any],
    fields: Collection[str] | None,
    fill: bool,
    rows: str,
    values: dict[str, str | None],
) -> str:
    if not inner:
        return "{}"
    name = _FIELD_END.split(inner, maxsplit=1)[0]
    if fields is not None and name in fields:
        return "{" + inner + "}"
    if not fill:
        return literal("{" + inner + "}")
    value = _filled(inner, namespace, values)
    if value is not None:
        return literal(value)
    if inner.strip().isidentifier():
        known = (
            f"fields: {', '.join(map(str, fields))}"
            if fields is not None
            else "they are plain values: write {} for the row"
        )
        raise InterpolationError(
            f"{{{inner.strip()}}} names no field of {rows} ({known}) and no variable; "
            f"write {{{{{inner.strip()}}}}} for literal braces."
        )
    return literal("{" + inner + "}")
