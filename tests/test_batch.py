"""``aimo_magic.batch`` against the emulator on loopback: shapes, order, limits, failures, money.

Latency and failures are chosen per row with the emulator's directives in the prompt
(``::latency MS``, ``::fault SPEC``, ``::echo``), so each test knows which row does what.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from emulator_env import use_emulator
from pydantic import BaseModel, field_validator

import aimo_magic
from aimo_magic import AsyncClient, Batch, BatchError, Client, NotFoundError
from aimo_magic.batching import TemplateError
from aimo_magic.core.errors import AimoError, AuthenticationError, PaymentError
from aimo_magic.core.tokens import estimate_tokens
from aimo_magic.emulator import BROKE_KEY, EXPIRED_KEY, EmulatorHandle, provider_id

KEY = "aimo-sk-v2-test-batch-0000-made-up"
MODEL = "DeepSeek-V3-1"
PINNED = f"{provider_id('akash-ml')}:{MODEL}"


@pytest.fixture
def emu(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[EmulatorHandle]:
    """The emulator in AIMO_* variables, and a fresh answer cache for each test."""
    yield use_emulator(emulator, monkeypatch, KEY, tmp_path / "cache")
    emulator.clear_faults()


def sent(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in emu.requests]


def last_user(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def client(emu: EmulatorHandle, key: str = KEY, **kwargs: Any) -> Client:
    return Client(key, base_url=emu.base_url, **kwargs)


# Shapes and order ---------------------------------------------------------------


def test_a_list_comes_back_in_input_order_whatever_order_answers_finish(
    emu: EmulatorHandle,
) -> None:
    rows = [{"n": n, "ms": (12 - n) * 25} for n in range(12)]
    values = aimo_magic.batch(
        "row {n} ::latency {ms} ::echo", rows, model=MODEL, concurrency=6, progress=False
    )
    assert isinstance(values, list) and len(values) == 12
    # Later rows waited less, so they finished first; each value is still its own row's.
    for n, value in enumerate(values):
        assert (
            json.loads(value)["messages"][-1]["content"]
            == f"row {n} ::latency {(12 - n) * 25} ::echo"
        )


def test_a_series_gives_a_series_on_the_same_index(emu: EmulatorHandle) -> None:
    words = pd.Series(["cat", "dog", "eel"], index=["x", "y", "z"], name="animal")
    out = aimo_magic.batch("Say {} ::echo", words, model=MODEL, progress=False)
    assert isinstance(out, pd.Series)
    assert list(out.index) == ["x", "y", "z"] and out.name == "animal"
    assert [json.loads(v)["messages"][-1]["content"] for v in out] == [
        "Say cat ::echo",
        "Say dog ::echo",
        "Say eel ::echo",
    ]


def test_a_frame_fills_columns_and_gives_a_series(emu: EmulatorHandle) -> None:
    frame = pd.DataFrame(
        {"name": ["Ada", "Bo"], "price": [3.5, 12.25]}, index=pd.Index([7, 3], name="id")
    )
    out = aimo_magic.batch(
        "{name} pays {price:.2f} {{EUR}}", frame, model=MODEL, system="Be brief.", progress=False
    )
    assert isinstance(out, pd.Series) and list(out.index) == [7, 3]
    bodies = sent(emu)
    assert sorted(last_user(b) for b in bodies) == ["Ada pays 3.50 {EUR}", "Bo pays 12.25 {EUR}"]
    assert all(b["messages"][0] == {"role": "system", "content": "Be brief."} for b in bodies)
    assert all(b["stream"] is False for b in bodies)


# Refused before sending -----------------------------------------------------------


def test_a_placeholder_naming_no_field_is_refused_before_anything_is_sent(
    emu: EmulatorHandle,
) -> None:
    frame = pd.DataFrame({"name": ["Ada"], "city": ["Oslo"]})
    with pytest.raises(TemplateError, match=r"\{nmae\} names no field .*name, city"):
        aimo_magic.batch("Hello {nmae} of {city}", frame, model=MODEL)
    with pytest.raises(TemplateError, match=r"\{word\} names no field: the rows are plain"):
        Batch("Define {word}", ["a", "b"], model=MODEL)
    with pytest.raises(TemplateError, match=r"\{\} needs rows that are plain values"):
        Batch("Define {}", [{"word": "a"}], model=MODEL)
    with pytest.raises(TemplateError, match=r"\{b\} names no field of row 1"):
        Batch("{a} {b}", [{"a": 1, "b": 2}, {"a": 3}], model=MODEL)
    with pytest.raises(TemplateError, match="literal braces"):
        Batch("a lone { brace", ["x"], model=MODEL)
    assert emu.requests == []


def test_bad_options_and_unknown_models_are_refused_before_anything_is_sent(
    emu: EmulatorHandle,
) -> None:
    with pytest.raises(ValueError, match="concurrency must be"):
        Batch("{}", ["a"], model=MODEL, concurrency=0)
    with pytest.raises(ValueError, match="on_error must be"):
        Batch("{}", ["a"], model=MODEL, on_error="ignore")
    with pytest.raises(ValueError, match="format must be one of"):
        Batch("{}", ["a"], model=MODEL, format="yaml")
    with pytest.raises(TemplateError, match="not str"):
        Batch("{}", "abc", model=MODEL)
    with pytest.raises(NotFoundError, match=r"Unknown model 'DeepSeek-V9'.*DeepSeek"):
        aimo_magic.batch("{}", ["a"], model="DeepSeek-V9", progress=False)
    assert emu.requests == []


# Estimate ---------------------------------------------------------------------------


def test_estimate_sends_nothing_and_gives_a_cost_range(emu: EmulatorHandle) -> None:
    texts = ["short", "a much longer text " * 20, "middle sized text here"]
    batch = Batch("Summarise: {}", texts, model=MODEL, system="One line.", max_tokens=40)
    guess = batch.estimate()
    expected = sum(
        estimate_tokens({"content": "One line."}) + estimate_tokens({"content": f"Summarise: {t}"})
        for t in texts
    )
    assert (guess.rows, guess.prompt_tokens) == (3, expected)
    assert guess.answer_tokens == 40 and guess.answer_bounded
    assert guess.cost_low is not None and guess.cost_high is not None
    # Cheapest provider, empty answers ... dearest provider, answers of max_tokens; the
    # emulator lists DeepSeek at 0.25/0.27 in and 1.0/1.1 out: dollars per million tokens.
    assert guess.unit == "USD"
    assert guess.cost_low == pytest.approx(expected * 0.25 / 1e6)
    assert guess.cost_high == pytest.approx((expected * 0.27 + 3 * 40 * 1.1) / 1e6)
    assert "3 rows to DeepSeek-V3-1" in str(guess) and "max_tokens" in str(guess)
    assert "estimated cost $0.000036 to $0.00017 (answers" in str(guess), "dollars, named"
    assert emu.requests == [], "an estimate sends no chat request"


# Concurrency ----------------------------------------------------------------------------


def test_concurrency_bounds_the_requests_in_flight_at_the_server(emu: EmulatorHandle) -> None:
    emu.hold(until=5)  # no answer before five requests are at the server together
    values = aimo_magic.batch(
        "row {} ::words 2",
        list(range(30)),
        model=MODEL,
        concurrency=5,
        progress=False,
        client=client(emu, timeout=30),
    )
    assert all(v == "River answer." or v for v in values) and len(emu.requests) == 30
    assert emu.max_in_flight == 5


# Failures ------------------------------------------------------------------------------


def test_rows_that_fail_are_none_listed_and_summed_up_and_the_rest_answered(
    emu: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"row {n}" + (" ::fault status=500" if n in (2, 5) else "") for n in range(8)]
    batch = Batch("{}", rows, model=MODEL, client=client(emu, max_retries=0), progress=False)
    values = batch.run()
    assert [n for n, v in enumerate(values) if v is None] == [2, 5]
    assert [(e.index, e.error) for e in sorted(batch.errors, key=lambda e: e.index)] == [
        (2, "ServerError"),
        (5, "ServerError"),
    ]
    assert "HTTP 500" in batch.errors[0].message
    said = capsys.readouterr().out
    assert "6 of 8 rows answered" in said and "2 failed (2 × ServerError" in said
    assert batch.summary in said and said.count("\n") == 1, "one summary line"


def test_transient_errors_are_retried_by_the_clients_rules(emu: EmulatorHandle) -> None:
    emu.queue_faults("status=503;retry_after=0", "status=500;retry_after=0")
    batch = Batch("{}", ["a", "b", "c"], model=MODEL, concurrency=1, progress=False)
    assert None not in batch.run() and batch.errors == []
    assert len(emu.requests) == 5


def test_on_error_raise_raises_after_the_batch_with_the_partial_values(
    emu: EmulatorHandle,
) -> None:
    rows = pd.Series(["fine", "broken ::fault status=500", "fine too"], index=[10, 20, 30])
    with pytest.raises(BatchError, match="2 of 3 rows answered") as caught:
        aimo_magic.batch(
            "{}",
            rows,
            model=MODEL,
            on_error="raise",
            client=client(emu, max_retries=0),
            progress=False,
        )
    values = caught.value.values
    assert list(values.index) == [10, 20, 30] and pd.isna(values[20]) and values[10]
    assert [e.index for e in caught.value.errors] == [20]
    assert len(emu.requests) == 3, "the other rows were still sent"


def test_a_429_storm_pauses_the_whole_batch_and_every_row_gets_answered(
    emu: EmulatorHandle,
) -> None:
    emu.queue_faults(*["status=429;retry_after=0.6"] * 6)
    batch = Batch("row {}", list(range(16)), model=MODEL, concurrency=4, progress=False)
    assert None not in batch.run() and batch.errors == []
    log = emu.requests
    assert len(log) == 16 + 6
    # The first four were in flight together and all got 429: nothing more was sent
    # until Retry-After had passed, and then one request at a time probed the limit.
    # Counted from when the server handed each 429 over, which no client can read earlier,
    # so a busy machine can only make the gaps longer.
    assert log[4]["received"] - max(r["answered"] for r in log[:4]) >= 0.5
    assert log[5]["received"] - log[4]["answered"] >= 0.5
    assert log[6]["received"] - log[5]["answered"] >= 0.5
    assert emu.max_in_flight <= 4


@pytest.mark.parametrize(
    ("key", "error"), [(BROKE_KEY, PaymentError), (EXPIRED_KEY, AuthenticationError)]
)
def test_an_error_that_would_fail_every_row_stops_the_batch_at_once(
    emu: EmulatorHandle, key: str, error: type[Exception]
) -> None:
    rows = [f"row {n} ::latency 50" for n in range(200)]
    batch = Batch("{}", rows, model=MODEL, concurrency=4, client=client(emu, key), progress=False)
    with pytest.raises(BatchError, match="200 not sent, stopped") as caught:
        batch.run()
    assert isinstance(caught.value.cause, error)
    assert caught.value.hint == caught.value.cause.hint
    assert len(emu.requests) <= 4, "a few requests, not 200"
    assert caught.value.values == [None] * 200 and batch.errors == []


def test_json_answers_that_do_not_parse_are_row_errors(emu: EmulatorHandle) -> None:
    batch = Batch(
        "{}",
        ["a", "b"],
        model=MODEL,
        format="json",
        response_format={"type": "text"},
        progress=False,
    )
    assert batch.run() == [None, None]
    assert {e.error for e in batch.errors} == {"AnswerFormatError"}
    assert "not valid JSON" in batch.errors[0].message
    assert batch.usage.completion_tokens > 0, "tokens were spent all the same"


# JSON and schemas -------------------------------------------------------------------------


def test_json_answers_become_columns_on_the_same_index(emu: EmulatorHandle) -> None:
    frame = pd.DataFrame({"topic": ["tides", "moons"]}, index=["a", "b"])
    out = aimo_magic.batch("Facts about {topic}", frame, model=MODEL, format="json", progress=False)
    assert isinstance(out, pd.DataFrame) and list(out.index) == ["a", "b"]
    assert list(out.columns) == ["topic", "word_count", "items", "model"]
    assert list(out["topic"]) == ["Facts about tides", "Facts about moons"]
    assert all(b["response_format"] == {"type": "json_object"} for b in sent(emu))
    as_list = aimo_magic.batch("Facts about {}", ["x"], model=MODEL, format="json", progress=False)
    assert isinstance(as_list[0], dict) and as_list[0]["topic"] == "Facts about x"


SCHEMA = {
    "title": "Sentiment",
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["positive", "negative"]},
        "score": {"type": "number"},
        "stars": {"type": "integer"},
    },
    "required": ["label", "score", "stars"],
}


def test_a_json_schema_is_sent_and_its_properties_become_typed_columns(
    emu: EmulatorHandle,
) -> None:
    reviews = pd.Series(["great", "awful", "fine"], index=[1, 2, 3])
    out = aimo_magic.batch("Rate: {}", reviews, model=MODEL, schema=SCHEMA, progress=False)
    assert list(out.columns) == ["label", "score", "stars"] and list(out.index) == [1, 2, 3]
    assert out.dtypes.astype(str).to_dict() == {
        "label": "string",
        "score": "Float64",
        "stars": "Int64",
    }
    assert list(out["label"]) == ["positive", "negative", "positive"], "the enum fits each row"
    (format_sent,) = {json.dumps(b["response_format"]) for b in sent(emu)}
    assert json.loads(format_sent) == {
        "type": "json_schema",
        "json_schema": {"name": "Sentiment", "schema": SCHEMA},
    }


class Review(BaseModel):
    label: str
    stars: int


class Strict(BaseModel):
    """A rule JSON Schema cannot carry, so the emulator's valid instance still fails it."""

    stars: int

    @field_validator("stars")
    @classmethod
    def stars_are_prime(cls, value: int) -> int:
        if value < 2 or any(value % d == 0 for d in range(2, int(value**0.5) + 1)):
            raise ValueError("stars must be a prime number")
        return value


def test_a_pydantic_model_is_sent_as_its_json_schema_and_validates_each_answer(
    emu: EmulatorHandle,
) -> None:
    frame = pd.DataFrame({"text": ["good", "bad"]})
    out = aimo_magic.batch("Rate {text}", frame, model=MODEL, schema=Review, progress=False)
    assert list(out.columns) == ["label", "stars"] and list(out["stars"]) == [42, 42]
    body = sent(emu)[0]
    assert body["response_format"]["json_schema"]["schema"] == Review.model_json_schema()
    strict = Batch("Rate {}", ["x"], model=MODEL, schema=Strict, progress=False)
    assert strict.run() == [None]
    (failure,) = strict.errors
    assert failure.error == "AnswerFormatError" and "stars" in failure.message


# Money -------------------------------------------------------------------------------------


def test_max_cost_stops_sending_before_spend_plus_in_flight_would_pass_it(
    emu: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"row {n} ::words 20" for n in range(30)]
    probe = Batch("{}", ["probe ::words 20"], model=PINNED, max_tokens=20, progress=False)
    probe.run()
    per_row = probe.cost
    assert per_row and per_row > 0
    emu.clear_requests()
    batch = Batch(
        "{}",
        rows,
        model=PINNED,
        max_tokens=20,
        concurrency=3,
        max_cost=per_row * 10.5,
        progress=False,
    )
    values = batch.run()
    answered = [v for v in values if v is not None]
    assert 5 <= len(answered) <= 10 and len(emu.requests) == len(answered)
    assert batch.cost is not None and batch.cost <= per_row * 10.5
    said = capsys.readouterr().out
    assert "stopped at max_cost" in said and "run it again to resume" in said
    # Resuming (here with a larger budget) sends only the rows still missing.
    emu.clear_requests()
    batch.max_cost = None
    assert None not in batch.run()
    assert len(emu.requests) == 30 - len(answered)


def test_max_cost_needs_listed_prices_and_free_models_never_reach_it(
    emu: EmulatorHandle,
) -> None:
    unlisted = client(emu)
    unlisted.catalogue = []  # a server that lists no models, so no prices
    with pytest.raises(ValueError, match="max_cost needs prices"):
        Batch("{}", ["a"], model=MODEL, max_cost=1.0, client=unlisted).run()
    assert emu.requests == []
    free = Batch("{}", ["a", "b", "c"], model="DeepSeek-R1-Distill-Qwen-32B", max_cost=0)
    assert None not in free.run() and free.cost == 0


def test_usage_cost_and_elapsed_after_a_run(emu: EmulatorHandle) -> None:
    batch = Batch("{} ::words 5", ["a", "b"], model=PINNED, progress=False)
    batch.run()
    assert batch.usage.completion_tokens >= 10 and batch.usage.prompt_tokens > 0
    assert batch.cost_unit == "USD"
    assert batch.cost == pytest.approx(
        (batch.usage.prompt_tokens * 0.25 + batch.usage.completion_tokens * 1.0) / 1e6
    )
    assert batch.elapsed is not None and batch.elapsed > 0
    assert "2 of 2 rows answered" in batch.summary


def test_an_explicit_async_client_lends_its_settings_never_its_key_to_output(
    emu: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    other = AsyncClient(KEY, base_url=emu.base_url, model=MODEL)
    batch = Batch("{}", ["a"], client=other, progress=True)
    assert batch.run()[0]
    assert KEY not in repr(batch) + capsys.readouterr().err + batch.summary


def test_importing_aimo_magic_and_loading_the_extension_import_neither_pandas_nor_dask() -> None:
    code = (
        "import sys\n"
        "import aimo_magic\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'aimo_magic')\n"
        "aimo_magic.batch, aimo_magic.Batch\n"
        "import aimo_magic.batching.api, aimo_magic.batching.on_dask\n"
        "heavy = sorted(m for m in ('pandas', 'dask', 'numpy', 'tqdm') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# Resuming from the answer cache ----------------------------------------------------------


def test_running_the_same_batch_again_answers_finished_rows_from_the_cache(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    rows = [f"row {n}" + (" ::fault status=500" if n % 4 == 0 else "") for n in range(12)]
    options: dict[str, Any] = {"model": MODEL, "progress": False}
    first = Batch("{}", rows, client=client(emu, max_retries=0), **options)
    first.run()
    assert len(first.errors) == 3 and len(emu.requests) == 12
    emu.clear_requests()
    again = Batch("{}", [r.replace(" ::fault status=500", "") for r in rows], **options)
    values = again.run()
    # Rows 0, 4 and 8 changed (their prompts lost the fault), so only they were sent.
    assert None not in values and len(emu.requests) == 3
    assert again.tally.cached == 9 and "(9 from the cache)" in again.summary
    assert values[1] == first.values[1]
    assert again.usage.total_tokens < first.usage.total_tokens, "hits cost no tokens"
    assert (tmp_path / "cache" / "answers.sqlite3").exists()


class CountedRow:
    """A row value that counts how often a prompt is made from it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.formatted = 0

    def __format__(self, spec: str) -> str:
        self.formatted += 1
        return format(self.text, spec)


@pytest.mark.parametrize("cache", [True, False])
def test_each_rows_prompt_is_made_once(emu: EmulatorHandle, cache: bool) -> None:
    rows = [CountedRow(f"counted row {n}") for n in range(40)]
    values = Batch("{}", rows, model=MODEL, cache=cache, progress=False).run()
    assert None not in values and len(emu.requests) == 40
    assert [row.formatted for row in rows] == [1] * 40


def test_cache_false_stores_nothing(emu: EmulatorHandle, tmp_path: Path) -> None:
    for _ in range(2):
        Batch("{}", ["a", "b"], model=MODEL, cache=False, progress=False).run()
    assert len(emu.requests) == 4
    assert not (tmp_path / "cache").exists()


def test_stored_answers_are_shared_with_the_client_and_never_count_against_max_cost(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    from aimo_magic.core.cache import AnswerCache

    rows = [f"shared row {n}" for n in range(100)]
    Batch("{}", rows, model=PINNED, temperature=0, progress=False).run()
    with AnswerCache(tmp_path / "cache") as store:
        assert store.stats().entries == 100, "every answer stored (in groups)"
    emu.clear_requests()
    with Client(KEY, base_url=emu.base_url, cache=tmp_path / "cache") as plain:
        assert plain.chat("shared row 7", model=PINNED, temperature=0).cached_at is not None
    tight = Batch("{}", rows, model=PINNED, temperature=0, max_cost=0.001, progress=False)
    assert None not in tight.run() and tight.stopped is None
    assert emu.requests == [] and tight.tally.cached == 100 and tight.cost == 0


def test_arun_runs_on_the_callers_event_loop(emu: EmulatorHandle) -> None:
    import asyncio

    async def main() -> list[Any]:
        batch = Batch("row {}", [1, 2, 3], model=MODEL, concurrency=2, progress=False)
        return list(await batch.arun())

    assert all(asyncio.run(main())) and len(emu.requests) == 3


def test_where_no_thread_can_start_a_batch_is_one_error_and_sends_nothing(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pyodide (JupyterLite) cannot start threads: say so, in the package's own error."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(AimoError, match="needs a background thread"):
        aimo_magic.batch("Say {}", ["a", "b"], model=MODEL, progress=False, cache=False)
    assert emu.requests == []
