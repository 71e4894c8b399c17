"""Providers with their own behaviour: limits answered with 429, prices, faults, counts."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx2
import pytest
from test_emulator import chat, open_client
from waiting import wait_until

from aimo_magic.emulator import (
    EmulatorHandle,
    ProviderProfile,
    ProviderSpecError,
    ServedModel,
    provider_id,
    start,
)
from aimo_magic.emulator.providers import parse_provider_spec, parse_served_spec

MODEL = "demo/spread"
PROVIDERS = (
    "cheap;max_in_flight=2;retry_after=0.5;prompt=0.1;completion=0.2",
    "middle;prompt=0.2;completion=0.4",
    "broken;fault=status=503,message=gone fishing;prompt=0.5;completion=1.0",
)


@pytest.fixture(scope="module")
def providers_emulator() -> Iterator[EmulatorHandle]:
    with start(providers=PROVIDERS, serve=[f"{MODEL}=cheap,middle,broken"]) as handle:
        yield handle


@pytest.fixture
def emu(providers_emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    providers_emulator.reset_provider_counts()
    yield providers_emulator


def pinned(name: str) -> str:
    return f"{provider_id(name)}:{MODEL}"


def test_specs_read_every_key_and_refuse_what_they_cannot_read() -> None:
    profile = parse_provider_spec(
        "fast;latency_ms=100;tokens_per_second=50;max_in_flight=16;retry_after=0.2;"
        "prompt=0.1;completion=0.4;fault=status=500,retry_after=1"
    )
    assert profile == ProviderProfile(
        "fast", 100.0, 50.0, 16, 0.2, "status=500;retry_after=1", 0.1, 0.4
    )
    assert parse_served_spec("a/b = p1, p2") == ServedModel("a/b", ("p1", "p2"))
    for bad, words in [
        ("fast;max_in_flight=0", "max_in_flight must be 1 or more"),
        ("fast;max_in_flight=two", "not a whole number"),
        ("fast;speed=3", "unknown key 'speed'"),
        ("fast;latency_ms", "is not key=value"),
        ("fast;fault=status=9999", "provider fast"),
    ]:
        with pytest.raises(ProviderSpecError, match=words):
            parse_provider_spec(bad)
    with pytest.raises(ProviderSpecError, match="MODEL=PROVIDER"):
        parse_served_spec("a/b")


def test_a_served_model_lists_its_providers_in_order_at_their_prices(
    emu: EmulatorHandle,
) -> None:
    with open_client(emu) as client:
        listed = client.get("/v1/models").json()["data"]
    model = next(m for m in listed if m["name"] == MODEL)
    assert [(p["name"], p["id"]) for p in model["providers"]] == [
        (name, provider_id(name)) for name in ("cheap", "middle", "broken")
    ]
    assert model["providers"][0]["pricing"] == {"prompt": 0.1, "completion": 0.2, "image": None}


def test_a_provider_at_its_limit_answers_429_with_retry_after(emu: EmulatorHandle) -> None:
    """Two streams hold the cheap provider's two places; the third request is refused,
    a routing name goes to the next provider with room, and the places come back."""
    stall = {"X-Emulator-Fault": "stall_after=2;stall_s=30"}
    body = {
        "model": pinned("cheap"),
        "stream": True,
        "messages": [{"role": "user", "content": "::words 5"}],
    }
    readers = []  # kept: a reader dropped closes its stream
    with open_client(emu) as client, ExitStack() as held:
        for _ in range(2):
            response = held.enter_context(
                client.stream("POST", "/v1/chat/completions", json=body, headers=stall)
            )
            assert response.status_code == 200
            readers.append(response.iter_raw())
            next(readers[-1])  # the answer has begun: the place is taken
        assert emu.provider_counts["cheap"].in_flight == 2
        refused = chat(client, "::words 3", model=pinned("cheap"))
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "0.5"
        assert "cheap is serving its limit of 2" in refused.json()["error"]["message"]
        routed = chat(client, "::words 3", model=MODEL)
        assert routed.status_code == 200
        assert routed.json()["model"] == pinned("middle")
    counts = emu.provider_counts
    assert (counts["cheap"].refused, counts["cheap"].most_in_flight) == (1, 2)
    assert counts["middle"].answered == 1
    # The cut streams give their places back once the server sees them gone.
    wait_until(lambda: emu.provider_counts["cheap"].in_flight == 0, "cheap has none in flight")
    with open_client(emu) as client:
        again = chat(client, "::words 3", model=MODEL)
        assert again.json()["model"] == pinned("cheap")


def test_a_finished_answer_has_given_its_place_back(emu: EmulatorHandle) -> None:
    """The place is free before the last byte leaves, so a client that read the whole
    answer is never refused for it: one after another, a limit of 2 is never hit."""
    with open_client(emu) as client:
        for stream in (False, True) * 10:
            response = chat(client, "::words 3", model=pinned("cheap"), stream=stream)
            assert response.status_code == 200
            response.read()
            assert emu.provider_counts["cheap"].in_flight == 0
    counts = emu.provider_counts["cheap"]
    assert (counts.answered, counts.refused, counts.most_in_flight) == (20, 0, 1)


def test_a_provider_profile_fault_fails_every_answer_it_gives(emu: EmulatorHandle) -> None:
    with open_client(emu) as client:
        failed = chat(client, "hello", model=pinned("broken"))
        other = chat(client, "hello", model=pinned("middle"))
    assert failed.status_code == 503
    assert failed.json()["error"]["message"] == "gone fishing"
    assert other.status_code == 200
    assert emu.provider_counts["broken"].failed == 1


def test_counts_are_served_over_http_and_reset(emu: EmulatorHandle) -> None:
    with open_client(emu) as client:
        chat(client, "hello", model=pinned("middle"))
        seen = client.get("/_emulator/providers").json()["providers"]
        assert seen["middle"]["answered"] == 1
        cleared = client.delete("/_emulator/providers").json()["providers"]
    assert cleared["middle"]["answered"] == 0


def test_the_command_line_takes_providers_and_served_models() -> None:
    """A bad spec is one line on stderr and exit status 2, before anything listens."""
    done = subprocess.run(
        [sys.executable, "-m", "aimo_magic.emulator", "--provider", "x;max_in_flight=0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "max_in_flight must be 1 or more" in done.stderr
    assert "Traceback" not in done.stderr


def test_httpx_sees_the_same_limit_through_the_in_process_transport() -> None:
    from aimo_magic.emulator import start_in_process

    with start_in_process(providers=["solo;max_in_flight=1"], serve=["x/y=solo"]) as handle:
        with open_client(handle) as client:
            first = chat(client, "::words 2", model="x/y")
            assert first.status_code == 200
        assert handle.provider_counts["solo"].answered == 1


def test_unknown_behaviour_keeps_the_catalogue_as_it_was(emulator: EmulatorHandle) -> None:
    """Without profiles the shared emulator routes a name to its cheapest provider."""
    with httpx2.Client(base_url=emulator.base_url, timeout=10) as client:
        listed = client.get("/v1/models").json()["data"]
    assert MODEL not in {m["name"] for m in listed}


# Failures at a rate, behaviour changed while running, one request's own behaviour ---------

GPT = "openai/gpt-4o"  # nebula-gpu is its cheapest provider, then solstice-labs


def gpt_at(name: str) -> str:
    return f"{provider_id(name)}:{GPT}"


def statuses(client: httpx2.Client, model: str, count: int) -> list[int]:
    return [chat(client, f"q{n}", model=model).status_code for n in range(count)]


def test_a_failure_rate_fails_that_fraction_the_same_requests_in_every_run() -> None:
    rated = ["flaky;failure_rate=0.25", "picky;failure_rate=0.5;fault=status=502,retry_after=2"]
    with start(providers=rated, serve=["x/flaky=flaky", "x/picky=picky"]) as handle:
        with open_client(handle) as client:
            first = statuses(client, "x/flaky", 40)
            picky = chat(client, "::words 2", model="x/picky")
            while picky.status_code == 200:
                picky = chat(client, "::words 2", model="x/picky")
        assert set(first) == {200, 503} and 4 <= first.count(503) <= 18
        assert picky.status_code == 502 and picky.headers["retry-after"] == "2"
        handle.reset_provider_counts()  # the n-th request since the reset fails or not
        with open_client(handle) as client:
            assert statuses(client, "x/flaky", 40) == first, "whatever the prompts"
        assert handle.provider_counts["flaky"].failed == first.count(503)
    with pytest.raises(ProviderSpecError, match="failure_rate must be from 0 to 1"):
        parse_provider_spec("x;failure_rate=1.5")


def test_a_provider_changed_while_running_and_set_back() -> None:
    with start() as handle, open_client(handle) as client:
        assert chat(client, "hi", model=GPT).json()["model"] == gpt_at("nebula-gpu")
        handle.set_provider("nebula-gpu;fault=status=503")
        assert chat(client, "hi", model=GPT).status_code == 503, "the cheapest, now down"
        assert chat(client, "hi", model=gpt_at("solstice-labs")).status_code == 200
        handle.set_provider(ProviderProfile("nebula-gpu", max_in_flight=1))
        assert chat(client, "hi", model=GPT).status_code == 200
        handle.reset_providers()
        assert handle.provider_counts["nebula-gpu"].failed == 1
        assert chat(client, "hi", model=GPT).json()["model"] == gpt_at("nebula-gpu")


def test_a_provider_directive_changes_that_provider_for_that_request_only(
    emu: EmulatorHandle,
) -> None:
    down = "hello ::provider nebula-gpu fault=status=503,message=not today"
    with open_client(emu) as client:
        failed = chat(client, down, model=GPT)
        assert failed.status_code == 503 and failed.json()["error"]["message"] == "not today"
        assert chat(client, down, model=gpt_at("solstice-labs")).status_code == 200
        assert chat(client, "hello", model=GPT).status_code == 200, "the next request is fine"
        anyone = "::provider * fault=status=502 ::provider solstice-labs retry_after=3"
        assert chat(client, anyone, model=gpt_at("solstice-labs")).status_code == 502
        bad = chat(client, "::provider nebula-gpu max_in_flight=0", model=GPT)
        assert bad.status_code == 400 and "max_in_flight must be 1 or more" in bad.text
        assert chat(client, "::provider nebula-gpu", model=GPT).status_code == 400


def test_a_limit_set_for_one_request_routes_it_past_a_provider_it_would_overfill(
    emu: EmulatorHandle,
) -> None:
    stall = {"X-Emulator-Fault": "stall_after=0;stall_s=30"}
    body = {
        "model": pinned("cheap"),
        "stream": True,
        "messages": [{"role": "user", "content": "x"}],
    }
    with open_client(emu) as client, ExitStack() as held:
        response = held.enter_context(
            client.stream("POST", "/v1/chat/completions", json=body, headers=stall)
        )
        assert response.status_code == 200
        wait_until(lambda: emu.provider_counts["cheap"].in_flight == 1, "cheap has one in flight")
        assert chat(client, "::words 2", model=MODEL).json()["model"] == pinned("cheap")
        by_id = f"::provider {provider_id('cheap')} max_in_flight=1 ::words 2"
        assert chat(client, by_id, model=MODEL).json()["model"] == pinned("middle")
        pinned_full = chat(client, "::provider cheap max_in_flight=1", model=pinned("cheap"))
        assert pinned_full.status_code == 429


def test_a_provider_directive_paces_its_provider(emu: EmulatorHandle) -> None:
    with open_client(emu) as client:
        started = time.monotonic()
        slow = chat(client, "hi ::provider * latency_ms=300", model=pinned("middle"))
        assert slow.status_code == 200
        assert time.monotonic() - started >= 0.3, "the provider's first-token wait"


def test_the_catalogue_lists_models_whose_providers_differ_in_price(
    emulator: EmulatorHandle,
) -> None:
    with open_client(emulator) as client:
        listed = {m["name"]: m for m in client.get("/v1/models").json()["data"]}
    for name in ("meta-llama/llama-3.3-70b-instruct", "gpt-oss-120b"):
        prices = {
            (p["pricing"]["prompt"], p["pricing"]["completion"]) for p in listed[name]["providers"]
        }
        assert len(listed[name]["providers"]) == len(prices) == 4, name
