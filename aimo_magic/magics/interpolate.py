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
from collections.abc import Mapping
from typing import Any

from aimo_magic.magics.fill_report import Fill, describe

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
    return interpolate_with_fills(text, namespace)[0]


def interpolate_with_fills(text: str, namespace: Mapping[str, Any]) -> tuple[str, list[Fill]]:
    """The filled text, and what each filled placeholder became, in order of appearance."""
    from aimo_magic.magics.pasted_code import code_spans

    values: dict[str, str] = {}
    fills: list[Fill] = []
    pieces: list[str] = []
    position = 0
    for start, end in code_spans(text):
        pieces.append(_fill(text[position:start], namespace, values, fills))
        pieces.append(text[start:end])
        position = end
    pieces.append(_fill(text[position:], namespace, values, fills))
    return "".join(pieces), fills


def _fill(
    text: str, namespace: Mapping[str, Any], values: dict[str, str], fills: list[Fill]
) -> str:
    """Prose: ``{{...}}`` unescaped, each evaluable placeholder replaced by its value."""
    protected = _ESCAPED.sub(lambda m: f"{_OPEN}{m.group(1)}{_CLOSE}", text)

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression in values:
            return values[expression]
        tree = _evaluable(expression, namespace)
        if tree is None:
            return match.group(0)
        try:
            value = eval(compile(tree, "<aimo prompt>", "eval"), dict(namespace))
        except Exception as exc:
            raise InterpolationError(
                f"{{{expression.strip()}}} raised {type(exc).__name__}: {exc}. "
                "Fix the expression, write {{...}} to keep the braces, "
                "or use --no-interpolate."
            ) from None
        values[expression] = value if isinstance(value, str) else str(value)
        fills.append(describe(expression.strip(), value, values[expression]))
        return values[expression]

    result = _PLACEHOLDER.sub(replace, protected)
    return result.replace(_OPEN, "{").replace(_CLOSE, "}")
