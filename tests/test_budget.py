"""The budget (``core.budget``): one cap every request of its clients passes before it is
sent; counted at the emulator's side, on loopback."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from fixture_servers import serve_models

import aimo_magic
from aimo_magic.batching.api import Batch
from aimo_magic.core.async_client import AsyncClient
from aimo_magic.core.budget import Budget, BudgetError
from aimo_magic.core.client import Client
from aimo_magic.core.comparison import Comparison
from aimo_magic.core.config import Settings
from aimo_magic.core.pricing import PriceBasis, maximum_cost
from aimo_magic.emulator import EmulatorHandle, provider_id

KEY = "aimo-sk-v2-test-budget"
PINNED = f"{provider_id('akash-ml')}:DeepSeek-V3-1"  # 0.25 in, 1.0 out per million tokens
DOLLARS = PriceBasis("million")


def client(emu: EmulatorHandle, budget: Budget | float | None, **options: object) -> Client:
    made = Client(KEY, base_url=emu.base_url, budget=budget, **options)  # type: ignore[arg-type]
    made.models()
    return made


def most(c: Client, prompt: str, max_tokens: int | None = None) -> float:
    """What the budget holds for one request of ``prompt`` to PINNED."""
    body: dict[str, object] = {"model": PINNED, "messages": [{"role": "user", "content": prompt}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    held = maximum_cost(c.catalogue or [], body).cost
    assert held is not None
    return held.amount(c.price_basis)


def test_a_request_that_could_pass_the_cap_is_never_sent(emu: EmulatorHandle) -> None:
    with client(emu, 0.01) as c:
        one = most(c, "::words 5 one", 50)
        assert one < 0.01 < most(c, "::words 5 one"), "the context bound is what passes it"
        c.chat("::words 5 one", model=PINNED, max_tokens=50)
        assert len(emu.requests) == 1
        with pytest.raises(BudgetError, match=r"Not sent: the budget of \$0.01 would be passed"):
            c.chat("::words 5 two", model=PINNED)  # no max_tokens: up to the whole context
        with (
            pytest.raises(BudgetError, match="Set max_tokens"),
            c.stream("::words 5 three", model=PINNED) as stream,
        ):
            "".join(stream)
        assert len(emu.requests) == 1, "nothing past the cap reached the server"
        state = c.budget.state(c.price_basis) if c.budget else None
        assert state is not None and state.refused == 2 and state.requests_in_flight == 0


def test_spend_settles_to_the_real_cost_and_stops_exactly_at_the_cap(
    emu: EmulatorHandle,
) -> None:
    with client(emu, None) as probe:
        per = most(probe, "::words 5 x", 40)
    cap = per * 4.5  # room for four requests held at their maximum, never five at once
    with client(emu, cap) as c:
        real = 0.0
        sent = 0
        refused_at = None
        for n in range(200):
            prompt = f"::words 5 x{n:03d}"
            try:
                result = c.chat(prompt, model=PINNED, max_tokens=40)
            except BudgetError:
                refused_at = most(c, prompt, 40)
                break
            sent += 1
            assert result.usage is not None
            real += (result.usage.prompt_tokens * 0.25 + result.usage.completion_tokens) / 1e6
        state = c.budget.state(c.price_basis)  # type: ignore[union-attr]
        # Each answer settles below its maximum (5 words, not 40 tokens), so more than
        # four fit; the spend never passes the cap, and the refusal sent nothing.
        assert refused_at is not None and sent > 4 and len(emu.requests) == sent
        assert state.spent == pytest.approx(real), "settled to the real cost"
        assert state.spent <= cap and state.left is not None
        assert state.left < refused_at, "refused only when its maximum no longer fits"
        assert state.refused == 1


def test_cache_hits_and_failed_requests_cost_nothing(emu: EmulatorHandle, tmp_path: Path) -> None:
    budget = Budget(1.0)
    with client(emu, budget, cache=tmp_path / "cache") as c:
        c.chat("::words 5 cached", model=PINNED, max_tokens=20, temperature=0)
        spent = budget.state(DOLLARS).spent
        assert spent > 0 and budget.sent == 1
        again = c.chat("::words 5 cached", model=PINNED, max_tokens=20, temperature=0)
        assert again.cached_at is not None
        assert budget.sent == 1 and budget.state(DOLLARS).spent == spent, "a hit is free"
        emu.queue_faults("status=400;message=bad request")
        with pytest.raises(aimo_magic.AimoError):
            c.chat("::words 5 fails", model=PINNED, max_tokens=20, cache=False)
        state = budget.state(DOLLARS)
        assert state.spent == spent and state.unknown == 0, "a failed request is not charged"
        assert state.requests_in_flight == 0 and state.in_flight == 0


def test_a_restarted_stream_is_counted_once(emu: EmulatorHandle) -> None:
    budget = Budget(1.0)
    with client(emu, budget, max_retries=2) as c:
        emu.queue_faults("disconnect_after=4")
        with c.stream("::words 30 again", model=PINNED, max_tokens=60, restart=True) as stream:
            parts = list(stream)
        result = stream.result
        assert result is not None and result.usage is not None
        assert len(emu.requests) == 2 and any(not isinstance(p, str) for p in parts)
        state = budget.state(DOLLARS)
        expected = (result.usage.prompt_tokens * 0.25 + result.usage.completion_tokens) / 1e6
        assert state.spent == pytest.approx(expected), "the broken attempt is not charged"
        assert budget.sent == 1 and state.unknown == 0


def test_a_stream_stopped_by_its_reader_counts_as_unknown_at_its_maximum(
    emu: EmulatorHandle,
) -> None:
    budget = Budget(1.0)
    with client(emu, budget) as c:
        held = most(c, "::words 50 stop", 80)
        with c.stream("::words 50 stop", model=PINNED, max_tokens=80) as stream:
            next(iter(stream))
        state = budget.state(DOLLARS)
        assert state.unknown == 1 and state.requests_in_flight == 0
        assert state.spent == pytest.approx(held), "never zero: at most its maximum"
        assert "1 of unknown cost (counted at their maximum)" in state.summary()


def test_a_model_without_listed_prices_is_refused_unless_allowed(emulator: EmulatorHandle) -> None:
    with serve_models(["DeepSeek-V3-1"]) as server:  # an OpenAI-shaped list: no prices
        with Client(KEY, base_url=server.base_url, budget=5.0) as c:
            with pytest.raises(BudgetError, match=r"cannot bound this request.*no listed price"):
                c.chat("::words 3", model="DeepSeek-V3-1", max_tokens=10)
            assert server.requests() == []
        allowing = Budget(5.0, allow_unpriced=True)
        with Client(KEY, base_url=server.base_url, budget=allowing) as c:
            c.chat("::words 3", model="DeepSeek-V3-1", max_tokens=10)
            state = allowing.state(c.price_basis)
            assert len(server.requests()) == 1
            assert (state.unknown, state.unpriced, state.spent) == (1, 1, 0.0)
            assert "1 of unknown cost (1 of them without any price)" in state.summary()
            assert state.basis.currency == "listed price units", "no prices: no dollars"


def test_concurrent_batches_sharing_a_budget_never_pass_it(emu: EmulatorHandle) -> None:
    budget = Budget(None)
    with client(emu, budget) as c:
        per = most(c, "row 00 ::latency 30 ::words 4", 30)
        budget.cap = per * 12.5
        results: dict[str, Batch] = {}

        def run(name: str) -> None:
            job = Batch(
                "row {} ::latency 30 ::words 4",
                [f"{name}{n}" for n in range(40)],
                model=PINNED,
                max_tokens=30,
                concurrency=8,
                client=c,
                progress=False,
            )
            job.announce = False
            job.run()
            results[name] = job

        threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        state = budget.state(DOLLARS)
        answered = sum(job.tally.answered for job in results.values())
        assert len(emu.requests) == budget.sent == answered, "each sent row answered, once"
        assert state.spent <= budget.cap and state.requests_in_flight == 0
        assert 12 <= answered < 80, "stopped by the budget, not by running out of rows"
        for job in results.values():
            assert job.stopped == "budget" and "stopped at the budget" in job.summary
            missing = [v for v in job.values if v is None]
            assert len(missing) == 40 - job.tally.answered, "refused rows wait, none failed"
            assert job.errors == []


def test_a_comparison_passes_the_same_budget(emu: EmulatorHandle) -> None:
    models = [PINNED, f"{provider_id('quasar-nodes')}:DeepSeek-V3-1", "openai/gpt-4o"]
    budget = Budget(None)
    with client(emu, budget) as c:
        catalogue = c.catalogue
        first_two = sum(most(c, "::words 4 compare", 20) for _ in range(2)) * 1.2
    budget.cap = first_two  # room for the DeepSeek providers, not for GPT-4o's prices
    settings = Settings.resolve(api_key=KEY, base_url=emu.base_url, budget=budget)
    answers = Comparison(
        "::words 4 compare", models, {"max_tokens": 20}, catalogue=catalogue, settings=settings
    ).run()
    refused = [a for a in answers.values() if a.error and "Not sent: the budget" in a.error]
    assert len(refused) >= 1 and len(emu.requests) == 3 - len(refused) == budget.sent
    assert all(a.cost_unit == "USD" for a in answers.values() if a.ok)


def test_an_async_client_passes_its_budget_too(emu: EmulatorHandle) -> None:
    async def ask() -> None:
        async with AsyncClient(KEY, base_url=emu.base_url, budget=0.0001) as c:
            with pytest.raises(BudgetError):
                await c.chat("::words 3", model=PINNED)
            result = await c.chat("::words 3", model=PINNED, max_tokens=5)
            assert result.text and c.budget is not None and c.budget.sent == 1

    asyncio.run(ask())
    assert len(emu.requests) == 1


def test_every_tool_step_passes_the_budget(emu: EmulatorHandle) -> None:
    from aimo_magic.core.tool_loop import ToolLoop
    from aimo_magic.core.tools import tool

    @tool
    def double(number: int) -> int:
        """Twice the number."""
        return 2 * number

    forced = {"type": "function", "function": {"name": "double"}}
    budget = Budget(None)
    with client(emu, budget) as c:
        loop = ToolLoop([double], max_steps=8)
        first = maximum_cost(
            c.catalogue or [],
            {
                "model": PINNED,
                "messages": [{"role": "user", "content": "Go"}],
                "max_tokens": 200,
                "tools": [loop.specs[0]],
            },
        ).cost
        assert first is not None
        # Each step settles far below its maximum (a short call, not 200 tokens), so the
        # first step's maximum and a tenth more leave room for a step or two, never eight.
        budget.cap = first.amount(c.price_basis) * 1.1
        with pytest.raises(BudgetError, match="Not sent: the budget"):
            loop.run(c, "Go", model=PINNED, tool_choice=forced, max_tokens=200)
    state = budget.state(DOLLARS)
    assert 2 <= len(emu.requests) == budget.sent < 8, "each step counted, none past the cap"
    assert state.spent <= budget.cap and state.refused == 1


def test_an_answer_nothing_bounds_is_refused_until_max_tokens_bounds_it(
    emulator: EmulatorHandle,
) -> None:
    """A priced model whose listing gives no context length: only max_tokens bounds it."""
    entry = {
        "name": "DeepSeek-V3-1",
        "providers": [{"id": "Prov1", "name": "p", "pricing": {"prompt": 0.25, "completion": 1}}],
    }
    with (
        serve_models({"data": [entry]}) as server,
        Client(KEY, base_url=server.base_url, budget=1.0) as c,
    ):
        with pytest.raises(BudgetError, match=r"has no bound.*Set max_tokens"):
            c.chat("::words 3", model="DeepSeek-V3-1")
        assert server.requests() == []
        c.chat("::words 3", model="DeepSeek-V3-1", max_tokens=10)
        assert len(server.requests()) == 1 and c.price_basis.unit == "million"


def test_a_copied_or_unpickled_budget_is_the_same_counter() -> None:
    import copy
    import pickle

    from aimo_magic.core.budget import Budget

    budget = Budget(1.5, allow_unpriced=True)
    assert copy.copy(budget) is budget
    assert copy.deepcopy({"b": budget})["b"] is budget
    assert pickle.loads(pickle.dumps(budget)) is budget
