"""The emulator's gate: answers held until a test lets them go, over a socket and in-process.

Other tests synchronise on it instead of sleeping, so it must hold exactly what it says,
let go of everything on ``release``, and notice a client that gives up while it waits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from test_emulator import chat, open_client
from waiting import wait_until

from aimo_magic.emulator.handle import BaseHandle


@pytest.fixture(params=["served", "in-process"])
def emu(request: pytest.FixtureRequest) -> Iterator[BaseHandle]:
    name = "emulator" if request.param == "served" else "in_process_emulator"
    handle: BaseHandle = request.getfixturevalue(name)
    handle.clear_requests()
    yield handle
    handle.release()


def in_background(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` in a thread; its result (or the exception it raised) lands in the list."""
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def whole_answer(emu: BaseHandle, content: str = "::words 3", timeout: float = 60) -> Any:
    with open_client(emu) as client:
        client.timeout = httpx2.Timeout(timeout)
        response = chat(client, content)
        return response.status_code, response.json()["choices"][0]["message"]["content"]


def test_a_closed_gate_holds_answers_after_its_allowance_until_released(
    emu: BaseHandle,
) -> None:
    expected = whole_answer(emu)
    emu.clear_requests()
    emu.hold(after=1)
    asked = [in_background(lambda: whole_answer(emu)) for _ in range(3)]

    def answered() -> int:
        return sum(len(results) for _, results in asked)

    wait_until(lambda: emu.held == 2 and answered() == 1, "one is answered and two are held")
    assert len(emu.requests) == 3
    emu.release()
    for thread, results in asked:
        thread.join(60)
        assert results == [expected]
    assert emu.held == 0 and emu.abandoned == 0
    assert whole_answer(emu) == expected, "an open gate holds nothing"


def test_a_stream_with_hold_after_stops_after_that_many_chunks_until_released(
    emu: BaseHandle,
) -> None:
    frames: list[str] = []

    def read_stream() -> str:
        frames.clear()
        with open_client(emu) as client:
            payload = {
                "model": "openai/gpt-4o",
                "stream": True,
                "messages": [{"role": "user", "content": "::words 10 ::fault hold_after=3"}],
            }
            with client.stream("POST", "/v1/chat/completions", json=payload) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        frames.append(line[len("data: ") :])
        return frames[-1]

    read_stream()  # the gate is open: hold_after changes nothing
    unheld = list(frames)
    emu.hold()
    thread, results = in_background(read_stream)
    wait_until(lambda: emu.held == 1 and len(frames) == 3, "three chunks came, then the hold")
    assert "[DONE]" not in frames and results == []
    role, *tokens = (json.loads(f)["choices"][0]["delta"] for f in frames)
    assert role.get("role") == "assistant" and len(tokens) == 2
    emu.release()
    thread.join(60)
    assert results == ["[DONE]"] and len(frames) == len(unheld) > 3
    texts = [json.loads(f)["choices"][0]["delta"].get("content") for f in frames[:-2]]
    assert texts == [json.loads(f)["choices"][0]["delta"].get("content") for f in unheld[:-2]]


def test_a_barrier_lets_its_answers_go_once_that_many_wait_together(emu: BaseHandle) -> None:
    expected = whole_answer(emu)
    emu.hold(until=3)
    asked = [in_background(lambda: whole_answer(emu)) for _ in range(3)]
    for thread, results in asked:
        thread.join(60)
        assert results == [expected]
    assert emu.held == 0
    assert whole_answer(emu) == expected, "then the gate stays open"


@pytest.mark.parametrize("content", ["::words 3", "::words 30 ::fault hold_after=4"])
def test_a_client_that_gives_up_while_held_is_counted_as_abandoned(
    emu: BaseHandle, content: str
) -> None:
    emu.hold()

    def give_up() -> Any:
        with open_client(emu) as client:
            client.timeout = httpx2.Timeout(60, read=0.2)
            with client.stream(
                "POST",
                "/v1/chat/completions",
                json={
                    "model": "openai/gpt-4o",
                    "stream": "hold_after" in content,
                    "messages": [{"role": "user", "content": content}],
                },
            ) as response:
                return response.read()

    thread, results = in_background(give_up)
    thread.join(60)
    assert isinstance(results[0], httpx2.ReadTimeout)
    wait_until(lambda: emu.held == 0, "the gate saw the client go")
    assert emu.abandoned == 1
    assert "answered" not in emu.requests[-1], "an abandoned answer was never handed over"


def test_the_log_says_when_each_answer_was_handed_over(emu: BaseHandle) -> None:
    whole_answer(emu)
    with open_client(emu) as client:
        chat(client, "::words 5", stream=True)
    for entry in emu.requests:
        assert entry["received"] <= entry["answered"]


def test_the_gate_over_http(emu: BaseHandle) -> None:
    with open_client(emu) as client:
        state = client.post("/_emulator/gate", json={"after": 1}).json()
        assert state == {"holding": True, "held": 0, "abandoned": 0}
        assert client.get("/_emulator/gate").json()["holding"] is True
        refused = client.post("/_emulator/gate", json={"after": "many"})
        assert refused.status_code == 400
        assert '{"after": 10}' in refused.json()["error"]["message"]
        assert client.delete("/_emulator/gate").json()["holding"] is False
