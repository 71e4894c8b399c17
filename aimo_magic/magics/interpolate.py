"""``{expr}`` placeholders in prompts, evaluated in the user's namespace.

Prompts often contain code and JSON, so only a placeholder that is a Python
expression naming variables that exist is replaced; everything else in braces stays
as written. ``{{name}}`` keeps ``{name}`` literally. Pasted code is left exactly as
written, f-strings and ``str.format`` templates included (see ``pasted_code``).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Mapping
from typing import Any

_ESCAPED = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_OPEN, _CLOSE = "\x00aimo-open\x00", "\x00aimo-close\x00"


class InterpolationError(ValueError):
    """A placeholder named real variables but raised when evaluated."""


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _evaluable(expression: str, namespace: Mapping[str, Any]) -> ast.Expression | None:
    """The parsed expression, if it is one whose every name the user has defined."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return None
    if isinstance(tree.body, (ast.Constant, ast.Set, ast.Dict, ast.Tuple)):
        return None
    names = _names(tree)
    if not names or not any(name in namespace for name in names):
        return None
    if not all(name in namespace or hasattr(builtins, name) for name in names):
        return None
    return tree


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace each evaluable ``{expr}`` with the text of its value, once per expression.

    The string literals of pasted code are copied as they are, ``{{`` included.
    """
    from aimo_magic.magics.pasted_code import code_spans

    values: dict[str, str] = {}
    pieces: list[str] = []
    position = 0
    for start, end in code_spans(text):
        pieces.append(_fill(text[position:start], namespace, values))
        pieces.append(text[start:end])
        position = end
    pieces.append(_fill(text[position:], namespace, values))
    return "".join(pieces)


def _value(expression: str, namespace: Mapping[str, Any], values: dict[str, str]) -> str | None:
    """The text of an evaluable placeholder (each expression evaluated once), else None."""
    if expression in values:
        return values[expression]
    tree = _evaluable(expression, namespace)
    if tree is None:
        return None
    try:
        value = eval(compile(tree, "<aimo prompt>", "eval"), dict(namespace))
    except Exception as exc:
        raise InterpolationError(
            f"{{{expression.strip()}}} raised {type(exc).__name__}: {exc}. "
            "Fix the expression, write {{...}} to keep the braces, "
            "or use --no-interpolate."
        ) from None
    values[expression] = value if isinstance(value, str) else str(value)
    return values[expression]


def _fill(text: str, namespace: Mapping[str, Any], values: dict[str, str]) -> str:
    """Prose: ``{{...}}`` unescaped, each evaluable placeholder replaced by its value."""
    protected = _ESCAPED.sub(lambda m: f"{_OPEN}{m.group(1)}{_CLOSE}", text)

    def replace(match: re.Match[str]) -> str:
        value = _value(match.group(1), namespace, values)
        return match.group(0) if value is None else value

    result = _PLACEHOLDER.sub(replace, protected)
    return result.replace(_OPEN, "{").replace(_CLOSE, "}")


# Rows: %%aimo --each --------------------------------------------------------------

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

    values: dict[str, str] = {}
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


def _row_placeholder(
    inner: str,
    namespace: Mapping[str, Any],
    fields: Collection[str] | None,
    fill: bool,
    rows: str,
    values: dict[str, str],
) -> str:
    if not inner:
        return "{}"
    name = _FIELD_END.split(inner, maxsplit=1)[0]
    if fields is not None and name in fields:
        return "{" + inner + "}"
    if not fill:
        return literal("{" + inner + "}")
    value = _value(inner, namespace, values)
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
