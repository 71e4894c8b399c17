"""The emulator's answers fit the question: through the openai SDK, over real HTTP.

A word, a label, yes or no, a number, a choice among named options (in the prompt, in a
system prompt, in a schema's ``enum``), simple arithmetic: each gets a short answer,
the same every time. Open questions and the directives that ask for it keep the rich
answer (tables, code, math), and a small ``max_tokens`` gets a short whole answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import openai
import pytest

from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-0000"
MODEL = "DeepSeek-V3-1"
TICKET = "Classify this {product} ticket as billing, bug or question, in one word: {text}"


def sdk(emulator: EmulatorHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.base_url + "/v1", api_key=KEY, max_retries=0)


def answer(emulator: EmulatorHandle, prompt: str, system: str | None = None, **params: Any) -> Any:
    """The whole completion for one user message (and a system prompt, if given)."""
    messages: list[Any] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return sdk(emulator).chat.completions.create(model=MODEL, messages=messages, **params)


def text(emulator: EmulatorHandle, prompt: str, system: str | None = None, **params: Any) -> str:
    content = answer(emulator, prompt, system, **params).choices[0].message.content
    assert content is not None
    return str(content)


def streamed(emulator: EmulatorHandle, prompt: str, **params: Any) -> str:
    chunks = sdk(emulator).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": prompt}], stream=True, **params
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def is_rich(answer_text: str) -> bool:
    """Headings, a table, a code block and display math: the rendering demo's answer."""
    return bool(
        re.search(r"^#{1,3} ", answer_text, re.M)
        and re.search(r"^\|.*\|$", answer_text, re.M)
        and "```python\n" in answer_text
        and "$$" in answer_text
    )


@pytest.mark.parametrize(
    ("prompt", "number"),
    [
        ("What is 17 + 25?", "42"),
        ("what is 6 times 7", "42"),
        ("Compute (3 + 4) * 5.", "35"),
        ("What is 2^10?", "1024"),
        ("What is 10 / 4?", "2.5"),
        ("What is 10/3?", "3.333333"),
        ("12 − 20 =", "-8"),
        ("How much is 7 divided by 2?", "3.5"),
    ],
)
def test_simple_arithmetic_is_answered_with_the_number(
    emulator: EmulatorHandle, prompt: str, number: str
) -> None:
    assert text(emulator, prompt) == number
    assert streamed(emulator, prompt) == number


@pytest.mark.parametrize(
    "prompt",
    [
        "What is 1 / 0?",  # no answer: not arithmetic the emulator works out
        "What is 9 ** 99999?",  # too large to be simple, and never computed
        "What is __import__('os').system('true') + 1?",  # never run: it is text
    ],
)
def test_what_is_not_simple_arithmetic_is_not_computed(
    emulator: EmulatorHandle, prompt: str
) -> None:
    assert is_rich(text(emulator, prompt))


def test_a_choice_named_in_the_prompt_gets_one_option_the_one_the_text_points_to(
    emulator: EmulatorHandle,
) -> None:
    cases = {
        ("app", "The app crashes when I open settings."): "bug",
        ("billing", "Please send me last year's invoices."): "billing",
        ("app", "How do I export my data to CSV?"): "question",
        ("api", "The API returns 500 for large uploads."): "bug",
    }
    for (product, ticket), label in cases.items():
        prompt = TICKET.format(product=product, text=ticket)
        assert text(emulator, prompt) == label, prompt
        assert streamed(emulator, prompt) == label


def test_a_choice_with_no_pointer_is_one_of_the_options_the_same_every_time(
    emulator: EmulatorHandle,
) -> None:
    options = {"alpha", "beta", "gamma", "delta"}
    seen = set()
    for n in range(12):
        prompt = f"Pick one of: alpha, beta, gamma, delta. Case {n}."
        first = text(emulator, prompt)
        assert first in options
        assert text(emulator, prompt) == first, "deterministic"
        seen.add(first)
    assert len(seen) > 1, "the pick depends on the prompt text"


@pytest.mark.parametrize(
    ("prompt", "allowed"),
    [
        ("Is Python dynamically typed? Answer yes or no.", {"yes", "no"}),
        ("True or false: the Earth is flat.", {"True", "false"}),
        ("Tea or coffee?", {"Tea", "coffee"}),
        ("Which is better, tabs or spaces? One word.", {"tabs", "spaces"}),
        (
            'Rate the service as "too slow", "fine" or "fast": waited 2 hours',
            {"too slow", "fine", "fast"},
        ),
        ("Sentiment, positive/negative/neutral: I love this notebook", {"positive"}),
    ],
)
def test_each_form_of_options_gets_one_of_them(
    emulator: EmulatorHandle, prompt: str, allowed: set[str]
) -> None:
    assert text(emulator, prompt) in allowed


def test_options_in_the_system_prompt_classify_the_user_message(emulator: EmulatorHandle) -> None:
    system = "Classify each message as billing, bug or question. Answer with the label only."
    assert text(emulator, "I was charged twice this month.", system) == "billing"
    assert text(emulator, "Login fails with the new password.", system) == "bug"


def test_a_schema_enum_is_answered_with_the_value_the_prompt_points_to(
    emulator: EmulatorHandle,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": ["billing", "bug", "question"]},
            "urgency": {"type": "integer", "minimum": 1, "maximum": 5},
            "summary": {"type": "string", "maxLength": 40},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        "required": ["category", "urgency", "summary", "code"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "Triage", "schema": schema}}
    tickets = {
        "I was charged twice this month.": "billing",
        "The app crashes when I open settings.": "bug",
        "How do I export my data to CSV?": "question",
    }
    for ticket, category in tickets.items():
        prompt = f"Triage this ticket: {ticket}"
        value = json.loads(text(emulator, prompt, response_format=response_format))
        assert value["category"] == category and 1 <= value["urgency"] <= 5
        assert value["summary"] == ticket.rstrip(".?")[:40], "a summary field describes the input"
        assert value["code"] == "example", "no text is made up to meet a pattern"
    picks, urgencies = set(), set()
    for n in range(12):
        prompt = f"Triage ticket number {n}"
        value = json.loads(text(emulator, prompt, response_format=response_format))
        assert value == json.loads(text(emulator, prompt, response_format=response_format))
        picks.add(value["category"])
        urgencies.add(value["urgency"])
    assert picks <= {"billing", "bug", "question"} and len(picks) > 1
    assert urgencies <= {1, 2, 3, 4, 5} and len(urgencies) > 1, "a small range varies too"


@pytest.mark.parametrize(
    "prompt",
    [
        "Describe this library in one word: pandas is a data analysis toolkit.",
        "Give a single word for the mood of this sentence: the rain will not stop.",
        "Answer in one word: what colour is the sky?",
    ],
)
def test_one_word_is_one_word(emulator: EmulatorHandle, prompt: str) -> None:
    word = text(emulator, prompt)
    assert re.fullmatch(r"[A-Za-z][\w'-]*", word), word
    assert word == text(emulator, prompt)


def test_a_number_is_asked_for_and_given(emulator: EmulatorHandle) -> None:
    for prompt in ("How many moons does Mars have?", "Give the answer as a number: how old?"):
        assert re.fullmatch(r"\d+", text(emulator, prompt))


@pytest.mark.parametrize(
    ("prompt", "count"),
    [
        ("In one sentence: what is a base case?", 1),
        ("In two sentences: what is the difference between a line magic and a cell magic?", 2),
        ("Briefly, what is a closure?", 1),
    ],
)
def test_sentences_asked_for_are_that_many(
    emulator: EmulatorHandle, prompt: str, count: int
) -> None:
    reply = text(emulator, prompt)
    assert len(re.findall(r"[.!?](?:\s|$)", reply)) == count, reply
    assert "\n" not in reply and not is_rich(reply)


def test_a_one_line_reply_is_one_line_that_quotes_what_it_answers(
    emulator: EmulatorHandle,
) -> None:
    prompt = "Write a friendly one-line reply to this app customer: Dark mode would be lovely."
    reply = text(emulator, prompt)
    assert "\n" not in reply and "Dark mode would be lovely" in reply


def test_a_small_max_tokens_gets_a_short_whole_answer_not_a_cut_essay(
    emulator: EmulatorHandle,
) -> None:
    prompt = "What should a support team look at first?"
    assert is_rich(text(emulator, prompt)), "an open question gets the rich answer"
    for limit in (12, 30, 60):
        completion = answer(emulator, prompt, max_tokens=limit)
        assert completion.choices[0].finish_reason == "stop"
        assert completion.usage is not None and completion.usage.completion_tokens <= limit
        reply = completion.choices[0].message.content or ""
        assert reply.endswith(".") and not is_rich(reply)
    longer = text(emulator, prompt, max_tokens=60)
    assert len(longer) > len(text(emulator, prompt, max_tokens=30)), "more room, more said"


def test_a_limit_too_small_for_any_sentence_still_cuts_with_length(
    emulator: EmulatorHandle,
) -> None:
    completion = answer(emulator, "What should a support team look at first?", max_tokens=3)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 3


def test_open_questions_and_directives_keep_the_rich_answer(emulator: EmulatorHandle) -> None:
    for prompt in (
        "Explain recursion to someone who has only ever written loops.",
        "Is recursion or iteration better for computing a factorial in Python, and why?",
        "Which trends stand out in this table, and what should I check next?",
    ):
        assert is_rich(text(emulator, prompt)), prompt
    # A directive asks for its own answer, whatever the question looks like.
    assert len(text(emulator, "What is 2 + 2? ::words 5").split()) == 5
    assert "```sql\n" in text(emulator, "Classify as a or b in one word ::code sql")
    assert text(emulator, "Answer yes or no ::long 1").startswith("# A long answer")


@pytest.mark.parametrize(
    ("prompt", "topic", "not_shown"),
    [
        (
            "What is a Jupyter magic command, and when would I reach for one?",
            "What is a Jupyter magic command",
            "command,",
        ),
        (
            "Here is monthly revenue (thousands of euros) by region:\n\nNorth 120\nSouth 95\n\n"
            "Which trends stand out, and what should I check next?",
            "Which trends stand out",
            "(thousands of",
        ),
        (
            "Explain recursion to someone who has only ever written loops.",
            "Explain recursion to someone who has only ever written loops",
            "loops.",
        ),
        ("Tell me about tides.", "Tell me about tides", "tides."),
    ],
)
def test_a_rich_answer_names_the_question_whole_not_cut_mid_phrase(
    emulator: EmulatorHandle, prompt: str, topic: str, not_shown: str
) -> None:
    """The rich answer's heading names the question: its question sentence, cut at a
    clause rather than mid-phrase, without its closing punctuation."""
    answer_text = text(emulator, prompt)
    assert is_rich(answer_text), answer_text[:200]
    heading = answer_text.splitlines()[0]
    assert topic in heading, heading
    assert not_shown not in heading, heading
    assert ".." not in answer_text.replace("...", ""), "no doubled full stop"


def test_a_haiku_is_three_lines_and_code_requests_get_one_block(emulator: EmulatorHandle) -> None:
    poem = text(emulator, "Write a haiku about a river at night.")
    assert len(poem.splitlines()) == 3 and not is_rich(poem)
    code = text(emulator, "Write Python code that reverses a list.")
    assert code.count("```") == 2 and "```python\n" in code
    sql = text(emulator, "Show me an SQL example that counts users by country.")
    assert "```sql\n" in sql and sql.count("```") == 2


EXPLAIN_PROMPT = """This error came from a Python cell in a Jupyter notebook. Explain briefly \
what went wrong and why, then suggest a fix as corrected code.

Cell In[3]:
```python
def factorial(n):
    return n * factorial(n - 1)

factorial(5)
```

Traceback:
```
Traceback (most recent call last):
  File "In[3]", line 4, in <module>
    factorial(5)
  File "In[3]", line 2, in factorial
    return n * factorial(n - 1)
  [Previous line repeated 2970 more times]
{error}
```"""


def test_a_traceback_to_explain_gets_what_went_wrong_why_and_a_fix(
    emulator: EmulatorHandle,
) -> None:
    error = "RecursionError: maximum recursion depth exceeded"
    reply = text(emulator, EXPLAIN_PROMPT.format(error=error))
    assert reply.startswith(f"**What went wrong:** `{error}`, raised in `factorial` (line 2).")
    assert "**Why:**" in reply and "base case" in reply
    other = text(emulator, EXPLAIN_PROMPT.format(error="KeyError: 'revenue'"))
    assert "`KeyError: 'revenue'`" in other and "key" in other.split("**Why:**")[1]


@pytest.mark.parametrize(
    ("prompt", "reply"),
    [
        ("How many legs does a spider have? Answer with a number.", "8"),
        ("How many days are there in a week?", "7"),
        ("In one word: is water wet?", {"Yes", "No"}),
        ("In one word: hi?", "Hello"),
        ("Name one colour.", {"Blue", "Green", "Amber"}),
        ("Give me one animal", {"Otter", "Heron", "Fox"}),
    ],
)
def test_short_questions_everyone_knows_get_fitting_answers(
    emulator: EmulatorHandle, prompt: str, reply: str | set[str]
) -> None:
    given = text(emulator, prompt)
    assert given == reply if isinstance(reply, str) else given in reply


def test_a_haiku_fits_its_subject_when_one_does(emulator: EmulatorHandle) -> None:
    assert text(emulator, "Write a haiku about a river at night.").startswith("Quiet river night")
    assert text(emulator, "A haiku about code, please").startswith("Code runs line by line")


def test_a_json_object_takes_the_shape_the_prompt_describes(emulator: EmulatorHandle) -> None:
    prompt = (
        "Suggest three follow-up analyses of a sales table with the columns "
        "['month', 'region', 'revenue', 'orders'], as a JSON object with a short title and "
        "the columns needed for each."
    )
    plan = json.loads(text(emulator, prompt, response_format={"type": "json_object"}))
    assert list(plan) == ["analyses"] and len(plan["analyses"]) == 3
    for analysis in plan["analyses"]:
        assert set(analysis) == {"title", "columns"} and analysis["title"]
        assert analysis["columns"] and set(analysis["columns"]) <= {
            "month",
            "region",
            "revenue",
            "orders",
        }
    general = json.loads(
        text(emulator, "Facts about tides", response_format={"type": "json_object"})
    )
    assert general["topic"] == "Facts about tides", "no shape asked: the general answer"
