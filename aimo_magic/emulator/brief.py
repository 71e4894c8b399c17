"""Short canned answers: a word, a number, a sentence or a few, a reply, a haiku, a code
example; each fitted to the answer's token limit when there is one.

Each composer returns its candidates from the fullest to the shortest; ``fit`` keeps
the first that fits the limit, so a small ``max_tokens`` gets a whole short answer (and
``finish_reason: "stop"``) rather than an essay cut off mid-word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aimo_magic.emulator import samples
from aimo_magic.emulator.questions import Question, key_word
from aimo_magic.emulator.seeds import stable_index
from aimo_magic.emulator.tokens import count_tokens

TOPIC_WORDS = 12
QUOTE_WORDS = 14
_LEAD_IN = re.compile(
    r"^(?:what\s+is|what\s+are|what's|explain|describe|define|tell\s+me\s+about|how\s+does"
    r"|how\s+do|talk\s+about|summari[sz]e)\s+(?P<topic>.+)$",
    re.I,
)
_REPLY = re.compile(r"\b(?:reply|respond|response|answer\s+this\s+customer)\b", re.I)
_SUMMARY = re.compile(r"\bsummar|\btl;?dr\b", re.I)

SENTENCES = (
    "In short, {topic} comes down to one idea: start from the simplest case and build on it.",
    "A good way into {topic} is one small example that you run and check yourself.",
    "What matters most for {topic} is a clear goal, a minimal working version and a check "
    "of the result.",
    "Once the simple case of {topic} works, extend it one step at a time and check each step.",
    "Keep a note of what you tried on {topic}, so that the next step starts from evidence.",
)
SHORTEST = "In short: start simple and check each step."
REPLIES = (
    "Thanks for reaching out about {quote}: we're on it and will get back to you shortly!",
    "Thank you for telling us about {quote}; we're looking into it and will update you soon.",
)
SHORT_REPLIES = (
    "Thanks for reaching out: we're on it and will get back to you shortly!",
    "Thank you for telling us; we're looking into it and will update you soon.",
)
HAIKUS = (
    ("Quiet river night", "moonlight folds into the stream", "stones keep the old song"),
    ("Code runs line by line", "a small loop turns in the dark", "then the answer comes"),
    ("Morning light arrives", "the notebook wakes cell by cell", "each output a leaf"),
)
PANDAS_SNIPPET = (
    "import pandas as pd\n\n\n"
    'def plot_columns(df: pd.DataFrame, title: str = "Overview"):\n'
    '    """One line per column, with markers, on a shared axis."""\n'
    '    ax = df.plot(marker="o", title=title, figsize=(6, 3))\n'
    '    ax.set_ylabel("value")\n'
    "    return ax"
)


def fit(candidates: Sequence[str], limit: int | None) -> str:
    """The first candidate within ``limit`` tokens, else the shortest (to be cut)."""
    if limit is None:
        return candidates[0]
    for text in candidates:
        if count_tokens(text) <= limit:
            return text
    return candidates[-1]


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def topic(subject: str) -> str:
    """A noun phrase for the subject (``what is a base case`` → ``a base case``), else the
    subject quoted."""
    questions = [s for s in re.split(r"(?<=[.?!])\s+", subject) if s.strip()]
    sentence = next((s for s in reversed(questions) if s.endswith("?")), None)
    sentence = (sentence or (questions[-1] if questions else subject)).strip(" .?!")
    lead = _LEAD_IN.match(sentence)
    if lead and len(lead.group("topic").split()) <= TOPIC_WORDS:
        return lead.group("topic").rstrip(" .?!")
    return f"“{_clip(sentence, TOPIC_WORDS)}”" if sentence else "this question"


def sentences(question: Question, prompt: str, limit: int | None) -> str:
    """``question.sentences`` sentences (a reply or a summary if that is asked)."""
    if _REPLY.search(prompt):
        pick = stable_index(len(REPLIES), "reply", prompt)
        quote = f"“{_clip(question.subject, QUOTE_WORDS)}”"
        return fit([REPLIES[pick].format(quote=quote), SHORT_REPLIES[pick]], limit)
    if _SUMMARY.search(prompt) and question.subject:
        first = re.split(r"(?<=[.?!])\s+", question.subject)[0].rstrip(" .?!")
        return fit([f"In short: {_clip(first, 20)}.", "In short: as described."], limit)
    return paragraph(topic(question.subject), max(question.sentences, 1), limit)


def paragraph(subject_topic: str, count: int, limit: int | None) -> str:
    """Up to ``count`` sentences about the topic, as many as fit the limit (one at least)."""
    chosen = [SENTENCES[i % len(SENTENCES)] for i in range(count)]
    texts = [" ".join(chosen[:n]).format(topic=subject_topic) for n in range(count, 0, -1)]
    texts.append(SHORTEST)
    text = fit(texts, limit)
    return text[0].upper() + text[1:]


def haiku(prompt: str) -> str:
    """The haiku whose words the prompt shares most (a river for a river), else one by hash."""
    asked = {w.lower() for w in re.findall(r"[A-Za-z]+", prompt)}
    overlaps = [len(asked & {w.lower() for w in " ".join(h).split()}) for h in HAIKUS]
    best = max(overlaps)
    chosen = overlaps.index(best) if best else stable_index(len(HAIKUS), "haiku", prompt)
    return "  \n".join(HAIKUS[chosen])  # two spaces: a line break in markdown


def code_example(language: str, limit: int | None) -> str:
    """One sentence and one code block, in the language the prompt names."""
    fence, body = language, samples.code_snippet(language)
    if language == "pandas":
        fence, body = "python", PANDAS_SNIPPET
    intro = f"Here is a small {fence} example you can run on its own:"
    block = f"```{fence}\n{body}\n```\n"
    return fit([f"{intro}\n\n{block}", block], limit)


def number(prompt: str) -> str:
    return str(2 + stable_index(11, "number", prompt))


def word(question: Question, prompt: str) -> str:
    return key_word(question.subject, prompt)


def brief(subject: str, limit: int) -> str:
    """An open question asked with a small ``max_tokens``: a few whole sentences."""
    return paragraph(topic(subject), len(SENTENCES), limit)


_TEXT_FIELDS = re.compile(
    r"summary|title|headline|topic|description|reason|rationale|explanation|comment|note"
    r"|text|answer|reply|response|message",
    re.I,
)


def field_text(name: str, subject: str) -> str | None:
    """A string property that describes the input (``summary``, ``title``, ``reason``...)
    gets the input's first words; any other gets None (the schema's example)."""
    if not _TEXT_FIELDS.search(name) or not subject.strip():
        return None
    words = 6 if re.search(r"title|headline|topic", name, re.I) else QUOTE_WORDS
    return _clip(subject, words)
