"""The emulator with no server: the core client through the in-process ASGI transport.

This is how the examples run in JupyterLite (Pyodide has no sockets); on CPython the
same transport waits through a loop thread instead of JSPI, so everything but that
wait is tested here: streaming piece by piece, both twins, faults and retries, a
client that hangs up, a stopped emulator, and the examples' setup switch.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx2
import pytest
from waiting import wait_until

from aimo_magic import demo
from aimo_magic.core.async_client import AsyncClient
from aimo_magic.core.client import Client
from aimo_magic.core.errors import APIConnectionError, APITimeoutError, IncompleteStreamError
from aimo_magic.core.retry import StreamRestart
from aimo_magic.core.transports import mounted_for
from aimo_magic.emulator.inprocess import InProcessEmulator, start_in_process
from aimo_magic.emulator.runners import ThreadRunner

KEY = "aimo-sk-v2-test-inprocess-0000"
MODEL = "DeepSeek-V3-1"


@pytest.fixture
def emu(in_process_emulator: InProcessEmulator) -> Iterator[InProcessEmulator]:
    in_process_emulator.clear_faults()
    in_process_emulator.clear_requests()
    yield in_process_emulator
    in_process_emulator.clear_faults()


def client_for(emu: InProcessEmulator, **kwargs: object) -> Client:
    return Client(KEY, base_url=emu.base_url, transport=emu.transport, **kwargs)  # type: ignore[arg-type]


def app_tasks(emu: InProcessEmulator) -> int:
    """Tasks still running on the emulator's loop (the app serving a response)."""
    runner = emu._gate.runner
    assert isinstance(runner, ThreadRunner)

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    return runner.run(count())


def test_a_streamed_answer_arrives_piece_by_piece(emu: InProcessEmulator) -> None:
    """httpx2's own ASGITransport would hand over one piece at the end; this one streams."""
    body = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "::words 20 ::fault hold_after=1"}],
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    emu.hold()  # the answer stops after its first chunk until the test has read it
    with (
        httpx2.Client(base_url=emu.base_url, transport=emu.transport, timeout=30) as http,
        http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        pieces = response.iter_raw()
        first = next(pieces)
        assert b'"role":"assistant"' in first and b"[DONE]" not in first
        wait_until(lambda: emu.held == 1, "the rest of the answer is held")
        assert app_tasks(emu) >= 1, "the app is still writing the answer"
        emu.release()
        rest = list(pieces)
    assert len(rest) >= 20, "one piece per token at least"
    assert rest[-1].strip().endswith(b"data: [DONE]")
    assert app_tasks(emu) == 0


def test_the_sync_client_streams_retries_and_counts(emu: InProcessEmulator) -> None:
    with client_for(emu) as client:
        assert any(m.name == MODEL for m in client.models())
        with client.stream("hello ::words 12", model=MODEL) as stream:
            deltas = list(stream)
        assert len("".join(deltas).split()) == 12 and stream.result is not None
        assert stream.result.usage is not None
        assert stream.result.usage.completion_tokens == len(deltas), "one delta per token"
        emu.queue_faults("disconnect_after=4")
        with client.stream("again ::words 6", model=MODEL, restart=True) as stream:
            result = stream.until_done()
        assert stream.retries == 1 and len(result.text.split()) == 6
        emu.queue_faults("status=503;retry_after=0")
        assert len(client.chat("whole ::words 3", model=MODEL).text.split()) == 3
    assert len(emu.requests) == 5, "2 streamed, 1 retried, 1 refused, 1 whole"


def test_the_async_twin_streams_through_its_own_loop(emu: InProcessEmulator) -> None:
    async def ask() -> tuple[list[str], str]:
        async with AsyncClient(KEY, base_url=emu.base_url, transport=emu.async_transport) as client:
            emu.queue_faults("disconnect_after=3")
            async with client.stream("::words 9", model=MODEL, restart=True) as stream:
                seen = [item async for item in stream]
            assert stream.retries == 1 and stream.result is not None
            (restart,) = [item for item in seen if isinstance(item, StreamRestart)]
            at = seen.index(restart)
            assert "".join(map(str, seen[:at])) == restart.discarded_text
            return [str(item) for item in seen[at + 1 :]], stream.result.text

    deltas, text = asyncio.run(ask())
    assert len(deltas) >= 9 and "".join(deltas) == text


def test_a_stalled_stream_times_out_like_a_socket(emu: InProcessEmulator) -> None:
    emu.hold()  # silent after three chunks for as long as it takes
    emu.queue_faults("hold_after=3")
    with (
        client_for(emu, timeout=0.5, max_retries=0) as client,
        pytest.raises(IncompleteStreamError, match="ReadTimeout") as caught,
    ):
        client.stream("::words 8", model=MODEL).until_done()
    assert caught.value.partial_text
    assert app_tasks(emu) == 0, "the stalled app was cancelled when the client gave up"


def test_a_slow_first_token_times_out_before_the_stream(emu: InProcessEmulator) -> None:
    emu.hold()  # the answer never starts
    with client_for(emu, timeout=0.5, max_retries=0) as client, pytest.raises(APITimeoutError):
        client.chat("::words 3", model=MODEL)


def test_hanging_up_early_cancels_the_answer(emu: InProcessEmulator) -> None:
    emu.hold()  # the answer stops after ten chunks, so it is still being written
    with (
        client_for(emu) as client,
        client.stream("::words 400 ::fault hold_after=10", model=MODEL) as s,
    ):
        for _ in zip(range(3), s, strict=False):
            pass
        wait_until(lambda: emu.held == 1, "the rest of the answer is held")
        assert app_tasks(emu) >= 1
    assert app_tasks(emu) == 0


def test_configure_mounts_it_for_every_client_of_its_url() -> None:
    handle = start_in_process()
    saved = {name: os.environ.get(name) for name in ("AIMO_BASE_URL", "AIMO_API_KEY")}
    try:
        handle.configure()
        assert os.environ["AIMO_BASE_URL"] == handle.base_url
        assert handle.base_url.startswith("http://") and ".invalid/" in handle.base_url
        mounted = mounted_for(handle.base_url)
        assert mounted is not None and mounted.transport is handle.transport
        with Client() as client:
            assert client.chat("::words 2", model=MODEL).text
        handle.stop()
        assert not handle.running and mounted_for(handle.base_url) is None
        with Client() as client, pytest.raises(APIConnectionError, match="Could not reach"):
            client.models()
    finally:
        handle.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_a_stopped_emulator_refuses_like_a_stopped_server() -> None:
    with start_in_process() as handle, client_for(handle) as client:
        assert client.models()
        handle.stop()
        with pytest.raises(APIConnectionError, match="emulator was stopped"):
            client.models()


def test_the_examples_switch_runs_it_in_process_where_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AIMO_API_KEY", "AIMO_BASE_URL", demo.PACE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(demo.IN_PROCESS_ENV, "1")
    monkeypatch.setattr(demo, "_running", None)
    handle = demo.use_emulator_unless_key(tokens_per_second=None)
    try:
        assert isinstance(handle, InProcessEmulator) and handle.running
        assert "local AiMo emulator in this process (no server)" in capsys.readouterr().out
        with Client() as client:
            assert len(client.chat("::words 4", model=MODEL).text.split()) == 4
        assert demo.use_emulator_unless_key() is handle
    finally:
        if handle is not None:
            handle.stop()
