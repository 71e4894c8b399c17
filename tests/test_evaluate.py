"""``aimo_magic.evaluate`` against the emulator on loopback: answers, scores, the cache,
``max_cost`` across models, the judge, repeats, failures and refusals.

What the server received is read from the emulator's request log, so "nothing was sent"
and "only the new model's rows were sent" are facts about the wire.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from emulator_env import use_emulator
from fixture_servers import serve_varying_answers

import aimo_magic
from aimo_magic.core.errors import NotFoundError
from aimo_magic.emulator import BROKE_KEY, EmulatorHandle, provider_id
from aimo_magic.evaluation import EvaluationError, ScoreError

KEY = "aimo-sk-v2-test-evaluate-0000-made-up"
SUMS = "What is {a} + {b}? Answer with the number only."
MINI_PROVIDERS = ("nebula-gpu", "atlas-infer")


@pytest.fixture
def emu(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[EmulatorHandle]:
    """The emulator in AIMO_* variables, and a fresh answer cache for each test."""
    yield use_emulator(emulator, monkeypatch, KEY, tmp_path / "cache")
    emulator.clear_faults()


def sums(n: int = 6) -> pd.DataFrame:
    frame = pd.DataFrame({"a": range(1, n + 1), "b": range(10, 10 + n)})
    frame["total"] = frame["a"] + frame["b"]
    return frame


def sent(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in emu.requests]


def test_every_model_and_every_provider_answers_every_row_and_is_scored(
    emu: EmulatorHandle,
) -> None:
    ev = aimo_magic.evaluate(
        SUMS,
        sums(),
        models=["DeepSeek-V3-1", "openai/gpt-4o-mini@*"],
        expected="total",
        score="number",
        progress=False,
    )
    summary = ev.run()
    labels = ["DeepSeek-V3-1", *(f"openai/gpt-4o-mini · {p}" for p in MINI_PROVIDERS)]
    assert sorted(summary.index) == sorted(labels)
    assert set(summary["provider"]) == {"akash-ml", *MINI_PROVIDERS}
    pinned = {f"{provider_id(p)}:openai/gpt-4o-mini" for p in MINI_PROVIDERS}
    assert {b["model"] for b in sent(emu)} == {"DeepSeek-V3-1", *pinned}
    assert all(b["stream"] is True for b in sent(emu))  # streamed: time to first token
    assert len(emu.requests) == 18
    table = ev.table
    assert len(table) == 18 and set(table["status"]) == {"answered"}
    assert list(table.loc[table["model"] == "DeepSeek-V3-1", "expected"]) == list(range(11, 23, 2))
    assert (table["first_token"] <= table["latency"]).all()
    assert (table["cost"] > 0).all() and not table["cached"].any()
    for label in labels:
        row = summary.loc[label]
        assert row["rows"] == 6 and row["failures"] == 0
        part = table[table["model"] == label]
        assert row["score"] == pytest.approx(part["score"].mean())
        assert row["cost"] == pytest.approx(part["cost"].sum())
    # The nebula provider lists lower prices than atlas: same score, so it is the frontier.
    assert summary.loc["openai/gpt-4o-mini · nebula-gpu", "frontier"]
    assert not summary.loc["openai/gpt-4o-mini · atlas-infer", "frontier"]


def test_estimate_sends_nothing_and_counts_what_the_cache_holds(emu: EmulatorHandle) -> None:
    options: dict[str, Any] = {"expected": "total", "score": "number", "max_tokens": 5}
    ev = aimo_magic.evaluate(SUMS, sums(4), models="DeepSeek-V3-1,openai/gpt-4o", **options)
    estimate = ev.estimate()
    assert emu.requests == []
    frame = estimate.frame
    assert list(frame["requests"]) == [4, 4] and list(frame["answered"]) == [0, 0]
    assert (frame["cost_low"] < frame["cost_high"]).all()
    assert estimate.requests == 8 and "8 requests to send" in str(estimate)
    ev.run()
    emu.clear_requests()
    more = aimo_magic.evaluate(
        SUMS, sums(4), models="DeepSeek-V3-1,openai/gpt-4o,openai/gpt-4o-mini", **options
    )
    again = more.estimate()
    assert emu.requests == []
    assert list(again.frame["requests"]) == [0, 0, 4] and list(again.frame["answered"]) == [4, 4, 0]
    capped = aimo_magic.evaluate(
        SUMS, sums(4), models="openai/gpt-4o-mini", max_cost=1e-9, **options
    ).estimate()
    assert "even the low end passes max_cost=$0.000000001" in capped.verdict()  # in dollars


def test_a_rerun_sends_nothing_and_an_added_model_sends_only_its_rows(
    emu: EmulatorHandle,
) -> None:
    options: dict[str, Any] = {"expected": "total", "score": "number", "progress": False}
    first = aimo_magic.evaluate(SUMS, sums(), models=["DeepSeek-V3-1", "openai/gpt-4o"], **options)
    before = first.run()
    assert len(emu.requests) == 12
    emu.clear_requests()
    assert first.run().equals(before)  # the same object: every answer is in hand
    assert emu.requests == []
    again = aimo_magic.evaluate(SUMS, sums(), models=["DeepSeek-V3-1", "openai/gpt-4o"], **options)
    summary = again.run()
    assert emu.requests == [], "a new evaluation of the same models is answered by the cache"
    assert again.table["cached"].all()
    columns = ["rows", "score", "ci_low", "ci_high", "cost", "tokens", "time_median"]
    assert summary[columns].equals(before[columns])  # a cached answer keeps its cost and time
    grown = aimo_magic.evaluate(
        SUMS, sums(), models=["DeepSeek-V3-1", "openai/gpt-4o", "openai/gpt-4o-mini"], **options
    )
    grown.run()
    assert [b["model"] for b in sent(emu)] == ["openai/gpt-4o-mini"] * 6
    assert "12 from the cache" in grown.report


def test_max_cost_bounds_every_model_together(emu: EmulatorHandle) -> None:
    models = ["openai/gpt-4o", *(f"{provider_id(p)}:openai/gpt-4o" for p in ("nebula-gpu",))]
    models.append("DeepSeek-V3-1")
    options: dict[str, Any] = {
        "expected": "total",
        "score": "number",
        "max_tokens": 3,
        "cache": False,
        "concurrency": 2,
        "progress": False,
    }
    full = aimo_magic.evaluate(SUMS, sums(8), models=models, **options)
    costs = full.run()["cost"]
    limit = float(costs.max()) * 1.6
    assert float(costs.sum()) > limit * 1.3, "the test needs models that only fit one at a time"
    for model in models:  # each model alone fits under the limit...
        alone = aimo_magic.evaluate(SUMS, sums(8), models=[model], max_cost=limit, **options)
        alone.run()
        assert alone.stopped is None and alone._spending.spent.amount(alone._basis) <= limit
    emu.clear_requests()
    together = aimo_magic.evaluate(SUMS, sums(8), models=models, max_cost=limit, **options)
    together.run()  # ...but not all of them together
    assert together.stopped == "max_cost"
    assert together._spending.spent.amount(together._basis) <= limit
    assert len(emu.requests) < 24
    assert "not sent, stopped at max_cost" in together.report
    table = together.table
    assert (table["status"] == "not sent").sum() == 24 - len(emu.requests)


def test_max_cost_needs_prices_for_every_model() -> None:
    with serve_varying_answers(["4"]) as server:
        ev = aimo_magic.evaluate("{}", ["2+2"], models="m1", expected=lambda row: "4", max_cost=1.0)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIMO_BASE_URL", server.base_url)
            patch.setenv("AIMO_API_KEY", KEY)
            with pytest.raises(ValueError, match=r"max_cost needs prices.*m1"):
                ev.run()
        assert server.chat_requests == 0


def test_the_judge_scores_every_answer_is_priced_apart_and_cached(emu: EmulatorHandle) -> None:
    rubric = "A colour the thing usually has."
    options: dict[str, Any] = {
        "judge": "openai/gpt-4o",
        "rubric": rubric,
        "max_tokens": 20,
        "progress": False,
    }
    ev = aimo_magic.evaluate(
        "Name a colour of {}.",
        ["the sky", "grass", "snow"],
        models="DeepSeek-V3-1,openai/gpt-4o-mini",
        **options,
    )
    summary = ev.run()
    bodies = sent(emu)
    judged = [b for b in bodies if b["model"] == "openai/gpt-4o"]
    assert len(bodies) == 6 + 6 and len(judged) == 6
    for body in judged:
        assert body["response_format"]["type"] == "json_schema"
        prompt = body["messages"][-1]["content"]
        assert rubric in prompt and "The answer to grade:" in prompt
    table = ev.table
    assert table["score"].between(0, 1).all() and table["judge_reason"].notna().all()
    assert (table["judge_cost"] > 0).all()
    assert summary["judge_cost"].sum() == pytest.approx(table["judge_cost"].sum())
    assert ev.judge_cost == pytest.approx(table["judge_cost"].sum())
    # Counted apart: the models' cost holds no judge request, and the two make the spend.
    spent = ev._spending.spent.amount(ev._basis)  # listed figures, read in the prices' unit
    assert spent == pytest.approx(table["cost"].sum() + table["judge_cost"].sum())
    assert "6 verdicts from openai/gpt-4o" in ev.report
    emu.clear_requests()
    again = aimo_magic.evaluate(
        "Name a colour of {}.",
        ["the sky", "grass", "snow"],
        models="DeepSeek-V3-1,openai/gpt-4o-mini",
        **options,
    )
    assert list(again.run()["score"]) == list(summary["score"])
    assert emu.requests == [], "the judge's verdicts come from the cache too"


def test_a_judge_needs_a_rubric_and_replaces_score() -> None:
    with pytest.raises(ValueError, match=r"judge= needs rubric="):
        aimo_magic.evaluate("{}", ["x"], models="m", judge="j")
    with pytest.raises(ValueError, match=r"rubric= goes with judge="):
        aimo_magic.evaluate("{}", ["x"], models="m", rubric="be right")
    with pytest.raises(ValueError, match=r"score='exact' would not be used"):
        aimo_magic.evaluate("{}", ["x"], models="m", judge="j", rubric="r", score="exact")


def test_repeats_ask_each_row_n_times_and_report_agreement(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIMO_API_KEY", KEY)
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path))
    with serve_varying_answers(["yes", "Yes ", "no"]) as server:
        monkeypatch.setenv("AIMO_BASE_URL", server.base_url)
        options: dict[str, Any] = {
            "expected": lambda row: "yes",
            "repeats": 3,
            "temperature": 1.0,
            "stream": False,
            "progress": False,
        }
        questions = ["Is water wet?", "Is ice cold?"]
        ev = aimo_magic.evaluate("{}", questions, models="m1,m2", **options)
        summary = ev.run()
        assert server.chat_requests == 2 * 2 * 3
        assert list(summary["agreement"]) == pytest.approx([2 / 3, 2 / 3])
        assert list(summary["score"]) == pytest.approx([2 / 3, 2 / 3])
        assert all(math.isnan(c) for c in summary["cost"])  # no prices listed: unknown, not 0
        table = ev.table
        assert sorted(Counter(table["repeat"]).items()) == [(0, 4), (1, 4), (2, 4)]
        again = aimo_magic.evaluate("{}", questions, models="m1,m2", **options)
        assert list(again.run()["agreement"]) == pytest.approx([2 / 3, 2 / 3])
        assert server.chat_requests == 12, "each repeat's own answer comes from the cache"
        with pytest.raises(ValueError, match=r"repeats must be a whole number"):
            aimo_magic.evaluate("{}", questions, models="m1", repeats=0)


def test_a_failed_answer_scores_zero_and_counts_as_a_failure(emu: EmulatorHandle) -> None:
    rows = [{"q": "1 + 1", "want": "2"}, {"q": "2 + 2 ::fault status=400", "want": "4"}]
    ev = aimo_magic.evaluate(
        "What is {q}?", rows, models="DeepSeek-V3-1", expected="want", score="number",
        progress=False,
    )  # fmt: skip
    summary = ev.run()
    assert summary.loc["DeepSeek-V3-1", "failures"] == 1
    table = ev.table.set_index("row")
    assert table.loc[1, "status"] == "failed" and table.loc[1, "score"] == 0.0
    assert "HTTP 400" in table.loc[1, "error"]
    assert summary.loc["DeepSeek-V3-1", "score"] == 0.5
    assert "1 failed" in ev.report


def test_a_key_without_balance_stops_every_model_in_one_line(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIMO_API_KEY", BROKE_KEY)
    ev = aimo_magic.evaluate(
        SUMS, sums(30), models="DeepSeek-V3-1,openai/gpt-4o,openai/gpt-4o-mini",
        expected="total", score="number", concurrency=2, progress=False,
    )  # fmt: skip
    with pytest.raises(EvaluationError) as caught:
        ev.run()
    assert caught.value.status == 402 or "balance" in str(caught.value).lower()
    assert "\n" not in str(caught.value).strip()
    assert len(emu.requests) <= 2 * 3, "the other models stop too, no request each"
    assert (ev.table["status"] == "not sent").sum() >= 90 - 6


def test_refused_before_anything_is_sent(emu: EmulatorHandle) -> None:
    frame = sums(3)
    with pytest.raises(ValueError, match=r"expected='totl' names no column .*a, b, total"):
        aimo_magic.evaluate(SUMS, frame, models="DeepSeek-V3-1", expected="totl")
    with pytest.raises(ScoreError, match=r"score='exact' compares each answer"):
        aimo_magic.evaluate(SUMS, frame, models="DeepSeek-V3-1")
    with pytest.raises(ScoreError, match=r"names no scorer"):
        aimo_magic.evaluate(SUMS, frame, models="DeepSeek-V3-1", expected="total", score="nmber")
    with pytest.raises(ValueError, match=r"names no model"):
        aimo_magic.evaluate(SUMS, frame, models=[], expected="total")
    with pytest.raises(ValueError, match=r"3 values but the data has 2"):
        aimo_magic.evaluate("{}", ["a", "b"], models="m", expected=["x", "y", "z"])
    unknown = aimo_magic.evaluate(
        SUMS, frame, models="DeepSeek-V3-1,no/such-model", expected="total"
    )
    with pytest.raises(NotFoundError, match=r"no/such-model"):
        unknown.run()
    assert emu.requests == []


def test_a_scorer_that_fails_keeps_the_answers_and_rescore_asks_nothing(
    emu: EmulatorHandle,
) -> None:
    def fragile(answer: str, expected: Any, row: Any) -> float:
        return 1.0 if int(answer) == expected else 0.0

    ev = aimo_magic.evaluate(
        "What is {a} + {b}?", sums(3), models="DeepSeek-V3-1", expected="total",
        score=lambda answer, expected, row: 1 / 0, progress=False,
    )  # fmt: skip
    with pytest.raises(ScoreError, match=r"ZeroDivisionError.*ev.rescore"):
        ev.run()
    assert len(emu.requests) == 3
    emu.clear_requests()
    summary = ev.rescore(fragile)
    assert summary.loc["DeepSeek-V3-1", "score"] == 1.0 and emu.requests == []
    assert ev.best(min_score=0.9) == "DeepSeek-V3-1"
    assert ev.best(min_score=1.1) is None


def test_a_route_picks_one_provider_of_a_routing_name_for_every_row(emu: EmulatorHandle) -> None:
    from aimo_magic.core.errors import RouteError

    ev = aimo_magic.evaluate(
        SUMS, sums(3), models="openai/gpt-4o-mini", route="cheapest", expected="total",
        score="number", progress=False,
    )  # fmt: skip
    summary = ev.run()
    assert list(summary.index) == ["openai/gpt-4o-mini · nebula-gpu"]
    pinned = f"{provider_id('nebula-gpu')}:openai/gpt-4o-mini"
    assert [b["model"] for b in sent(emu)] == [pinned] * 3
    emu.clear_requests()
    capped = aimo_magic.evaluate(
        SUMS, sums(3), models="openai/gpt-4o", max_price=1e-12, expected="total", score="number"
    )
    with pytest.raises(RouteError):
        capped.run()
    assert emu.requests == []
    with pytest.raises(ValueError, match=r"route"):
        aimo_magic.evaluate(SUMS, sums(3), models="m", route="quickest", expected="total")
