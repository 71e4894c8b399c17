"""Client(cache=...) and AsyncClient(cache=...) against the emulator: hits make no request."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimo_magic import AnswerCache, AsyncClient, Client, IncompleteStreamError, ServerError
from aimo_magic.core.cache import FILE_NAME, CacheUnavailableError
from aimo_magic.core.cache_use import CacheWarning
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-0000-made-up-key-for-cache"
MODEL = "DeepSeek-V3-1"


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    try:
        yield emulator
    finally:
        emulator.clear_faults()


@pytest.fixture
def client(emu: EmulatorHandle, tmp_path: Path) -> Iterator[Client]:
    with Client(
        KEY, base_url=emu.base_url, timeout=5, max_retries=0, model=MODEL, cache=tmp_path
    ) as c:
        yield c


def test_the_same_request_is_answered_once(client: Client, emu: EmulatorHandle) -> None:
    # ::echo answers carry the request id, so a second live answer would differ.
    live = client.chat("::echo rivers", temperature=0.2)
    assert live.cached_at is None and live.request_id
    again = client.chat("::echo rivers", temperature=0.2)
    assert len(emu.requests) == 1
    assert again.cached_at is not None
    assert (again.text, again.finish_reason, again.usage) == (
        live.text,
        live.finish_reason,
        live.usage,
    )
    assert (again.model, again.provider) == (live.model, live.provider)
    assert again.request_id is None


def test_a_stream_replays_a_stored_answer_as_one_delta(client: Client, emu: EmulatorHandle) -> None:
    with client.stream("::echo tides") as stream:
        live = "".join(stream)
    assert stream.result is not None and stream.result.cached_at is None
    with client.stream("::echo tides") as stream:
        deltas = list(stream)
    assert deltas == [live]
    assert stream.result is not None and stream.result.cached_at is not None
    assert client.chat("::echo tides").text == live, "streamed or not, the same entry"
    assert len(emu.requests) == 1


def test_changed_parameters_or_models_miss(client: Client, emu: EmulatorHandle) -> None:
    client.chat("::echo a", temperature=0.2)
    client.chat("::echo a", temperature=0.3)
    client.chat("::echo a", temperature=0.2, max_tokens=400)
    client.chat("::echo a", temperature=0.2, model="openai/gpt-4o")
    client.chat(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "::echo a"}]
    )
    client.chat("::echo a")
    assert len(emu.requests) == 6
    client.chat("::echo a", temperature=0.2, model="openai/gpt-4o")
    assert len(emu.requests) == 6


def test_cache_false_asks_the_server(client: Client, emu: EmulatorHandle) -> None:
    first = client.chat("::echo b")
    fresh = client.chat("::echo b", cache=False)
    assert fresh.cached_at is None and fresh.text != first.text
    assert len(emu.requests) == 2


def test_failures_and_broken_streams_are_not_stored(client: Client, emu: EmulatorHandle) -> None:
    emu.queue_faults("status=500")
    with pytest.raises(ServerError):
        client.chat("::echo c")
    emu.queue_faults("disconnect_after=3")
    with pytest.raises(IncompleteStreamError), client.stream("::echo c") as stream:
        list(stream)
    assert client.cache is not None and client.cache.stats().entries == 0
    assert client.chat("::echo c").cached_at is None
    assert len(emu.requests) == 3


def test_an_interrupted_stream_is_not_stored(client: Client, emu: EmulatorHandle) -> None:
    with client.stream("::words 200") as stream:
        next(iter(stream))
    assert client.cache is not None and client.cache.stats().entries == 0
    with client.stream("::words 200") as stream:
        assert len(list(stream)) > 1, "answered live, in many deltas"


def test_a_corrupt_file_warns_once_and_answers_go_on(emu: EmulatorHandle, tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"garbage " * 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Client(KEY, base_url=emu.base_url, model=MODEL, cache=tmp_path) as client:
            assert client.cache is None
            assert client.chat("::echo d").text
            assert client.chat("::echo d").cached_at is None
    cache_warnings = [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(cache_warnings) == 1
    assert "corrupt" in str(cache_warnings[0].message)


def test_a_cache_that_fails_later_is_dropped_and_reported_once(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    reports: list[CacheUnavailableError] = []
    shared = AnswerCache(tmp_path)
    with Client(
        KEY, base_url=emu.base_url, model=MODEL, cache=shared, on_cache_error=reports.append
    ) as client:
        client.chat("::echo e")
        shared.close()
        assert client.chat("::echo e").cached_at is None
        assert client.chat("::echo e").cached_at is None
        assert client.cache is None
    assert len(reports) == 1 and "closed" in reports[0].reason
    assert len(emu.requests) == 3


def test_a_given_store_stays_open_after_the_client_closes(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    with AnswerCache(tmp_path) as shared:
        with Client(KEY, base_url=emu.base_url, model=MODEL, cache=shared) as client:
            client.chat("::echo f")
        assert shared.stats().entries == 1
        with Client(KEY, base_url=emu.base_url, model=MODEL, cache=True) as other:
            assert other.cache is not None and other.cache is not shared


def test_the_api_key_never_reaches_the_file(client: Client) -> None:
    client.chat("::echo g", temperature=0.1)
    with client.stream("::code python") as stream:
        list(stream)
    assert client.cache is not None
    path = client.cache.path
    raw = b"".join(
        Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )
    assert b"x-request-id" in raw, "the echo answers are in the file"
    assert KEY.encode() not in raw
    assert KEY[-12:].encode() not in raw


def test_async_client_hits_without_a_request(emu: EmulatorHandle, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], str, float | None, float | None]:
        async with AsyncClient(KEY, base_url=emu.base_url, model=MODEL, cache=tmp_path) as c:
            live = await c.chat("::echo h")
            hit = await c.chat("::echo h")
            assert hit.text == live.text
            async with c.stream("::echo h") as stream:
                deltas = [d async for d in stream]
            assert stream.result is not None
            return deltas, live.text, hit.cached_at, stream.result.cached_at

    deltas, text, chat_cached, stream_cached = asyncio.run(scenario())
    assert deltas == [text]
    assert chat_cached is not None and stream_cached is not None
    assert len(emu.requests) == 1


def test_async_stream_stores_what_it_received(emu: EmulatorHandle, tmp_path: Path) -> None:
    async def scenario() -> str:
        async with (
            AsyncClient(KEY, base_url=emu.base_url, model=MODEL, cache=tmp_path) as c,
            c.stream("::echo i") as stream,
        ):
            return "".join([d async for d in stream])

    streamed = asyncio.run(scenario())
    with Client(KEY, base_url=emu.base_url, model=MODEL, cache=tmp_path) as client:
        hit = client.chat("::echo i")
    assert hit.cached_at is not None and hit.text == streamed
    assert len(emu.requests) == 1
