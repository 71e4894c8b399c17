"""The prompt template of a batch: ``{}`` for a plain value, ``{column}`` for a record's field.

It is ``str.format`` syntax, parsed once with :class:`string.Formatter` so that every
placeholder is known before anything is sent: a placeholder that names no field is an
error naming it, not 5,000 requests with a literal ``{colum}`` in them. ``{{`` and ``}}``
are literal braces; conversions and format specs work (``{price:.2f}``, ``{name!r}``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

VALUE = ""
"""The field name of ``{}``: the whole row, for rows that are plain values."""

_FORMATTER = string.Formatter()
_PRECISION = re.compile(r"\.(\d+)")


class TemplateError(ValueError):
    """A template that cannot be filled from the rows; the message names the placeholder."""


@dataclass(frozen=True)
class _Piece:
    literal: str
    field: str | None
    conversion: str | None
    spec: str


def _parse(template: str) -> tuple[_Piece, ...]:
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise TemplateError(
            f"The template cannot be read ({exc}); write {{{{ and }}}} for literal braces."
        ) from None
    pieces = []
    for literal, field, spec, conversion in parsed:
        if field is not None and ("{" in (spec or "")):
            raise TemplateError(
                f"{{{field}:{spec}}}: nested placeholders are not supported in a batch template."
            )
        pieces.append(_Piece(literal, field, conversion, spec or ""))
    return tuple(pieces)


def _shown(field: str) -> str:
    return "{" + field + "}"


class Template:
    """A parsed template; :meth:`check` it against the rows, then :meth:`fill` each row."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TemplateError(f"The template must be a string, not {type(text).__name__}.")
        if not text.strip():
            raise TemplateError("The template is empty: write the prompt to ask of every row.")
        self.text = text
        self._pieces = _parse(text)
        self.fields: tuple[str, ...] = tuple(
            dict.fromkeys(p.field for p in self._pieces if p.field is not None)
        )
        self._simple = all(p.conversion is None and not p.spec for p in self._pieces)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    def check(self, fields: Collection[str] | None, where: str = "the rows") -> None:
        """Raise naming the first placeholder the rows cannot fill.

        ``fields`` is None for rows that are plain values (only ``{}`` fits), else the
        field names every row has.
        """
        if fields is None:
            for field in self.fields:
                if field != VALUE:
                    raise TemplateError(
                        f"{_shown(field)} names no field: {where} are plain values, so write "
                        "{} for the value (or {{ }} for literal braces)."
                    )
            return
        for field in self.fields:
            if field == VALUE:
                raise TemplateError(
                    f"{{}} needs rows that are plain values, but {where} are records; "
                    f"name a field instead ({_field_list(fields)})."
                )
            if field not in fields:
                raise TemplateError(
                    f"{_shown(field)} names no field of {where} (fields: {_field_list(fields)}); "
                    "fix the name, or write {{ }} for literal braces."
                )

    def fill(self, row: Any) -> str:
        """The prompt for one row: a plain value, or a mapping of field name to value."""
        parts: list[str] = []
        for piece in self._pieces:
            if piece.literal:
                parts.append(piece.literal)
            if piece.field is None:
                continue
            value = row if piece.field == VALUE else row[piece.field]
            if self._simple:
                parts.append(value if type(value) is str else format(value))
                continue
            value = _FORMATTER.convert_field(value, piece.conversion)
            parts.append(format(value, piece.spec))
        return "".join(parts)

    def least_chars(self, row: Any) -> int:
        """At least how many characters :meth:`fill` makes of ``row``, without formatting
        any value: the literal text, and each value that is a string (where a row's bulk
        is: a document, a transcript); other values count nothing. Enough to tell a row
        that clearly cannot fit a model's context before anything is sent, while each
        row is still formatted only once, when it is sent."""
        total = 0
        for piece in self._pieces:
            total += len(piece.literal)
            if piece.field is None:
                continue
            value = row if piece.field == VALUE else row[piece.field]
            if isinstance(value, str):
                total += _least_chars(value, piece.spec)
        return total


def _least_chars(text: str, spec: str) -> int:
    """At least how long a string value is once formatted: a width only pads it, a
    precision (``{text:.100}``) cuts it, and a conversion (``!r``) only lengthens it."""
    precision = _PRECISION.search(spec)
    return min(len(text), int(precision.group(1))) if precision else len(text)


def _field_list(fields: Collection[str], limit: int = 12) -> str:
    names = [str(f) for f in fields]
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")
