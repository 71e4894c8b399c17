"""Right or wrong: whether a model gets a checkable answer right, and its wrong answer.

A question with a checkable answer (arithmetic, a choice among named options, a schema's
``enum``) is answered right with the probability the serving model and provider have
(``model_traits``), decided by a hash, so the same request gets the same answer in every
run. The draw is shared by the providers of one model: a provider with a lower accuracy
gets wrong what a better one gets right, and both agree elsewhere, as copies of the same
weights served at different quality would. Where the request samples (``temperature`` above
0) and sends a ``seed``, the seed is part of the draw, so repeats with different seeds
show how stable a model is. A wrong answer is wrong in a plausible way: a number off by a
little, another of the options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aimo_magic.emulator.arithmetic import format_number
from aimo_magic.emulator.seeds import stable_fraction, stable_index


@dataclass(frozen=True)
class Grader:
    """The serving model and provider, how accurate they are, and the request's seed."""

    model: str
    provider: str
    accuracy: float = 1.0
    seed: Any = None
    """The request's ``seed`` when it samples (temperature above 0), else None."""

    def right(self, *question: Any) -> bool:
        """Whether this model gets the question (its prompt, and anything that tells
        apart questions in one prompt) right."""
        if self.accuracy >= 1.0:
            return True
        return stable_fraction("right", self.model, self.seed, *question) < self.accuracy

    def number(self, correct: str, *question: Any) -> str:
        """``correct``, or a plausible wrong number."""
        if self.right(*question):
            return correct
        value = float(correct)
        wrongs = [value + 1, value - 1, value + 10, value - 2, value * 10 if value else 7]
        pick = stable_index(len(wrongs), "wrong", self.model, self.provider, *question)
        return format_number(wrongs[pick])

    def option(self, options: Sequence[Any], correct: Any, *question: Any) -> Any:
        """``correct``, or another of the options."""
        others = [o for o in options if o != correct]
        if not others or self.right(*question):
            return correct
        return others[stable_index(len(others), "other", self.model, self.provider, *question)]


ALWAYS_RIGHT = Grader("", "")


def sampling_seed(params: dict[str, Any]) -> Any:
    """The request's seed if it samples (a ``temperature`` above 0 and a ``seed``)."""
    temperature = params.get("temperature")
    if isinstance(temperature, int | float) and temperature > 0:
        return params.get("seed")
    return None
