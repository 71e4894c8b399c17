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
from dataclasses import dataclass
from typing import Any, TypeAlias

from aimo_magic.magics.fill_report import Fill, describe, left_as_written

_ESCAPED = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# Braces that hold a literal are JSON, a set or a str.format field, not a placeholder.
_LITERALS = (ast.Constant, ast.Set, ast.Dict, ast.Tuple)
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


@dataclass(frozen=True, eq=False)
class Placed:
    """A filled placeholder's value, standing where the placeholder stood.

    One object per distinct expression: a placeholder written twice is evaluated once
    and stands in both places.
    """

    expression: str
    value: Any

    def text(self) -> str:
        return self.value if isinstance(self.value, str) else str(self.value)


# Text as written, and the values of the placeholders filled between it.
Piece: TypeAlias = "str | Placed"


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace each evaluable ``{expr}`` with the text of its value, once per expression.

    The string literals of pasted code are copied as they are, ``{{`` included.
    """
    return interpolate_with_fills(text, namespace)[0]


def interpolate_with_fills(text: str, namespace: Mapping[str, Any]) -> tuple[str, list[Fill]]:
    """The filled text, and what each filled placeholder became, in order of appearance."""
    pieces, found = interpolate_pieces(text, namespace)
    shown = {id(item): item.text() for item in found if isinstance(item, Placed)}
    filled = "".join(piece if isinstance(piece, str) else shown[id(piece)] for piece in pieces)
    fills = [
        item if isinstance(item, Fill) else describe(item.expression, item.value, shown[id(item)])
        for item in found
    ]
    return filled, fills


def interpolate_pieces(
    text: str, namespace: Mapping[str, Any]
) -> tuple[list[Piece], list[Fill | Placed]]:
    """The text cut at its filled placeholders, and, in order of appearance, each value
    placed and each placeholder left as written (with why): what the fill report lists.

    The values are handed on as they are, so the caller decides how each is sent
    (as text, or as an image).
    """
    from aimo_magic.magics.pasted_code import code_spans

    placed: dict[str, Piece] = {}
    found: list[Fill | Placed] = []
    pieces: list[Piece] = []
    position = 0
    for start, end in code_spans(text):
        pieces.extend(_fill(text[position:start], namespace, placed, found))
        pieces.append(text[start:end])
        position = end
    pieces.extend(_fill(text[position:], namespace, placed, found))
    return pieces, found


def _unprotect(text: str) -> str:
    return text.replace(_OPEN, "{").replace(_CLOSE, "}")


def _fill(
    text: str,
    namespace: Mapping[str, Any],
    placed: dict[str, Piece],
    found: list[Fill | Placed],
) -> list[Piece]:
    """Prose: ``{{...}}`` unescaped, each evaluable placeholder replaced by its value."""
    protected = _ESCAPED.sub(lambda m: f"{_OPEN}{m.group(1)}{_CLOSE}", text)
    pieces: list[Piece] = []
    position = 0
    for match in _PLACEHOLDER.finditer(protected):
        pieces.append(_unprotect(protected[position : match.start()]))
        pieces.append(_place(match, namespace, placed, found))
        position = match.end()
    pieces.append(_unprotect(protected[position:]))
    return pieces


def _place(
    match: re.Match[str],
    namespace: Mapping[str, Any],
    placed: dict[str, Piece],
    found: list[Fill | Placed],
) -> Piece:
    """The value standing for one placeholder, or the placeholder as written."""
    expression = match.group(1)
    if expression in placed:
        return placed[expression]
    tree = _evaluable(expression, namespace)
    if tree is None:
        reason = unfilled_reason(expression, namespace)
        if reason is not None:
            found.append(left_as_written(expression.strip(), reason))
        placed[expression] = _unprotect(match.group(0))
        return placed[expression]
    try:
        value = eval(compile(tree, "<aimo prompt>", "eval"), dict(namespace))
    except Exception as exc:
        raise InterpolationError(
            f"{{{expression.strip()}}} raised {type(exc).__name__}: {exc}. "
            "Fix the expression, write {{...}} to keep the braces, "
            "or use --no-interpolate."
        ) from None
    value_here = Placed(expression.strip(), value)
    placed[expression] = value_here
    found.append(value_here)
    return value_here
