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
from collections.abc import Callable, Mapping
from typing import Any

from aimo_magic.magics.fill_report import Fill, describe, left_as_written

_ESCAPED = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# Braces that hold a literal are JSON, a set or a str.format field, not a placeholder.
_LITERALS = (ast.Constant, ast.Set, ast.Dict, ast.Tuple)
_OPEN, _CLOSE = "\x00aimo-open\x00", "\x00aimo-close\x00"
# (expression, value) -> the text standing for the value, or None for str(value).
Render = Callable[[str, Any], "str | None"]


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
    if isinstance(tree.body, _LITERALS):
        return None
    names = _names(tree)
    if not names or not any(name in namespace for name in names):
        return None
    if not all(name in namespace or hasattr(builtins, name) for name in names):
        return None
    return tree


def unfilled_reason(expression: str, namespace: Mapping[str, Any]) -> str | None:
    """Why an expression-like placeholder was left as written, or None when it is not
    one a user meant as a placeholder (code, JSON, a literal, a str.format field).

    Only expressions over the user's variables are filled, so ``{undefined_var}`` and
    ``{1/0}`` go out as typed; the report says so, since the user may have meant them.
    """
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return None
    body = tree.body
    if isinstance(body, _LITERALS) or (
        isinstance(body, ast.UnaryOp) and isinstance(body.operand, ast.Constant)
    ):
        return None  # -1 in e^{-1} is math, not a placeholder
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    missing = sorted(
        name
        for name in _names(tree) - bound
        if name not in namespace and not hasattr(builtins, name)
    )
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return f"{' and '.join(missing)} {verb} not defined"
    if not any(name in namespace for name in _names(tree)):
        return "it uses none of your variables (only expressions over them are filled)"
    return None


def interpolate(text: str, namespace: Mapping[str, Any], render: Render | None = None) -> str:
    """Replace each evaluable ``{expr}`` with the text of its value, once per expression.

    The string literals of pasted code are copied as they are, ``{{`` included.
    ``render(expression, value)`` may give the text for a value itself (an image's
    marker, say); None leaves it to ``str``.
    """
    return interpolate_with_fills(text, namespace, render)[0]


def interpolate_with_fills(
    text: str, namespace: Mapping[str, Any], render: Render | None = None
) -> tuple[str, list[Fill]]:
    """The filled text, and what each filled placeholder became, in order of appearance."""
    from aimo_magic.magics.pasted_code import code_spans

    values: dict[str, str] = {}
    fills: list[Fill] = []
    pieces: list[str] = []
    position = 0
    for start, end in code_spans(text):
        pieces.append(_fill(text[position:start], namespace, values, fills, render))
        pieces.append(text[start:end])
        position = end
    pieces.append(_fill(text[position:], namespace, values, fills, render))
    return "".join(pieces), fills


def _fill(
    text: str,
    namespace: Mapping[str, Any],
    values: dict[str, str],
    fills: list[Fill],
    render: Render | None,
) -> str:
    """Prose: ``{{...}}`` unescaped, each evaluable placeholder replaced by its value."""
    protected = _ESCAPED.sub(lambda m: f"{_OPEN}{m.group(1)}{_CLOSE}", text)

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression in values:
            return values[expression]
        tree = _evaluable(expression, namespace)
        if tree is None:
            reason = unfilled_reason(expression, namespace)
            if reason is not None:
                fills.append(left_as_written(expression.strip(), reason))
            values[expression] = match.group(0)
            return match.group(0)
        try:
            value = eval(compile(tree, "<aimo prompt>", "eval"), dict(namespace))
        except Exception as exc:
            raise InterpolationError(
                f"{{{expression.strip()}}} raised {type(exc).__name__}: {exc}. "
                "Fix the expression, write {{...}} to keep the braces, "
                "or use --no-interpolate."
            ) from None
        shown = render(expression, value) if render is not None else None
        if shown is None:
            shown = value if isinstance(value, str) else str(value)
        values[expression] = shown
        fills.append(describe(expression.strip(), value, shown))
        return values[expression]

    result = _PLACEHOLDER.sub(replace, protected)
    return result.replace(_OPEN, "{").replace(_CLOSE, "}")
