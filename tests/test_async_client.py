"""The async twin against the emulator: same answers, same failures."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

import pytest

from aimo_magic import AsyncClient, Client, IncompleteStreamError, NotFoundError
from aimo_magic.core.base import RetryEvent
from aimo_magic.core.retry import retry_after_seconds
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-0000-made-up-key-for-tests"
MODEL = "DeepSeek-V3-1"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_async_stream_matches_sync_chat(emulator: EmulatorHandle) -> None:
    with Client(KEY, base_url=emulator.base_url) as client:
        expected = client.chat("Tell me about bridges", model=MODEL)

    async def go() -> tuple[list[str], object]:
        async with AsyncClient(KEY, base_url=emulator.base_url) as client:
            models = await client.models()
            assert models
            async with client.stream("Tell me about bridges", model=MODEL) as stream:
                deltas = [d async for d in stream]
            chat = await client.chat("Tell me about bridges", model=MODEL)
            assert chat.text == expected.text
            return deltas, stream.result

    deltas, result = run(go())
    assert "".join(deltas) == expected.text
    assert result.usage == expected.usage  # type: ignore[attr-defined]
    assert result.provider and ":" not in result.provider  # type: ignore[attr-defined]


def test_async_retry_and_give_up(emulator: EmulatorHandle) -> None:
    events: list[RetryEvent] = []

    async def go() -> None:
        async with (
            AsyncClient(
                KEY, base_url=emulator.base_url, max_retries=1, max_retry_wait=0.05
            ) as client,
            client.stream(
                "x ::fault disconnect_after=3", model=MODEL, on_retry=events.append, restart=True
            ) as stream,
        ):
            async for _ in stream:
                pass

    with pytest.raises(IncompleteStreamError) as caught:
        run(go())
    assert len(events) == 1 and caught.value.partial_text


def test_async_not_found(emulator: EmulatorHandle) -> None:
    async def go() -> None:
        async with AsyncClient(KEY, base_url=emulator.base_url) as client:
            await client.chat("hi", model="nope/nothing")

    with pytest.raises(NotFoundError):
        run(go())


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    # An HTTP-date 30 s ahead (whole seconds): the wait is counted from when it is read,
    # so it is bounded by the clock read before and after, however long that takes.
    before = time.time()
    when = int(before) + 30
    future = retry_after_seconds({"Retry-After": formatdate(when, usegmt=True)})
    after = time.time()
    assert future is not None and when - after <= future <= when - before
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_async_finished_stream_without_done_is_accepted(emulator: EmulatorHandle) -> None:
    emulator.clear_requests()
    events: list[RetryEvent] = []

    async def go() -> object:
        async with (
            AsyncClient(KEY, base_url=emulator.base_url, max_retry_wait=0.05) as client,
            client.stream("x ::fault eof_no_done", model=MODEL, on_retry=events.append) as stream,
        ):
            return await stream.until_done()

    result = run(go())
    assert events == [] and len(emulator.requests) == 1
    assert result.finish_reason == "stop" and result.usage and result.notes  # type: ignore[attr-defined]


def test_a_batch_keeps_its_connections_alive_for_the_next(emulator: EmulatorHandle) -> None:
    """64 requests in flight, then all 64 connections kept for reuse (httpx2 keeps 20)."""

    emulator.hold(until=64)  # no answer starts before all 64 requests are at the server

    async def go() -> tuple[int, int]:
        async with AsyncClient(KEY, base_url=emulator.base_url, timeout=30) as client:
            batch = [client.chat("hi", model=MODEL) for _ in range(64)]
            answers = await asyncio.gather(*batch)
            pool = client._http._transport._pool  # type: ignore[attr-defined]
            return len(answers), len(pool.connections)

    answered, kept = run(go())
    assert answered == 64
    assert kept > 20, f"only {kept} connections kept alive after 64 in flight"
