"""What a prompt asks for: a number, one of some options, a word, a few sentences, or an
open answer; and, where it can be checked, the right answer.

The emulator answers canned text, but a canned essay to "classify this ticket in one
word" makes every example look wrong. So the prompt is read (never run) for:

- simple arithmetic asked as a question (``What is 17 + 25?``): the number;
- options named after a marker (``as billing, bug or question``, ``one of: a, b, c``,
  ``yes or no``, ``A/B/C``); multi-word options are quoted (``"too slow" or "fine"``):
  one of them, the *expected* one being the option the rest of the prompt points to
  (named in it, or through a few common synonyms), else one picked by a hash of the
  prompt, so the same prompt always gets the same option;
- a short form asked for: one word or a label, a number, N sentences or one line,
  a haiku, a code example;
- a traceback to explain (``%aimo explain``): what went wrong, why, how to fix it.

Anything else is an open question and gets the rich answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aimo_magic.emulator.arithmetic import find_arithmetic
from aimo_magic.emulator.explanations import reported_error
from aimo_magic.emulator.seeds import stable_index

Kind = Literal[
    "arithmetic", "choice", "number", "word", "sentences", "haiku", "code", "error", "open"
]

_ITEM = r"(?:\"[^\"\n]{1,40}\"|'[^'\n]{1,40}'|`[^`\n]{1,40}`|[A-Za-z0-9][\w'-]*)"
_OR_LIST = rf"{_ITEM}(?:\s*,\s*{_ITEM})*\s*,?\s+or\s+{_ITEM}"
_WORD_ITEM = r"(?:\"[^\"\n]{1,40}\"|'[^'\n]{1,40}'|[A-Za-z][\w'-]*)"
_SLASH_LIST = rf"{_WORD_ITEM}(?:\s*/\s*{_WORD_ITEM})+"
_MARKER = (
    r"(?:\bas|\binto|\bbetween|\bone\s+of|\beither|\bamong|\bfrom|\bis\s+it|\bchoose|\bpick"
    r"|\bselect|\bwith|\boptions?|\blabels?|\bcategories|\bchoices|\banswer|\breply|\brespond)"
)
_MARKED_LIST = re.compile(rf"{_MARKER}\s*:?\s*(?P<list>{_OR_LIST}|{_SLASH_LIST})", re.I)
# After a marker that can only introduce options, a plain comma list will do.
_LISTED = re.compile(
    rf"(?:\bone\s+of|\boptions?|\blabels?|\bcategories|\bchoices)\s*:?\s*"
    rf"(?P<list>{_ITEM}(?:\s*,\s*{_ITEM})+)\s*(?:[.;:?!]|$)",
    re.I | re.M,
)
_SLASH_ASKED = re.compile(rf"(?P<list>{_SLASH_LIST})\s*[:?]", re.I)
_PAIR = re.compile(rf"(?P<list>{_ITEM}\s+or\s+{_ITEM})", re.I)
_PAIR_ASKED = re.compile(rf"(?P<list>{_ITEM}\s+or\s+{_ITEM})\s*\?", re.I)
_YES_NO = re.compile(r"\b(yes)\s*(?:or|/)\s*(no)\b|\b(true)\s*(?:or|/)\s*(false)\b", re.I)
_ITEM_SPLIT = re.compile(r"\s*(?:,\s*or\s+|,|\s+or\s+|/)\s*", re.I)

_WORD_CUES = re.compile(
    r"\b(?:one|single|1)[ -]word\b|\bin\s+a\s+word\b|\ba\s+label\b|\bthe\s+label\b"
    r"|\blabel\s+only\b",
    re.I,
)
_CHOICE_CUES = re.compile(
    r"\bclassif|\bcategori[sz]|\blabel|\bchoose\b|\bpick\b|\bselect\b|\bwhich\s+(?:one|of)\b"
    r"|\bone\s+of\b|\banswer\s+(?:with|only|just)\b|\brespond\s+with\b|\breply\s+with\b",
    re.I,
)
_NUMBER_CUES = re.compile(
    r"\bhow\s+many\b|\b(?:a|the|one)\s+number\b|\bnumber\s+only\b|\bonly\s+the\s+number\b"
    r"|\bjust\s+the\s+number\b|\bas\s+a\s+number\b|\binteger\b",
    re.I,
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a": 1, "a single": 1}
_SENTENCE_COUNT = re.compile(
    r"\b(?:in|with|using|as)?\s*(one|two|three|four|five|a single|a|[1-5])\s+sentences?\b", re.I
)
_LINE_CUES = re.compile(
    r"\bone[ -]line\b|\ba\s+line\b|\bsingle\s+line\b|\bbriefly\b|\bin\s+brief\b|\bin\s+short\b"
    r"|\bshort\s+answer\b|\btl;?dr\b|\bconcise(?:ly)?\b|\bone[ -]liner\b",
    re.I,
)
_HAIKU = re.compile(r"\bhaiku\b", re.I)
_CODE_CUES = re.compile(
    r"\b(?:write|show|give)\b[^.?!\n]{0,60}\b(?:code|function|script|snippet|example)\b"
    r"|\bcode\s+(?:that|to|for)\b",
    re.I,
)
_ARITHMETIC_CUES = re.compile(
    r"\bwhat\s+is\b|\bwhat's\b|\bhow\s+much\b|\bcompute\b|\bcalculate\b|\bevaluate\b"
    r"|\bwork\s+out\b|\bsolve\b|\bresult\s+of\b|=\s*\??\s*$",
    re.I,
)
_EXPLANATION_CUES = re.compile(r"\bwhy\b|\bexplain\b|\bjustify\b|\breasons?\b", re.I)
_LANGUAGES = (
    "python",
    "javascript",
    "typescript",
    "sql",
    "bash",
    "rust",
    "go",
    "java",
    "r",
    "c",
    "html",
    "css",
    "json",
)
# Which option a text points to when it does not name it: a few label sets seen often.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "bug": (
        "crash",
        "error",
        "fail",
        "broken",
        "500",
        "exception",
        "not work",
        "doesn't work",
        "does nothing",
        "no results",
        "freez",
        "glitch",
        "bug",
    ),
    "billing": (
        "charge",
        "invoice",
        "payment",
        "refund",
        "price",
        "subscription",
        "paid",
        "vat",
        "bill",
    ),
    "question": ("how do", "how can", "what is", "where", "can i", "is there", "?"),
    "feature": ("would be", "please add", "wish", "could you add", "lovely"),
    "positive": ("good", "great", "love", "excellent", "fine", "nice", "happy", "amazing"),
    "negative": ("bad", "awful", "terrible", "hate", "poor", "worst", "angry", "disappoint"),
    "neutral": ("okay", "average", "neither", "so-so"),
    "yes": ("yes", "correct", "true", "indeed"),
    "no": ("not", "never", "false", "wrong"),
}
_STOPWORD_TEXT = (
    "a an the and or but of to in on at for with by from as is are was were be been this that "
    "these those it its i you we they he she my your our their me us them what which who whom "
    "how why when where do does did can could would should will shall may might must please "
    "give write tell describe summarise summarize answer reply respond classify label word "
    "words one single only just in about into than then so very more most some any each"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Question:
    """What the prompt asks for and, if checkable, the right answer."""

    kind: Kind
    expected: str | None = None
    """The right answer, for arithmetic and choices (the option as the prompt spells it)."""
    options: tuple[str, ...] = ()
    sentences: int = 0
    language: str = "python"
    subject: str = ""
    """What the question is about: the text after its last colon, or the prompt itself."""

    @property
    def checkable(self) -> bool:
        return self.expected is not None


def _clean_item(item: str) -> str:
    return item.strip().strip("\"'`").strip()


def _items(text: str) -> tuple[str, ...]:
    items = tuple(_clean_item(i) for i in _ITEM_SPLIT.split(text) if _clean_item(i))
    unique = tuple(dict.fromkeys(items))
    return unique if 2 <= len(unique) <= 12 else ()


def find_options(text: str, *, cued: bool) -> tuple[tuple[str, ...], tuple[int, int] | None]:
    """The options named in ``text`` and where their list stands. An unmarked ``X or Y``
    or ``A/B/C`` counts when it is the question (``Tea or coffee?``, ``positive/negative:``)
    or when ``cued`` (the prompt asks to classify, to choose, to answer in a word)."""
    yes_no = _YES_NO.search(text)
    if yes_no:
        words = tuple(w for w in yes_no.groups() if w)
        return words, yes_no.span()
    patterns = [_MARKED_LIST, _LISTED, _PAIR_ASKED, _SLASH_ASKED] + ([_PAIR] if cued else [])
    for pattern in patterns:
        for match in pattern.finditer(text):
            items = _items(match.group("list"))
            if items:
                return items, match.span("list")
    return (), None


def _mentions(text: str, word: str) -> bool:
    if not word:
        return False
    if word == "?":
        return "?" in text
    return re.search(rf"(?<![\w-]){re.escape(word)}", text, re.I) is not None


def expected_option(options: tuple[str, ...], prompt: str, span: tuple[int, int] | None) -> str:
    """The option the prompt points to: named outside the list, then through synonyms,
    else one picked by a hash of the prompt."""
    rest = prompt if span is None else prompt[: span[0]] + " " + prompt[span[1] :]
    named = [o for o in options if _mentions(rest, o)]
    if len(named) == 1:
        return named[0]
    scores = [sum(_mentions(rest, s) for s in SYNONYMS.get(o.lower(), ())) for o in options]
    best = max(scores, default=0)
    if best > 0 and scores.count(best) == 1:
        return options[scores.index(best)]
    return options[stable_index(len(options), "choice", prompt)]


def subject_of(prompt: str) -> str:
    """What is asked about: the text after the last colon of the first line that has one
    (``Classify ...: <ticket>``), else the whole prompt; on one line, without end marks."""
    head, sep, tail = prompt.partition(":")
    text = tail if sep and tail.strip() and len(head) < 200 else prompt
    text = " ".join(text.split())
    return text.strip(" .?!")


def key_word(text: str, prompt: str) -> str:
    """One telling word of ``text``: its longest content word (a hash breaks ties)."""
    words = [w.strip("'-") for w in re.findall(r"[A-Za-z][\w'-]*", text)]
    candidates = [w for w in words if len(w) > 2 and w.lower() not in _STOPWORDS]
    if not candidates:
        return ("Clear", "Simple", "Useful", "Careful")[stable_index(4, "word", prompt)]
    longest = max(len(w) for w in candidates)
    tied = [w for w in candidates if len(w) == longest]
    word = tied[stable_index(len(tied), "word", prompt)]
    return word[0].upper() + word[1:]


def _sentence_count(text: str) -> int:
    match = _SENTENCE_COUNT.search(text)
    if match:
        word = match.group(1).lower()
        return _NUMBER_WORDS.get(word) or int(word)
    return 1 if _LINE_CUES.search(text) else 0


def _language(text: str) -> str:
    for language in _LANGUAGES:
        if re.search(rf"(?<![\w/.-]){re.escape(language)}(?![\w+#-])", text, re.I):
            return language
    return "pandas" if re.search(r"\bpandas\b", text, re.I) else "python"


def read_question(prompt: str, instructions: str = "") -> Question:
    """What ``prompt`` (the last user message, directives removed) asks for;
    ``instructions`` (system prompts) can ask for a form too, or name the options."""
    both = f"{instructions}\n{prompt}" if instructions else prompt
    subject = subject_of(prompt)
    if reported_error(prompt) is not None:
        return Question("error", subject=subject)
    explains = _EXPLANATION_CUES.search(both) is not None
    arithmetic = find_arithmetic(prompt)
    if arithmetic is not None and not explains:
        rest = prompt.replace(arithmetic.expression, " ")
        if _ARITHMETIC_CUES.search(prompt) or len(re.findall(r"[A-Za-z]+", rest)) <= 3:
            return Question("arithmetic", arithmetic.answer, subject=arithmetic.expression)
    word_cue = _WORD_CUES.search(both) is not None
    cued = word_cue or _CHOICE_CUES.search(both) is not None
    if not explains or word_cue:
        options, span = find_options(prompt, cued=cued)
        if not options and instructions:
            # Options in the system prompt: the user's message is the text to classify.
            options, span = find_options(instructions, cued=cued)[0], None
        if options:
            expected = expected_option(options, prompt, span)
            return Question("choice", expected, options, subject=subject)
    if _NUMBER_CUES.search(both) and not explains:
        return Question("number", subject=subject)
    if word_cue:
        return Question("word", subject=subject)
    if _HAIKU.search(both):
        return Question("haiku", subject=subject)
    sentences = _sentence_count(both)
    if sentences:
        return Question("sentences", sentences=sentences, subject=subject)
    if _CODE_CUES.search(prompt):
        return Question("code", language=_language(prompt), subject=subject)
    return Question("open", subject=subject)
