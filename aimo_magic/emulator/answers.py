"""What the emulator answers: chosen by directives, else fitted to the question; the same
text for the same request."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aimo_magic.emulator import brief, samples
from aimo_magic.emulator.directives import Directives
from aimo_magic.emulator.explanations import explanation, reported_error
from aimo_magic.emulator.grading import ALWAYS_RIGHT, Grader
from aimo_magic.emulator.json_answers import shaped_json
from aimo_magic.emulator.questions import (
    Question,
    expected_option,
    read_question,
    subject_of,
)
from aimo_magic.emulator.received_images import ImageFacts, images_summary, mention
from aimo_magic.emulator.schema import Chooser, schema_instance
from aimo_magic.emulator.seeds import stable_index
from aimo_magic.emulator.tokens import content_text, count_tokens
from aimo_magic.emulator.tools import results_answer

UNICODE_TAIL = "\n\nUnicode check: line\u2028separator, paragraph\u2029separator, emoji 🎉🚀👩‍💻."


@dataclass(frozen=True)
class RequestView:
    """The facts about a chat request that an ``::echo`` answer reports."""

    model_asked: str
    served: str
    provider_name: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    authorization_present: bool = False
    user_agent: str | None = None
    images: tuple[ImageFacts, ...] = ()
    grader: Grader = ALWAYS_RIGHT
    """Whether the serving model gets checkable answers right (``grading``)."""


def _shorten(value: Any) -> Any:
    """Data URLs in image parts can be megabytes; an echo keeps only their start."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > 80:
        return value[:64] + f"... ({len(value)} chars)"
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    return value


def echo_facts(view: RequestView) -> dict[str, Any]:
    system = [m.get("content") for m in view.messages if m.get("role") == "system"]
    return {
        "model_requested": view.model_asked,
        "model_served": view.served,
        "provider_id": view.served.split(":", 1)[0],
        "provider_name": view.provider_name,
        "message_count": len(view.messages),
        "messages": [
            {"role": m.get("role"), "content": _shorten(m.get("content"))} for m in view.messages
        ],
        "system_prompt": system[0] if len(system) == 1 else (system or None),
        "parameters": _shorten(view.params),
        "images": images_summary(view.images),
        "headers": {
            "x-request-id": view.request_id,
            "authorization_present": view.authorization_present,
            "user-agent": view.user_agent,
        },
    }


TOPIC_WORDS = 10
# Words a phrase cut short must not end on ("… someone who has", "… thousands of").
_DANGLING = frozenset(
    re.findall(
        r"\w+",
        "a an the and or but of to for in on at by with from about as that which who whom "
        "whose when where while if than then so is are was were be has have had do does did "
        "can could would should will may might must i you we they it this these those my "
        "your our their only ever just also very",
    )
)


def _topic(prompt: str) -> str:
    """What a rich answer says it is about: the prompt's question (its last sentence that
    asks one, else its first), without closing punctuation, cut at a clause or a whole
    word rather than mid-phrase, so headings read as a title."""
    pieces = [p.strip() for p in re.split(r"(?<=[.?!:])\s+|\n+", prompt) if p.strip()]
    if not pieces:
        return "your question"
    sentence = next((p for p in reversed(pieces) if p.endswith("?")), pieces[0])
    words = sentence.rstrip(" .?!:;,").split()
    if len(words) > TOPIC_WORDS:
        clauses = [i for i, word in enumerate(words[:TOPIC_WORDS]) if word.endswith(",")]
        words = words[: clauses[-1] + 1] if clauses else words[:TOPIC_WORDS]
        while len(words) > 1 and words[-1].strip(",;:").lower() in _DANGLING:
            words.pop()
    return " ".join(words).rstrip(" .?!:;,") or "your question"


def _variant(prompt: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") % count


def _instructions(view: RequestView) -> str:
    """The system (and developer) prompts: they can ask for a form or name the options."""
    return "\n".join(
        content_text(m.get("content"))
        for m in view.messages
        if m.get("role") in ("system", "developer")
    )


def _limit(view: RequestView) -> int | None:
    limit = view.params.get("max_completion_tokens") or view.params.get("max_tokens")
    return limit if isinstance(limit, int) else None


def _chooser(prompt: str, grader: Grader) -> Chooser:
    """An ``enum``'s value the way a choice in the prompt is answered (see ``questions``):
    right as often as the serving model is."""

    def choose(values: Sequence[Any]) -> Any:
        if all(isinstance(v, str) for v in values) and len(set(values)) == len(values):
            expected = expected_option(tuple(values), prompt, None)
            return grader.option(values, expected, prompt, tuple(values))
        return values[stable_index(len(values), "enum", values, prompt)]

    return choose


def _json_answer(directives: Directives, view: RequestView, response_format: Any) -> str:
    if directives.kind == "echo":
        return json.dumps(echo_facts(view), ensure_ascii=False, indent=2)
    json_schema = response_format.get("json_schema") if response_format else None
    if isinstance(json_schema, dict) and isinstance(json_schema.get("schema"), dict):
        subject = subject_of(directives.prompt)
        value = schema_instance(
            json_schema["schema"],
            _chooser(directives.prompt, view.grader),
            lambda name, _schema: brief.field_text(name, subject),
        )
        return json.dumps(value, ensure_ascii=False, indent=2)
    shaped = shaped_json(directives.prompt)
    if shaped is not None:
        return json.dumps(shaped, ensure_ascii=False, indent=2)
    words = directives.prompt.split()
    data = {
        "topic": _topic(directives.prompt),
        "word_count": len(words),
        "items": [{"rank": i + 1, "word": w} for i, w in enumerate(words[:5])],
        "model": view.served,
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _directed(directives: Directives, view: RequestView) -> str:
    """The answer a content directive asks for."""
    topic = _topic(directives.prompt)
    if directives.kind == "echo":
        return json.dumps(echo_facts(view), ensure_ascii=False, indent=2)
    if directives.kind == "hostile":
        return samples.HOSTILE_MARKDOWN
    if directives.kind == "code":
        language = directives.language
        return (
            f"Here is a short {language} example for {topic}.\n\n"
            f"```{language}\n{samples.code_snippet(language)}\n```\n"
        )
    if directives.kind == "long":
        return samples.long_markdown(topic, directives.size)
    return samples.plain_words(directives.size)


def fitting_answer(question: Question, prompt: str, view: RequestView) -> str:
    """The answer that fits what the prompt asks for (see ``questions``)."""
    limit = _limit(view)
    if question.kind == "arithmetic" and question.expected is not None:
        return view.grader.number(question.expected, prompt)
    if question.kind == "choice" and question.expected is not None:
        return str(view.grader.option(question.options, question.expected, prompt))
    if question.kind == "number":
        if question.expected is not None:
            return view.grader.number(question.expected, prompt)
        return brief.number(prompt)
    if question.kind == "word":
        return question.expected or brief.word(question, prompt)
    if question.kind == "haiku":
        return brief.haiku(prompt)
    if question.kind == "sentences":
        return mention(view.images) + brief.sentences(question, prompt, limit)
    if question.kind == "error":
        error = reported_error(prompt)
        return explanation(error) if error is not None else ""
    if question.kind == "code":
        return brief.code_example(question.language, limit)
    rich = mention(view.images) + samples.rich_markdown(_topic(prompt), _variant(prompt, 3))
    if limit is not None and count_tokens(rich) > limit:
        return mention(view.images) + brief.brief(question.subject, limit)
    return rich


def compose_answer(directives: Directives, view: RequestView) -> str:
    """Directives first (they ask for an exact kind of answer), then JSON if the request
    asks for it, then the answer that fits the question."""
    response_format = view.params.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        return _json_answer(directives, view, response_format)
    if directives.kind is not None:
        return _directed(directives, view)
    quoted = results_answer(view.messages, directives.prompt)
    if quoted is not None:
        return quoted
    question = read_question(directives.prompt, _instructions(view))
    return fitting_answer(question, directives.prompt, view)
