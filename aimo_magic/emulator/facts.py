"""A few facts everyone knows, so that short questions get right answers offline.

"How many legs does a spider have?" is answered 8 (a checkable answer: models get it
wrong as often as their accuracy says), "Name one colour." with a colour, "In one word: is
water wet?" with yes or no. The lists are small on purpose: anything else gets the
emulator's usual short answer.
"""

from __future__ import annotations

import re

from aimo_magic.emulator.seeds import stable_index

COUNTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("leg", "spider"), "8"),
    (("leg", "insect"), "6"),
    (("leg", "ant"), "6"),
    (("leg", "dog"), "4"),
    (("leg", "cat"), "4"),
    (("day", "week"), "7"),
    (("day", "year"), "365"),
    (("month", "year"), "12"),
    (("hour", "day"), "24"),
    (("minute", "hour"), "60"),
    (("second", "minute"), "60"),
    (("continent",), "7"),
    (("planet", "solar"), "8"),
    (("side", "triangle"), "3"),
    (("side", "square"), "4"),
    (("side", "hexagon"), "6"),
    (("side", "octagon"), "8"),
    (("string", "guitar"), "6"),
    (("bit", "byte"), "8"),
    (("colour", "rainbow"), "7"),
    (("color", "rainbow"), "7"),
    (("player", "football"), "11"),
    (("player", "soccer"), "11"),
)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "colour": ("Blue", "Green", "Amber"),
    "color": ("Blue", "Green", "Amber"),
    "fruit": ("Apple", "Mango", "Pear"),
    "animal": ("Otter", "Heron", "Fox"),
    "country": ("Norway", "Chile", "Kenya"),
    "city": ("Lisbon", "Osaka", "Quito"),
    "planet": ("Mars", "Venus", "Saturn"),
    "language": ("Python", "Rust", "Haskell"),
    "day": ("Tuesday", "Friday", "Sunday"),
    "month": ("April", "October", "June"),
    "instrument": ("Cello", "Flute", "Piano"),
    "flower": ("Tulip", "Iris", "Poppy"),
    "metal": ("Copper", "Iron", "Silver"),
    "shape": ("Triangle", "Circle", "Hexagon"),
    "number": ("7", "12", "42"),
}
_NAME_ONE = re.compile(
    r"\b(?:name|give|pick|tell\s+me)\s+(?:me\s+)?(?:one|a|an|any)\s+([a-z]+?)(?:s)?\b", re.I
)
_YES_NO_QUESTION = re.compile(
    r"^\s*(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have|had)\s+\w", re.I
)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))\b\W*$", re.I)


def _stem(word: str) -> str:
    return word.lower().rstrip("s")


def known_count(text: str) -> str | None:
    """The count a "how many" question asks for, when it is one of the known ones."""
    words = {_stem(w) for w in re.findall(r"[A-Za-z]+", text)}
    for keys, answer in COUNTS:
        if all(key in words for key in keys):
            return answer
    return None


def named_example(text: str, prompt: str) -> str | None:
    """An example of what "name one colour" asks for, when it is a known kind."""
    match = _NAME_ONE.search(text)
    if match is None:
        return None
    choices = EXAMPLES.get(_stem(match.group(1))) or EXAMPLES.get(match.group(1).lower())
    return choices[stable_index(len(choices), "example", prompt)] if choices else None


def is_yes_no_question(subject: str) -> bool:
    return _YES_NO_QUESTION.match(subject) is not None


def is_greeting(subject: str) -> bool:
    return _GREETING.match(subject) is not None
