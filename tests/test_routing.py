"""Choosing a provider (cheapest, fastest, auto, max_price) and falling back, checked by
what the emulator received: the model id each request body pinned."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aimo_magic import Client
from aimo_magic.core.async_client import AsyncClient
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.errors import (
    AuthenticationError,
    IncompleteStreamError,
    InvalidRequestError,
    PaymentError,
    RouteError,
)
from aimo_magic.core.fallback import FellBack, falls_back
from aimo_magic.core.provider_log import KEEP, Outcome, ProviderFigures, ProviderLog
from aimo_magic.core.retry import StreamRestart
from aimo_magic.core.routing import RequestSize, plan_route
from aimo_magic.core.types import ChatResult
from aimo_magic.emulator import BROKE_KEY, EmulatorHandle, provider_id, start

ROUTED = "demo/routed"
FLAKY = "demo/flaky"
SECOND = "demo/second"
PROVIDERS = (
    "akash;prompt=0.1;completion=0.2",
    "nebula;prompt=0.3;completion=0.9",
    "promptcheap;prompt=0.01;completion=2.0",
    "broken;fault=status=503,message=provider down;prompt=0.01;completion=0.01",
    "cutting;fault=disconnect_after=4;prompt=0.02;completion=0.02",
)
SERVED = (
    f"{ROUTED}=nebula,akash,promptcheap",
    f"{FLAKY}=broken,cutting,akash",
    f"{SECOND}=nebula",
)


def pinned(name: str, model: str = ROUTED) -> str:
    return f"{provider_id(name)}:{model}"


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatorHandle]:
    with start(providers=PROVIDERS, serve=SERVED) as handle:
        yield handle


@pytest.fixture
def emu(served: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """The emulator with an empty log; measurements kept in a fresh cache place."""
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path))
    served.clear_requests()
    served.clear_faults()
    return served


@pytest.fixture
def client(emu: EmulatorHandle) -> Iterator[Client]:
    with Client(api_key=emu.api_key, base_url=emu.base_url, max_retries=0) as c:
        yield c


def sent_models(emu: EmulatorHandle) -> list[str]:
    """The model id of every chat request the emulator received, in order."""
    return [json.loads(r["body"])["model"] for r in emu.requests]


# Choosing a provider ---------------------------------------------------------------


def test_auto_sends_the_model_id_as_asked(client: Client, emu: EmulatorHandle) -> None:
    result = client.chat("hello", model=ROUTED)
    assert sent_models(emu) == [ROUTED]
    assert result.route is None


def test_cheapest_pins_the_provider_cheapest_for_this_request(
    client: Client, emu: EmulatorHandle
) -> None:
    """A short prompt with a long answer: akash; a long prompt with a one-token answer:
    the provider whose prompt tokens are cheapest."""
    short = client.chat("hello", model=ROUTED, route="cheapest")
    long_prompt = "word " * 4000
    long = client.chat(long_prompt, model=ROUTED, route="cheapest", max_tokens=1)
    assert sent_models(emu) == [pinned("akash"), pinned("promptcheap")]
    assert short.provider == "akash" and long.provider == "promptcheap"
    assert short.route is not None and short.route.startswith("cheapest for this request (≈$0.")


def test_the_client_route_is_every_call_s_default(emu: EmulatorHandle) -> None:
    with Client(api_key=emu.api_key, base_url=emu.base_url, route="cheapest") as c:
        c.chat("hello", model=ROUTED)
        c.chat("hello", model=ROUTED, route="auto")
    assert sent_models(emu) == [pinned("akash"), ROUTED]


def test_max_price_refuses_dear_providers_and_sends_nothing_when_none_fits(
    client: Client, emu: EmulatorHandle
) -> None:
    """Prices in dollars (the emulator's figures read per million tokens): 6 prompt and
    100 answer tokens cost ≈$0.000021 at akash, $0.000092 at nebula, $0.0002 at
    promptcheap."""
    client.chat("hello", model=ROUTED, max_price=0.00005, max_tokens=100)
    assert sent_models(emu) == [pinned("akash")]
    with pytest.raises(
        RouteError,
        match=r"max_price \$0.000005: every provider of demo/routed costs more for this "
        r"request \(the cheapest, akash: ≈\$0.000021\)",
    ):
        client.chat("hello", model=ROUTED, max_price=0.000005, max_tokens=100)
    assert len(emu.requests) == 1


def test_max_price_within_every_provider_leaves_routing_to_aimo(
    client: Client, emu: EmulatorHandle
) -> None:
    client.chat("hello", model=ROUTED, max_price=1.0, max_tokens=100)
    assert sent_models(emu) == [ROUTED]


def test_fastest_lets_aimo_route_until_something_is_measured_then_tries_each_in_turn(
    emu: EmulatorHandle,
) -> None:
    with Client(api_key=emu.api_key, base_url=emu.base_url, route="fastest") as c:
        first = c.stream("::words 5", model=ROUTED).until_done()
        assert first.route == "fastest: nothing measured yet, AiMo's routing"
        for _ in range(3):
            c.stream("::words 5", model=ROUTED).until_done()
    # AiMo (the emulator) routed the first to akash, the cheapest; then the two not yet
    # measured, in the catalogue's order; then the fastest of the three measured.
    sent = sent_models(emu)
    assert sent[:3] == [ROUTED, pinned("nebula"), pinned("promptcheap")]
    assert sent[3] in {pinned(name) for name in ("akash", "nebula", "promptcheap")}


def test_fastest_pins_the_best_measured(tmp_path: Path) -> None:
    """Time to a typical answer: the first token plus the answer at the measured rate."""
    catalogue = parse_catalogue(
        {
            "data": [
                {
                    "name": "m",
                    "providers": [
                        {"id": "A" * 32, "name": "quick-start"},
                        {"id": "B" * 32, "name": "fast-stream"},
                    ],
                }
            ]
        }
    )
    log = ProviderLog(tmp_path)
    log.record(
        "http://x",
        [Outcome("m", "A" * 32, True, 0.1, 10.0), Outcome("m", "B" * 32, True, 0.5, 200.0)],
    )
    long_answer = plan_route(
        "m", catalogue, RequestSize(10, 500), route="fastest", measured=log, base_url="http://x"
    )
    short_answer = plan_route(
        "m", catalogue, RequestSize(10, 2), route="fastest", measured=log, base_url="http://x"
    )
    other_server = plan_route(
        "m", catalogue, RequestSize(10, 2), route="fastest", measured=log, base_url="http://y"
    )
    assert long_answer[0].offer is not None and long_answer[0].offer.name == "fast-stream"
    assert short_answer[0].offer is not None and short_answer[0].offer.name == "quick-start"
    assert other_server[0].model_id == "m"  # nothing measured at that server


def test_a_provider_pinned_by_the_user_is_kept_whatever_the_route(
    client: Client, emu: EmulatorHandle
) -> None:
    client.chat("hello", model=pinned("nebula"), route="cheapest")
    assert sent_models(emu) == [pinned("nebula")]


def test_compare_routes_each_model_for_the_same_prompt(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aimo_magic

    for name, value in emu.env.items():
        monkeypatch.setenv(name, value)
    answers = aimo_magic.compare("hello", [ROUTED, SECOND], route="cheapest")
    assert sorted(sent_models(emu)) == sorted([pinned("akash"), pinned("nebula", SECOND)])
    assert list(answers) == [pinned("akash"), pinned("nebula", SECOND)]
    assert all(answer.ok for answer in answers.values())


# Falling back ----------------------------------------------------------------------


def test_a_failing_provider_falls_back_to_the_next_then_the_next_model(
    client: Client, emu: EmulatorHandle
) -> None:
    moves: list[FellBack] = []
    result = client.chat(
        "hello", model=FLAKY, route="cheapest", fallback=[SECOND], on_fallback=moves.append
    )
    # broken (503), then cutting: whole answers are not cut by disconnect_after? They
    # are: a whole answer is dropped half-way. Then akash answers.
    assert sent_models(emu) == [
        pinned("broken", FLAKY),
        pinned("cutting", FLAKY),
        pinned("akash", FLAKY),
    ]
    assert result.provider == "akash"
    assert [m.failed for m in moves] == [f"{FLAKY} · broken", f"{FLAKY} · cutting"]
    assert "HTTP 503" in moves[0].reason and "provider down" in moves[0].reason
    assert result.route is not None and f"after {FLAKY} · broken failed (HTTP 503" in result.route


def test_the_next_model_answers_when_every_provider_failed(
    client: Client, emu: EmulatorHandle
) -> None:
    emu.queue_faults("status=500", "status=502", "status=503")
    result = client.chat("hello", model=FLAKY, route="cheapest", fallback=SECOND)
    assert sent_models(emu)[-1] == pinned("nebula", SECOND)
    assert result.model == pinned("nebula", SECOND)


def test_auto_with_fallback_tries_each_provider_then_the_next_model(
    client: Client, emu: EmulatorHandle
) -> None:
    """After AiMo's own routing failed, the providers in AiMo's order (cheapest first),
    then the next model, through AiMo's routing again."""
    emu.queue_faults("status=503", "status=503", "status=503", "status=503")
    result = client.chat("hello", model=ROUTED, fallback=SECOND)
    assert sent_models(emu) == [
        ROUTED,
        pinned("akash"),
        pinned("nebula"),
        pinned("promptcheap"),
        SECOND,
    ]
    assert result.model == pinned("nebula", SECOND)
    assert result.route is not None
    assert result.route.startswith(f"fallback model 1, after {ROUTED} failed (HTTP 503: ")
    assert f"; {ROUTED} · promptcheap failed (HTTP 503: " in result.route


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("status=401", AuthenticationError),
        ("status=402", PaymentError),
        ("status=400;message=bad parameter", InvalidRequestError),
        ("status=422", InvalidRequestError),
        ("status=429;message=insufficient balance for this request", PaymentError),
    ],
)
def test_errors_that_would_fail_anywhere_never_fall_back(
    client: Client, emu: EmulatorHandle, fault: str, error: type[Exception]
) -> None:
    emu.queue_faults(fault)
    with pytest.raises(error):
        client.chat("hello", model=ROUTED, route="cheapest", fallback=SECOND)
    assert len(emu.requests) == 1


def test_a_broke_key_never_falls_back(emu: EmulatorHandle) -> None:
    broke = Client(api_key=BROKE_KEY, base_url=emu.base_url, max_retries=0)
    with broke, pytest.raises(PaymentError):
        broke.chat("hello", model=ROUTED, route="cheapest", fallback=SECOND)
    assert len(emu.requests) == 1


@pytest.mark.parametrize(
    "fault", ["status=429;retry_after=0", "status=500", "status=504", "disconnect_after=1"]
)
def test_rate_limits_server_errors_and_broken_answers_fall_back(
    client: Client, emu: EmulatorHandle, fault: str
) -> None:
    emu.queue_faults(fault)
    client.chat("hello", model=ROUTED, route="cheapest", fallback=[])
    assert sent_models(emu) == [pinned("akash"), pinned("nebula")]


def test_a_timeout_falls_back(emu: EmulatorHandle) -> None:
    emu.queue_faults("slow_first_token=5")
    with Client(api_key=emu.api_key, base_url=emu.base_url, max_retries=0, timeout=0.5) as c:
        c.chat("hello", model=ROUTED, route="cheapest", fallback=[])
    assert sent_models(emu) == [pinned("akash"), pinned("nebula")]


def test_retries_come_first_then_the_fallback(emu: EmulatorHandle) -> None:
    """A 429 that outlasts the client's retries moves on; one within them does not."""
    emu.queue_faults("status=429;retry_after=0", "status=429;retry_after=0")
    with Client(api_key=emu.api_key, base_url=emu.base_url, max_retries=1) as c:
        c.chat("hello", model=ROUTED, route="cheapest", fallback=[])
        assert sent_models(emu) == [pinned("akash")] * 2 + [pinned("nebula")]
        emu.clear_requests()
        emu.queue_faults("status=429;retry_after=0")
        c.chat("hello", model=ROUTED, route="cheapest", fallback=[])
        assert sent_models(emu) == [pinned("akash")] * 2


def test_a_provider_that_is_gone_falls_back(client: Client, emu: EmulatorHandle) -> None:
    gone = f"{provider_id('vanished')}:{ROUTED}"
    with pytest.raises(RouteError):  # not listed: pinned by the user, nothing to plan
        client.chat("hello", model=gone, max_price=1)
    result = client.chat("hello", model=gone, fallback=ROUTED)
    assert sent_models(emu) == [gone, ROUTED]
    assert result.model.endswith(ROUTED)


def test_without_fallback_a_failure_is_the_answer(client: Client, emu: EmulatorHandle) -> None:
    emu.queue_faults("status=503")
    with pytest.raises(Exception, match="HTTP 503"):
        client.chat("hello", model=ROUTED, route="cheapest")
    assert len(emu.requests) == 1


def test_what_falls_back() -> None:
    from aimo_magic.core.errors import (
        APIConnectionError,
        APITimeoutError,
        NotFoundError,
        RateLimitError,
        ServerError,
    )

    assert all(
        falls_back(e)
        for e in (
            ServerError("x", status=500),
            APITimeoutError("x"),
            APIConnectionError("x"),
            RateLimitError("x", status=429),
            NotFoundError("x", status=404),
            IncompleteStreamError("x"),
        )
    )
    assert not any(
        falls_back(e)
        for e in (
            AuthenticationError("x", status=401),
            PaymentError("x", status=402),
            InvalidRequestError("x", status=400),
            ValueError("x"),
        )
    )


# Streams ---------------------------------------------------------------------------


def test_a_stream_that_broke_after_text_restarts_visibly_on_the_next_provider(
    client: Client, emu: EmulatorHandle
) -> None:
    """cutting drops the connection after some text: with restart=True the text so far is
    declared void by a FellBack (a StreamRestart), and akash's answer follows whole."""
    emu.queue_faults("status=503")  # broken: the first provider, before any text
    with client.stream(
        "::words 30", model=FLAKY, route="cheapest", fallback=[], restart=True
    ) as stream:
        items = list(stream)
    restarts = [i for i in items if isinstance(i, StreamRestart)]
    assert [type(r) for r in restarts] == [FellBack, FellBack]
    assert restarts[0].discarded_text == "" and restarts[1].discarded_text != ""
    after = items[items.index(restarts[-1]) + 1 :]
    assert stream.result is not None
    assert "".join(after) == stream.result.text
    assert stream.result.provider == "akash"
    assert len(stream.result.text.split()) == 30


def test_without_restart_a_stream_that_showed_text_is_not_silently_restarted(
    client: Client, emu: EmulatorHandle
) -> None:
    shown: list[str] = []
    with (
        pytest.raises(IncompleteStreamError) as raised,
        client.stream(
            "::words 30", model=pinned("cutting", FLAKY), fallback=[], route="cheapest"
        ) as stream,
    ):
        shown.extend(stream)
    assert raised.value.partial_text == "".join(shown) != ""
    assert sent_models(emu) == [pinned("cutting", FLAKY)]


def test_without_restart_a_stream_falls_back_before_any_text(
    client: Client, emu: EmulatorHandle
) -> None:
    emu.queue_faults("status=503")
    with client.stream("::words 3", model=ROUTED, route="cheapest", fallback=[]) as stream:
        text = "".join(stream)
    assert sent_models(emu) == [pinned("akash"), pinned("nebula")]
    assert stream.result is not None and text == stream.result.text


def test_the_async_client_routes_and_falls_back_the_same_way(emu: EmulatorHandle) -> None:
    async def ask() -> tuple[ChatResult, list[Any], ChatResult | None]:
        async with AsyncClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=0) as c:
            whole = await c.chat("hello", model=FLAKY, route="cheapest", fallback=[])
            await c.models()
            stream = c.stream("::words 4", model=ROUTED, route="cheapest", restart=True)
            async with stream:
                parts = [p async for p in stream]
            return whole, parts, stream.result

    whole, parts, streamed = asyncio.run(ask())
    assert whole.provider == "akash"
    assert sent_models(emu)[-1] == pinned("akash")
    assert streamed is not None and "".join(parts) == streamed.text


def test_an_async_stream_routes_before_the_catalogue_was_listed(emu: EmulatorHandle) -> None:
    """A fresh AsyncClient: the stream lists the models as it starts, then pins the
    cheapest provider, as the sync client does."""

    async def ask() -> tuple[list[Any], ChatResult | None]:
        async with AsyncClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=0) as c:
            assert c.catalogue is None
            stream = c.stream("::words 4", model=ROUTED, route="cheapest")
            async with stream:
                parts = [p async for p in stream]
            return parts, stream.result

    parts, streamed = asyncio.run(ask())
    assert sent_models(emu) == [pinned("akash")]
    assert streamed is not None and "".join(parts) == streamed.text
    assert streamed.provider == "akash"


# Measurements ----------------------------------------------------------------------


def test_the_log_keeps_medians_per_server_model_and_provider(tmp_path: Path) -> None:
    log = ProviderLog(tmp_path)
    log.record(
        "http://a",
        [
            Outcome("m", "p1", True, 0.2, 50.0),
            Outcome("m", "p1", True, 0.4, None),
            Outcome("m", "p1", True, 0.3, 70.0),
            Outcome("m", "p1", False),
            Outcome("other", "p1", True, 9.0, 1.0),
        ],
    )
    log.record("http://b", [Outcome("m", "p1", True, 5.0, 5.0)])
    assert log.figures("http://a", "m") == {
        "p1": ProviderFigures(answers=3, failures=1, first_token_s=0.3, tokens_per_second=60.0)
    }
    assert log.figures("http://b", "m")["p1"].answers == 1
    log.close()
    reopened = ProviderLog(tmp_path)  # kept in the file, beside the answer cache
    assert reopened.figures("http://a", "m")["p1"].answers == 3
    assert (tmp_path / "answers.sqlite3").exists()


def test_the_log_keeps_only_the_newest_rows(tmp_path: Path) -> None:
    log = ProviderLog(tmp_path)
    log.record("u", [Outcome("m", "p", False)] * KEEP)
    log.record("u", [Outcome("m", "p", True, 0.1)] * 5)
    figures = log.figures("u", "m")["p"]
    assert figures.answers + figures.failures == KEEP


def test_an_unusable_file_turns_the_log_off_quietly(tmp_path: Path) -> None:
    broken = tmp_path / "answers.sqlite3"
    broken.write_bytes(b"not a database at all" * 100)
    log = ProviderLog(tmp_path)
    assert log.record("u", [Outcome("m", "p", True, 0.1)]) == 0
    assert log.figures("u", "m") == {}
    assert log.problem is not None and "corrupt" in str(log.problem)


def test_answers_and_failures_are_measured_where_the_route_reads_them(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    """A routing name's failure is AiMo's (no provider to blame); a pinned one's is
    the provider's; an answer is measured against the provider that served it."""
    with Client(api_key=emu.api_key, base_url=emu.base_url, route="fastest", max_retries=0) as c:
        answer = c.chat("::words 5", model=FLAKY, fallback=[])
        log = c.provider_log
    assert log is not None
    assert sent_models(emu) == [
        FLAKY,
        pinned("broken", FLAKY),
        pinned("cutting", FLAKY),
        pinned("akash", FLAKY),
    ]
    assert answer.provider == "akash"
    figures = log.figures(emu.base_url, FLAKY)
    assert {
        name: (figures[provider_id(name)].answers, figures[provider_id(name)].failures)
        for name in ("broken", "cutting", "akash")
    } == {
        "broken": (0, 1),
        "cutting": (0, 1),
        "akash": (1, 0),
    }
    assert figures[provider_id("akash")].first_token_s is not None
