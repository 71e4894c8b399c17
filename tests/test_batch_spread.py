"""A batch spread over a model's providers, counted at the emulator: each provider's
requests in flight stay within its window, no row is lost or paid twice, every row's
provider is recorded, and usage and cost split by provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from waiting import wait_until

import aimo_magic
from aimo_magic.emulator import EmulatorHandle, start

MODEL = "spread/model"
WINDOW = 4
PROVIDERS = (
    f"p1;latency_ms=50;max_in_flight={WINDOW};retry_after=0.05;prompt=0.1;completion=0.2",
    f"p2;latency_ms=50;max_in_flight={WINDOW};retry_after=0.05;prompt=0.2;completion=0.4",
    f"p3;latency_ms=50;max_in_flight={WINDOW};retry_after=0.05;prompt=0.3;completion=0.6",
    "narrow;latency_ms=50;max_in_flight=1;retry_after=0.05;prompt=0.4;completion=0.8",
)
NAMES = ("p1", "p2", "p3", "narrow")


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatorHandle]:
    with start(providers=PROVIDERS, serve=[f"{MODEL}=p1,p2,p3,narrow"]) as handle:
        yield handle


@pytest.fixture
def emu(served: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    for name, value in served.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path))
    # Requests a stopped batch cancelled may still be finishing at the server.
    drained(served)
    served.reset_provider_counts()
    served.clear_faults()
    served.clear_requests()
    return served


def drained(emu: EmulatorHandle) -> None:
    """Wait until the server has finished every request it was serving (what a cancelled
    client leaves it ends a moment later)."""
    wait_until(
        lambda: not any(count.in_flight for count in emu.provider_counts.values()),
        "the server finished every request",
    )


def rows(count: int) -> list[str]:
    return [f"row {n} ::words 3" for n in range(count)]


def test_rows_spread_within_each_provider_s_window_none_lost_none_paid_twice(
    emu: EmulatorHandle,
) -> None:
    data = rows(120)
    batch = aimo_magic.Batch(
        "{}", data, model=f"{MODEL}@*", concurrency=WINDOW, cache=False, progress=False
    )
    values = batch.run()
    counts = emu.provider_counts
    assert all(v is not None for v in values) and batch.errors == []
    assert sum(counts[n].answered for n in NAMES) == len(data)  # every row paid once
    for name in ("p1", "p2", "p3"):
        assert counts[name].most_in_flight <= WINDOW
        assert counts[name].answered > 0
    # The narrow provider allows one in flight: beyond it, it says 429 and only it waits.
    assert counts["narrow"].answered < min(counts[n].answered for n in ("p1", "p2", "p3"))
    details = batch.details
    assert [d["row"] for d in details] == list(range(len(data)))
    assert {d["status"] for d in details} == {"answered"}
    assert {d["provider"] for d in details} <= set(NAMES)
    by_detail = {name: sum(d["provider"] == name for d in details) for name in NAMES}
    assert by_detail == {name: counts[name].answered for name in NAMES}


def test_a_batch_s_answers_are_measured_per_provider(emu: EmulatorHandle, tmp_path: Path) -> None:
    """What ``route="fastest"`` and ``%aimo providers`` read: each provider's answers."""
    from aimo_magic.core.provider_log import ProviderLog
    from aimo_magic.emulator import provider_id

    batch = aimo_magic.Batch(
        "{}", rows(24), model=f"{MODEL}@*", concurrency=WINDOW, cache=tmp_path, progress=False
    )
    batch.run()
    figures = ProviderLog(tmp_path).figures(emu.base_url, MODEL)
    counts = emu.provider_counts
    for name in NAMES:
        measured = figures.get(provider_id(name))
        assert (measured.answers if measured else 0) == counts[name].answered
    assert all(f.first_token_s is not None for f in figures.values())


def test_usage_and_cost_split_by_provider(emu: EmulatorHandle) -> None:
    batch = aimo_magic.Batch(
        "{}", rows(40), model=f"{MODEL}@*", concurrency=WINDOW, cache=False, progress=False
    )
    batch.run()
    split = batch.usage_by_provider
    assert set(split) <= {f"{MODEL} · {name}" for name in NAMES}
    assert sum(u.total_tokens for u in split.values()) == batch.usage.total_tokens
    costs = batch.cost_by_provider
    assert batch.cost is not None
    assert sum(c or 0.0 for c in costs.values()) == pytest.approx(batch.cost)
    answered = emu.provider_counts
    for name in NAMES:
        label = f"{MODEL} · {name}"
        assert (label in split) == (answered[name].answered > 0)


def test_cheapest_fills_the_cheapest_provider_first(emu: EmulatorHandle) -> None:
    """As many rows as the cheapest provider's window: it takes them all."""
    batch = aimo_magic.Batch(
        "{}",
        rows(WINDOW),
        model=f"{MODEL}@*",
        route="cheapest",
        concurrency=WINDOW,
        cache=False,
        progress=False,
    )
    batch.run()
    counts = emu.provider_counts
    assert counts["p1"].answered == WINDOW
    assert all(counts[n].answered == 0 for n in ("p2", "p3", "narrow"))


def test_providers_names_a_subset_and_refuses_a_stranger(emu: EmulatorHandle) -> None:
    batch = aimo_magic.Batch(
        "{}",
        rows(20),
        model=MODEL,
        providers=["p2", "p3"],
        concurrency=WINDOW,
        cache=False,
        progress=False,
    )
    batch.run()
    counts = emu.provider_counts
    assert counts["p2"].answered + counts["p3"].answered == 20
    assert counts["p1"].answered == counts["narrow"].answered == 0
    with pytest.raises(ValueError, match=r"providers: 'elsewhere' does not serve spread/model"):
        aimo_magic.Batch(
            "{}", rows(2), model=MODEL, providers="elsewhere", cache=False, progress=False
        ).run()


def test_a_spread_batch_stops_at_what_would_fail_anywhere(emu: EmulatorHandle) -> None:
    emu.queue_faults("status=402")
    batch = aimo_magic.Batch(
        "{}", rows(30), model=f"{MODEL}@*", concurrency=WINDOW, cache=False, progress=False
    )
    with pytest.raises(aimo_magic.BatchError, match="HTTP 402"):
        batch.run()
    assert batch.stopped == "fatal"
    drained(emu)
    counts = emu.provider_counts
    answered = sum(v is not None for v in batch.values)
    assert answered < 30
    # The requests in flight when it stopped were cancelled: the server may have finished
    # some, never more than were sent, and no row twice (each was sent once).
    assert sum(counts[n].answered for n in NAMES) <= len(emu.requests) - 1


def test_a_spread_batch_resumes_only_what_is_missing(emu: EmulatorHandle) -> None:
    """The answer cache keys rows by the model asked (its routing name), whichever
    provider answered: a second run pays nothing."""
    data = rows(16)
    first = aimo_magic.Batch("{}", data, model=f"{MODEL}@*", progress=False)
    first.run()
    paid = sum(c.answered for c in emu.provider_counts.values())
    second = aimo_magic.Batch("{}", data, model=f"{MODEL}@*", progress=False)
    assert second.run() == first.values
    assert sum(c.answered for c in emu.provider_counts.values()) == paid == len(data)
