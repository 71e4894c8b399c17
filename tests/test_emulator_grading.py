"""Models that differ: each emulator model (and provider) is right on checkable questions
as often as its accuracy says, the same way in every run, over real HTTP.

An evaluation against the emulator must show what one against AiMo would: models that
differ in score, a frontier of price against score, providers of one model that disagree.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from aimo_magic.emulator import EmulatorHandle, provider_id, start
from aimo_magic.emulator.model_traits import accuracy, timing

KEY = "aimo-sk-v2-test-0000"
ROWS = 120
GPT = "openai/gpt-4o"


@pytest.fixture(scope="module")
def graded() -> Iterator[EmulatorHandle]:
    """An emulator where each model has its own accuracy (the shared one is always right)."""
    with start() as handle:
        yield handle


@pytest.fixture(scope="module")
def http(graded: EmulatorHandle) -> Iterator[httpx2.Client]:
    with httpx2.Client(
        base_url=graded.base_url,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
        verify=False,
    ) as client:
        yield client


def answer(http: httpx2.Client, model: str, prompt: str, **params: Any) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], **params}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def sums(n: int) -> tuple[str, str]:
    a, b = 17 + 7 * n, 25 + 3 * n
    return f"What is {a} + {b}?", str(a + b)


def tickets(n: int) -> tuple[str, str]:
    texts = {
        "bug": f"Order {n}: the app crashes when I open settings.",
        "billing": f"Order {n}: I was charged twice this month.",
        "question": f"Order {n}: how do I export my data?",
    }
    label = ("bug", "billing", "question")[n % 3]
    return f"Classify this ticket as billing, bug or question, in one word: {texts[label]}", label


def given(http: httpx2.Client, model: str, asked: list[tuple[str, str]]) -> list[str]:
    """``model``'s answers to the questions, in order (asked eight at a time)."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda qa: answer(http, model, qa[0]), asked))


def score(http: httpx2.Client, model: str, questions: Any = sums, rows: int = ROWS) -> list[bool]:
    """Whether ``model`` got each of ``rows`` questions right, in order."""
    asked = [questions(n) for n in range(rows)]
    return [g == a for g, (_, a) in zip(given(http, model, asked), asked, strict=True)]


def test_each_model_is_right_about_as_often_as_its_accuracy(http: httpx2.Client) -> None:
    rates = {}
    for model, provider in [
        (GPT, "nebula-gpu"),
        ("openai/gpt-4o-mini", "nebula-gpu"),
        ("DeepSeek-V3-1", "akash-ml"),
        ("mistralai/mistral-small-3.1-24b-instruct", "helios-compute"),
    ]:
        rate, expected = sum(score(http, model)) / ROWS, accuracy(model, provider)
        standard_error = (expected * (1 - expected) / ROWS) ** 0.5
        assert abs(rate - expected) < 3 * standard_error, (model, rate, expected)
        rates[model] = rate
    assert len({round(r, 2) for r in rates.values()}) == len(rates), "the models differ"
    assert rates[GPT] > rates["mistralai/mistral-small-3.1-24b-instruct"]


def test_wrong_answers_are_plausible_and_the_same_in_every_run(http: httpx2.Client) -> None:
    model = "mistralai/mistral-small-3.1-24b-instruct"
    asked = [sums(n) for n in range(60)]
    wrong_sums = [
        (q, a, g) for (q, a), g in zip(asked, given(http, model, asked), strict=True) if g != a
    ]
    assert wrong_sums, "a model below 1.0 gets some wrong"
    for question, right, wrong in wrong_sums:
        assert wrong.lstrip("-").isdigit() and abs(int(wrong) - int(right)) <= 10 * int(right)
        assert answer(http, model, question) == wrong, "the same wrong answer every time"
    asked = [tickets(n) for n in range(60)]
    wrong_labels = [
        (a, g) for (_, a), g in zip(asked, given(http, model, asked), strict=True) if g != a
    ]
    assert wrong_labels and all(
        g in {"billing", "bug", "question"} and g != a for a, g in wrong_labels
    ), "another of the options"


def test_providers_of_one_model_disagree_where_the_worse_one_errs(http: httpx2.Client) -> None:
    """The draw is shared by a model's providers: the better provider is right wherever
    the worse one is, and right on some prompts the worse one gets wrong."""
    nebula = score(http, f"{provider_id('nebula-gpu')}:{GPT}", tickets)
    solstice = score(http, f"{provider_id('solstice-labs')}:{GPT}", tickets)
    pairs = list(zip(nebula, solstice, strict=True))
    assert all(n for n, s in pairs if s), "nebula-gpu is right wherever solstice-labs is"
    disagree = sum(n != s for n, s in pairs)
    assert 0 < disagree < ROWS // 5, disagree
    assert score(http, GPT, tickets) == nebula, "the routing name goes to the cheapest, nebula-gpu"


def test_a_frontier_of_price_against_score(graded: EmulatorHandle, http: httpx2.Client) -> None:
    """Scores and prices of the routing names: several models are beaten by no other on
    both, so an evaluation has a choice to make."""
    listed = {m["name"]: m for m in http.get("/v1/models").json()["data"]}
    models = [GPT, "openai/gpt-4o-mini", "openai/gpt-4.1", "anthropic/claude-3.5-haiku"]
    models += ["DeepSeek-V3-1", "gpt-oss-120b", "mistralai/mistral-small-3.1-24b-instruct"]
    points = {}
    for model in models:
        prices = [p["pricing"] for p in listed[model]["providers"]]
        price = min(p["prompt"] + p["completion"] for p in prices)
        points[model] = (price, sum(score(http, model)) / ROWS)
    frontier = [
        m
        for m, (price, rate) in points.items()
        if not any(p <= price and r >= rate and (p, r) != (price, rate) for p, r in points.values())
    ]
    assert len(frontier) >= 3, points
    assert "anthropic/claude-3.5-haiku" not in frontier, "dearer and worse than others"


def test_sampling_with_a_seed_varies_the_draw_and_temperature_zero_does_not(
    http: httpx2.Client,
) -> None:
    model = "DeepSeek-R1-Distill-Qwen-32B"  # right about 6 times in 10
    question, _ = sums(3)
    fixed = {answer(http, model, question, temperature=0, seed=s) for s in range(12)}
    assert len(fixed) == 1, "no sampling: one answer"
    sampled = [answer(http, model, question, temperature=0.8, seed=s) for s in range(12)]
    assert len(set(sampled)) > 1, "sampling with other seeds: sometimes right, sometimes not"
    assert sampled == [answer(http, model, question, temperature=0.8, seed=s) for s in range(12)]


def test_accuracy_can_be_set_for_the_server_a_provider_or_one_request(
    http: httpx2.Client,
) -> None:
    model = "Llama-3.2-11B-Vision-Instruct"  # right about half the time
    assert not all(score(http, model, sums, 40))
    with (
        start(accuracy=1.0, providers=["akash-ml;accuracy=0"]) as handle,
        httpx2.Client(
            base_url=handle.base_url, headers={"Authorization": f"Bearer {KEY}"}, verify=False
        ) as other,
    ):
        assert all(score(other, GPT, sums, 40)), "the server's accuracy"
        assert not any(score(other, model, sums, 40)), "the akash-ml profile's accuracy"
    question, right = sums(1)
    assert answer(http, model, f"{question} ::provider * accuracy=1") == right
    assert answer(http, model, f"{question} ::provider * accuracy=0") != right


def test_varied_timing_gives_each_model_and_provider_its_own_pace() -> None:
    slow = timing("DeepSeek-V3-1", "akash-ml")
    fast = timing("openai/gpt-4o-mini", "nebula-gpu")
    assert slow.latency > 2 * fast.latency and slow.speed < fast.speed / 2
    with (
        start(latency_ms=150, timing="varied") as handle,
        httpx2.Client(
            base_url=handle.base_url, headers={"Authorization": f"Bearer {KEY}"}, verify=False
        ) as client,
    ):
        started = time.monotonic()
        answer(client, "DeepSeek-V3-1", "::words 3")
        assert time.monotonic() - started >= 0.15 * slow.latency
    with start(latency_ms=150) as handle:
        assert handle.settings.timing == "uniform", "the same pace for every model by default"
