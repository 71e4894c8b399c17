"""How an answer is scored against what was expected: named scorers, or the user's callable.

Every scorer is ``(answer, expected, row) -> float`` from 0 (wrong) to 1 (right). The
named ones:

- ``exact``: the answer equals the expected value, ignoring case and whitespace;
- ``contains``: the expected value appears in the answer (same normalisation);
- ``regex:PATTERN``: the pattern is found in the answer; if it has a group and a value
  is expected, the first group's text must equal it (same normalisation);
- ``number`` (or ``number:TOL``): the answer's number (the whole answer, else the last
  number in it) is within TOL of the expected one (default: equal up to 1e-9 relative);
- ``json``: the answer is a JSON object that fits ``schema=`` (when given); with a dict
  expected, the share of its fields the answer has equal;
- ``choice`` (or ``choice:a,b,c``): the answer names exactly one of the options (whole
  words, any case) and it is the expected one; the options are the ones given, else
  ``choices=``, else every distinct expected value of the data.

Scoring happens after the answers are in, from the answers kept, so a scorer can be
changed (``Evaluation.rescore``) without asking anything again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Scorer = Callable[[str, Any, Any], Any]
"""``(answer, expected, row) -> float | bool``: the user's kind of scorer."""

NAMED = ("exact", "contains", "regex:PATTERN", "number[:TOL]", "json", "choice[:A,B,...]")
NEEDS_EXPECTED = ("exact", "contains", "number", "choice")

_NUMBER = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+")


class ScoreError(ValueError):
    """A scorer that cannot be used, or one that failed on an answer (the answers are kept)."""


def normalise(text: Any) -> str:
    """Case and whitespace folded: ``"  Billing\\n"`` and ``"billing"`` are the same."""
    return " ".join(str(text).split()).casefold()


def exact(answer: str, expected: Any, row: Any = None) -> float:
    return float(normalise(answer) == normalise(expected))


def contains(answer: str, expected: Any, row: Any = None) -> float:
    return float(normalise(expected) in normalise(answer))


@dataclass(frozen=True)
class Regex:
    pattern: re.Pattern[str]

    def __call__(self, answer: str, expected: Any, row: Any = None) -> float:
        found = self.pattern.search(answer)
        if found is None:
            return 0.0
        if expected is None or not self.pattern.groups:
            return 1.0
        return float(normalise(found.group(1) or "") == normalise(expected))


def number_in(text: Any) -> float | None:
    """The answer as a number: the whole text if it is one, else the last number in it."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    words = str(text).strip().rstrip(".").replace("−", "-")
    try:
        return float(words.replace(",", ""))
    except ValueError:
        pass
    found = _NUMBER.findall(words)
    if not found:
        return None
    return float(found[-1].replace(",", "").replace("−", "-"))


@dataclass(frozen=True)
class Number:
    tolerance: float | None = None

    def __call__(self, answer: str, expected: Any, row: Any = None) -> float:
        got, wanted = number_in(answer), number_in(expected)
        if got is None or wanted is None:
            return 0.0
        if self.tolerance is None:
            return float(math.isclose(got, wanted, rel_tol=1e-9, abs_tol=1e-12))
        return float(abs(got - wanted) <= self.tolerance)


@dataclass(frozen=True)
class JsonScore:
    """Parses the answer (fenced or bare JSON), validates it, compares fields if asked."""

    schema: Any = None

    def __call__(self, answer: str, expected: Any, row: Any = None) -> float:
        value = self._parse(answer)
        if value is None:
            return 0.0
        if not isinstance(expected, Mapping) or not expected:
            return 1.0
        equal = sum(1 for key, want in expected.items() if _same(value.get(key), want))
        return equal / len(expected)

    def _parse(self, answer: str) -> dict[str, Any] | None:
        from aimo_magic.core.answer_text import json_source

        source = json_source(answer)
        if self.schema is not None and hasattr(self.schema, "model_validate_json"):
            try:
                model = self.schema.model_validate_json(source)
            except ValueError:
                return None
            dumped: dict[str, Any] = model.model_dump(mode="json")
            return dumped
        try:
            value = json.loads(source)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        if self.schema is not None and not _fits(value, self.schema):
            return None
        return value


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return normalise(got) == normalise(want)
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-12)
    return bool(got == want)


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Choice:
    """Right when the answer names exactly one option, the expected one."""

    options: tuple[str, ...]

    def __call__(self, answer: str, expected: Any, row: Any = None) -> float:
        named = self.named(answer)
        return float(len(named) == 1 and normalise(named[0]) == normalise(expected))

    def named(self, answer: str) -> list[str]:
        text = normalise(answer)
        return [
            option
            for option in self.options
            if re.search(rf"(?<!\w){re.escape(normalise(option))}(?!\w)", text)
        ]


@dataclass(frozen=True)
class Custom:
    """The user's callable; its bool or number becomes the score, anything else is refused."""

    function: Scorer

    def __call__(self, answer: str, expected: Any, row: Any = None) -> float:
        value = self.function(answer, expected, row)
        if isinstance(value, bool):
            return float(value)
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise ScoreError(
                f"the score callable returned {type(value).__name__} {value!r}; "
                "return a number from 0 to 1, or True/False."
            ) from None
        if math.isnan(score):
            raise ScoreError("the score callable returned NaN; return a number from 0 to 1.")
        return score


def scorer_for(
    score: Any,
    *,
    schema: Any = None,
    choices: Sequence[str] | None = None,
    expected_values: Callable[[], Iterable[Any]] | None = None,
) -> Callable[[str, Any, Any], float]:
    """The scorer ``score=`` names; refuses an unknown name in one line.

    ``expected_values`` gives every expected value of the data, for ``choice`` with no
    options named (it is called only then).
    """
    if callable(score):
        return Custom(score)
    if not isinstance(score, str):
        raise ScoreError(
            f"score must be a scorer's name ({', '.join(NAMED)}) or a callable "
            f"(answer, expected, row) -> float, not {type(score).__name__}."
        )
    name, colon, argument = score.partition(":")
    if name == "exact" and not colon:
        return exact
    if name == "contains" and not colon:
        return contains
    if name == "regex":
        try:
            return Regex(re.compile(argument))
        except re.error as exc:
            raise ScoreError(f"score={score!r}: the pattern does not compile ({exc}).") from None
    if name == "number":
        if not colon:
            return Number()
        tolerance = number_in(argument) if argument.strip() else None
        if tolerance is None or tolerance < 0:
            raise ScoreError(
                f"score={score!r}: the tolerance must be a number of 0 or more, e.g. number:0.01."
            )
        return Number(tolerance)
    if name == "json" and not colon:
        if isinstance(schema, Mapping):
            _check_jsonschema()
        return JsonScore(schema)
    if name == "choice":
        return Choice(_options(argument if colon else None, choices, expected_values, score))
    raise ScoreError(
        f"score={score!r} names no scorer; use one of {', '.join(NAMED)}, "
        "or a callable (answer, expected, row) -> float."
    )


def _check_jsonschema() -> None:
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        raise ScoreError(
            "score='json' with a JSON Schema dict needs the jsonschema package "
            "(pip install 'aimo-magic[evaluate]'), or give schema= as a pydantic model class."
        ) from None


def _options(
    given: str | None,
    choices: Sequence[str] | None,
    expected_values: Callable[[], Iterable[Any]] | None,
    score: str,
) -> tuple[str, ...]:
    if given is not None:
        options = [o.strip() for o in given.split(",")]
    elif choices is not None:
        options = [str(o).strip() for o in choices]
    elif expected_values is not None:
        options = [str(v).strip() for v in expected_values() if v is not None]
    else:
        options = []
    kept = tuple(dict.fromkeys(o for o in options if o))
    if len(kept) < 2:
        raise ScoreError(
            f"score={score!r} needs two options or more: name them (choice:billing,bug,question "
            "or choices=[...]), or give expected= values that differ."
        )
    return kept
