"""An answer's timings in the answer file: kept when it is recorded (a cached answer's as
first measured), given back on replay, unknown (NaN, never 0) for a line without them,
and never taken for a measurement of the provider.

Real clients against the emulator on loopback; replays are strict and keyless where they
can be, so a request that leaked would fail rather than be timed afresh.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from emulator_env import use_emulator

import aimo_magic
from aimo_magic.core import answer_book
from aimo_magic.core.provider_log import ProviderLog
from aimo_magic.core.types import Timings
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-answer-timings-0000-made-up"
MODEL = "DeepSeek-V3-1"
MINI = "openai/gpt-4o-mini"
SUMS = "What is {a} + {b}? Answer with the number only."


@pytest.fixture
def emu(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[EmulatorHandle]:
    """The emulator in AIMO_* variables with a fresh cache; no answer file in use and an
    empty, stopped log, before and after."""
    for name in (answer_book.ENV_ANSWERS, answer_book.ENV_STRICT, answer_book.ENV_PACE):
        monkeypatch.delenv(name, raising=False)
    answer_book.stop_using_answers()
    answer_book.LOG.clear()
    answer_book.LOG.recording = False
    yield use_emulator(emulator, monkeypatch, KEY, tmp_path / "cache")
    emulator.clear_faults()
    answer_book.stop_using_answers()
    answer_book.LOG.clear()
    answer_book.LOG.recording = False


def in_ms(timings: Timings) -> dict[str, float | None]:
    first = timings.first_token
    return {
        "first_token": None if first is None else round(first, 3),
        "total": round(timings.total, 3),
    }


def answer_lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if "answer" in line]


def sums(n: int = 4) -> pd.DataFrame:
    frame = pd.DataFrame({"a": range(1, n + 1), "b": range(10, 10 + n)})
    frame["total"] = frame["a"] + frame["b"]
    return frame


def evaluation() -> aimo_magic.Evaluation:
    return aimo_magic.evaluate(
        SUMS,
        sums(),
        models=[MODEL, f"{MINI}@*"],
        expected="total",
        score="number",
        progress=False,
    )


def test_a_recorded_answer_keeps_its_timings_and_a_replay_gives_them_back(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    aimo_magic.record_answers()
    with aimo_magic.Client(max_retries=0) as client:
        chat = client.chat("What is 2 + 2?", model=MODEL)
        with client.stream("Tell me about rivers.", model=MODEL) as stream:
            streamed = stream.until_done()
    aimo_magic.save_answers(path)
    assert streamed.timings.first_token is not None
    lines = {line["messages"][0]["content"]: line["answer"] for line in answer_lines(path)}
    assert lines["What is 2 + 2?"]["timings"] == in_ms(chat.timings)
    assert lines["Tell me about rivers."]["timings"] == in_ms(streamed.timings)

    answer_book.LOG.clear()  # as a new session: only what the replay uses is recorded
    aimo_magic.use_answers(path, strict=True, pace=0)
    emu.clear_requests()
    with aimo_magic.Client(api_key=None, max_retries=0) as client:
        again = client.chat("What is 2 + 2?", model=MODEL)
        with client.stream("Tell me about rivers.", model=MODEL) as stream:
            replayed = stream.until_done()
    assert again.recorded_in == path.name and replayed.recorded_in == path.name
    assert in_ms(again.timings) == lines["What is 2 + 2?"]["timings"]
    assert in_ms(replayed.timings) == lines["Tell me about rivers."]["timings"]
    assert emu.requests == []
    # Saved again from the replay, the file is the same: the timings travel on.
    aimo_magic.save_answers(tmp_path / "again.answers.jsonl")
    assert answer_lines(tmp_path / "again.answers.jsonl") == answer_lines(path)


def test_an_answer_recorded_from_the_cache_keeps_the_timings_first_measured(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "cached.answers.jsonl"
    asked = "What is 2 + 2? ::latency 60"
    with aimo_magic.Client(max_retries=0, cache=tmp_path / "answers") as client:
        first = client.chat(asked, model=MODEL)
        aimo_magic.record_answers()  # only the cached answer below is recorded
        hit = client.chat(asked, model=MODEL)
    assert first.cached_at is None and hit.cached_at is not None
    assert len(emu.requests) == 1, "the second answer came from the cache"
    aimo_magic.save_answers(path)
    (line,) = answer_lines(path)
    assert line["answer"]["timings"] == in_ms(first.timings), "not the cache read's"


def test_an_evaluation_replayed_shows_the_recorded_timings(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "evaluate.answers.jsonl"
    aimo_magic.record_answers()
    asked = evaluation()
    asked.run()
    aimo_magic.save_answers(path)
    recorded = asked.table.sort_values(["model", "row"]).reset_index(drop=True)

    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path / "replay-cache"))
    aimo_magic.use_answers(path, strict=True, pace=0)
    emu.clear_requests()
    replayed = evaluation()
    summary = replayed.run()
    table = replayed.table.sort_values(["model", "row"]).reset_index(drop=True)
    assert table["cached"].all() and emu.requests == []
    assert list(table["latency"]) == [round(t, 3) for t in recorded["latency"]]
    assert list(table["first_token"]) == [round(t, 3) for t in recorded["first_token"]]
    assert (table["latency"] > 0).all()
    for label, row in summary.iterrows():
        part = table[table["model"] == label]
        assert row["time_median"] == pytest.approx(part["latency"].median())
        assert row["ttft_median"] == pytest.approx(part["first_token"].median())


def test_a_replayed_batch_measures_no_provider(emu: EmulatorHandle, tmp_path: Path) -> None:
    """What was measured when recording is no measurement of the providers now: a replay
    with its timings must not teach ``route="fastest"`` (a guard that held before the
    timings were kept, and matters more now that they are)."""
    path = tmp_path / "batch.answers.jsonl"
    prompts = [f"What is {n} + 1?" for n in range(6)]
    aimo_magic.record_answers()
    live = aimo_magic.Batch("{}", prompts, model=f"{MINI}@*", cache=tmp_path / "a", progress=False)
    live.run()
    aimo_magic.save_answers(path)
    assert len(ProviderLog(tmp_path / "a").figures(emu.base_url, MINI)) == 2, "live: measured"
    assert all("timings" in line["answer"] for line in answer_lines(path))

    aimo_magic.use_answers(path, strict=True, pace=0)
    emu.clear_requests()
    again = aimo_magic.Batch("{}", prompts, model=f"{MINI}@*", cache=tmp_path / "b", progress=False)
    assert again.run() == live.run()
    assert emu.requests == []
    assert ProviderLog(tmp_path / "b").figures(emu.base_url, MINI) == {}


def test_a_line_without_timings_replays_them_as_unknown_never_zero(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "older.answers.jsonl"
    aimo_magic.record_answers()
    evaluation().run()
    aimo_magic.save_answers(path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line.get("answer", {}).pop("timings", None)  # as a file from before timings
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    answer_book.LOG.clear()  # as a new session: only what the replay uses is recorded
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path / "replay-cache"))
    replay = aimo_magic.use_answers(path, strict=True, pace=0)
    assert replay.problems == [] and len(replay) == 12
    emu.clear_requests()
    replayed = evaluation()
    summary = replayed.run()
    table = replayed.table
    assert emu.requests == [] and set(table["status"]) == {"answered"}
    assert table["latency"].isna().all() and table["first_token"].isna().all()
    for column in ("ttft_median", "ttft_p95", "time_median", "time_p95"):
        assert summary[column].isna().all(), column
    assert not math.isnan(summary["score"].iloc[0]), "the rest of the summary is there"
    # Saved again, the unknown timings stay unknown: no line gains a made-up 0.
    aimo_magic.save_answers(tmp_path / "again.answers.jsonl")
    assert all("timings" not in a["answer"] for a in answer_lines(tmp_path / "again.answers.jsonl"))


@pytest.mark.kernel
def test_a_replayed_comparison_ranks_by_the_recorded_times_and_its_footers_show_none(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """In a notebook: the panes of a replayed ``--compare`` say where they came from and
    show no time (as before), and the line under them ranks the times recorded, not 0."""
    from kernel_harness import Kernel, run_ok

    from aimo_magic.rendering.footer import format_seconds

    cell = "%%aimo --compare openai/gpt-4o,DeepSeek-V3-1 --no-history\nName a river. ::latency 200"
    env = {"AIMO_BASE_URL": emulator.base_url, "AIMO_CACHE_DIR": str(tmp_path / "cache")}
    recording = Kernel(env={**env, "AIMO_API_KEY": KEY}, cwd=str(tmp_path))
    try:
        run_ok(recording, "%load_ext aimo_magic")
        run_ok(recording, cell)
        run_ok(recording, "%aimo answers save river.answers.jsonl")
    finally:
        recording.close()
    path = tmp_path / "river.answers.jsonl"
    totals = [line["answer"]["timings"]["total"] for line in answer_lines(path)]
    assert len(totals) == 2

    emulator.clear_requests()
    env |= {"AIMO_ANSWERS": str(path), "AIMO_ANSWERS_PACE": "0"}
    replaying = Kernel(env=env, cwd=str(tmp_path))  # no key: nothing could be asked
    try:
        run_ok(replaying, "%load_ext aimo_magic")
        run = run_ok(replaying, cell)
    finally:
        replaying.close()
    assert emulator.requests == []
    html = run.html()
    assert html.count("no tokens charged") == 2 and "first token" not in html
    ranked = html.split("Fastest: ", 1)[1]
    for total in totals:
        assert format_seconds(total) in ranked, (total, ranked[:300])
