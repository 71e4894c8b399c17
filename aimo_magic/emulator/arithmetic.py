"""Simple arithmetic in a prompt (``What is 17 + 25?``), found and worked out safely.

The expression is parsed with :mod:`ast` and only numbers, ``+ - * / // %``, powers
with small operands and parentheses are evaluated: nothing in a prompt is ever run as
code. Word operators (``plus``, ``times``, ``divided by``), ``×``, ``÷``, ``−`` and ``^``
(as a power) are read too, because people write them.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_MAGNITUDE = 1e15
"""Results beyond this are not "simple arithmetic": the prompt is treated as text."""
MAX_POWER_BASE = 1e6
MAX_EXPONENT = 64
DECIMALS = 6

_WORD_OPERATORS = (
    (re.compile(r"\bmultiplied\s+by\b", re.I), "*"),
    (re.compile(r"\bdivided\s+by\b", re.I), "/"),
    (re.compile(r"\bplus\b", re.I), "+"),
    (re.compile(r"\bminus\b", re.I), "-"),
    (re.compile(r"\btimes\b", re.I), "*"),
    (re.compile(r"(?<=\d)\s*[x×]\s*(?=\d)"), "*"),
)
_SYMBOLS = str.maketrans({"÷": "/", "−": "-", "–": "-", "^": "**"})
# A run of numbers, operators and parentheses; the checks below keep the real ones.
_CANDIDATE = re.compile(r"[-(+]*\s*\d[\d\s.+\-*/%()]*")
_OPERATOR_BETWEEN = re.compile(r"[\d)]\s*(?:\*\*|//|[-+*/%])\s*[-+(]*\s*[\d(]")

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


class _NotSimple(ValueError):
    """The expression is not simple arithmetic (or has no finite answer)."""


@dataclass(frozen=True)
class Arithmetic:
    expression: str
    """As found in the prompt, normalised (``17 + 25``)."""
    value: float

    @property
    def answer(self) -> str:
        return format_number(self.value)


def format_number(value: float) -> str:
    """``42`` for whole numbers, else at most six decimals without trailing zeros."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{round(value, DECIMALS):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise _NotSimple(f"constant {value!r}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _evaluate(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(left) > MAX_POWER_BASE or abs(right) > MAX_EXPONENT:
                raise _NotSimple("power too large")
            if left == 0 and right < 0:
                raise _NotSimple("zero to a negative power")
            result = left**right
        else:
            function = _BINARY.get(type(node.op))
            if function is None:
                raise _NotSimple(f"operator {type(node.op).__name__}")
            try:
                result = function(left, right)
            except ZeroDivisionError:
                raise _NotSimple("division by zero") from None
        if isinstance(result, complex) or not math.isfinite(result):
            raise _NotSimple("no real answer")
        if abs(result) > MAX_MAGNITUDE:
            raise _NotSimple("too large")
        return result
    raise _NotSimple(type(node).__name__)


def normalise(text: str) -> str:
    """Word and typographic operators as Python's."""
    text = text.translate(_SYMBOLS)
    for pattern, symbol in _WORD_OPERATORS:
        text = pattern.sub(f" {symbol} ", text)
    return text


def _trimmed(candidate: str) -> str:
    """Without trailing operators or unbalanced parentheses at the ends."""
    text = candidate.strip()
    while text and (text[-1] in "+-*/%." or text.count("(") < text.count(")")):
        text = text[:-1].rstrip()
    while text and text[0] == "(" and text.count("(") > text.count(")"):
        text = text[1:].lstrip()
    return text


def find_arithmetic(text: str) -> Arithmetic | None:
    """The longest simple arithmetic expression in ``text`` (two numbers and an operator
    at least), worked out; None if there is none."""
    found: list[Arithmetic] = []
    for match in _CANDIDATE.finditer(normalise(text)):
        expression = _trimmed(match.group())
        if not _OPERATOR_BETWEEN.search(expression):
            continue
        try:
            value = _evaluate(ast.parse(expression, mode="eval"))
        except (SyntaxError, _NotSimple, OverflowError, RecursionError, ValueError):
            continue
        found.append(Arithmetic(" ".join(expression.split()), value))
    return max(found, key=lambda a: len(a.expression), default=None)
