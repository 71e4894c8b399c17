"""A stream never hands the caller the same text twice: what it yields is the answer.

Against a real loopback server that breaks the first answer part-way (a dropped
connection, an end without a finish, a malformed chunk, a stall past the read timeout),
for the sync and the async client, with and without ``restart=True`` and ``on_retry``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from fixture_servers import ANSWER, ANSWER_PIECES, Break, serve_breaking_streams

from aimo_magic import AsyncClient, Client, IncompleteStreamError, StreamRestart
from aimo_magic.core.comparison import Comparison, Delta, Retrying
from aimo_magic.core.retry import RetryEvent
from aimo_magic.core.types import ChatResult
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-0000-made-up-key-for-tests"
MODEL = "mock"
BREAKS: list[Break] = ["drop", "truncate", "bad_json", "stall"]
# The client's timeout when the server stalls: short, so the test ends soon; an answer that
# does not stall is sent at once, so only the stall is this silent. Otherwise a generous one.
STALL_TIMEOUT = 1.0
TIMEOUT = 30.0
SHOWN = "".join(ANSWER_PIECES[:2])  # what the broken first attempt yields
# How the client names each break, so a test knows the server broke the way it meant to.
SAYS = {
    "drop": "The stream broke off (RemoteProtocolError",
    "truncate": "The stream ended without [DONE] or a finish_reason",
    "bad_json": "The stream carried a chunk that is not valid JSON",
    "stall": "The stream broke off (ReadTimeout",
}


@dataclass
class Outcome:
    """Everything the caller saw, in order: deltas, restarts and (with on_retry) events."""

    seen: list[str | StreamRestart | RetryEvent] = field(default_factory=list)
    result: ChatResult | None = None
    error: IncompleteStreamError | None = None

    def text_since_last_restart(self) -> str:
        text: list[str] = []
        for item in self.seen:
            if isinstance(item, StreamRestart):
                text.clear()
            elif isinstance(item, str):
                text.append(item)
        return "".join(text)

    def of_type(self, kind: type) -> list:
        return [item for item in self.seen if isinstance(item, kind)]


def stream_sync(options: dict[str, Any], restart: bool, hook: bool) -> Outcome:
    outcome = Outcome()
    with Client(KEY, **options, **hooks(hook, outcome)) as client:
        stream = client.stream("hello", model=MODEL, restart=restart)
        try:
            with stream:
                for item in stream:
                    outcome.seen.append(item)
        except IncompleteStreamError as exc:
            outcome.error = exc
        outcome.result = stream.result
    return outcome


def stream_async(options: dict[str, Any], restart: bool, hook: bool) -> Outcome:
    outcome = Outcome()

    async def go() -> None:
        async with AsyncClient(KEY, **options, **hooks(hook, outcome)) as client:
            stream = client.stream("hello", model=MODEL, restart=restart)
            try:
                async with stream:
                    async for item in stream:
                        outcome.seen.append(item)
            except IncompleteStreamError as exc:
                outcome.error = exc
            outcome.result = stream.result

    asyncio.run(go())
    return outcome


def hooks(hook: bool, outcome: Outcome) -> dict[str, Any]:
    return {"on_retry": outcome.seen.append} if hook else {}


def client_options(base_url: str, breaks: list[Break]) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "timeout": STALL_TIMEOUT if "stall" in breaks else TIMEOUT,
        "max_retries": 2,
        "max_retry_wait": 0.05,
    }


TWINS = {"sync": stream_sync, "async": stream_async}


def stream_through(
    breaks: list[Break], after: int, twin: str, *, restart: bool, hook: bool
) -> tuple[Outcome, int]:
    """What the caller saw of one stream, and how many requests the server received."""
    with serve_breaking_streams(breaks, after) as server:
        options = client_options(server.base_url, breaks)
        outcome = TWINS[twin](options, restart=restart, hook=hook)
        return outcome, server.chat_requests


@pytest.mark.parametrize("hook", [False, True], ids=["no-on_retry", "on_retry"])
@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("how", BREAKS)
def test_a_break_after_text_ends_the_stream_with_exactly_the_text_yielded(
    how: Break, twin: str, hook: bool
) -> None:
    outcome, requests = stream_through([how], 2, twin, restart=False, hook=hook)
    assert requests == 1, "nothing is asked again without restart=True"
    assert outcome.error is not None and outcome.result is None
    deltas = outcome.of_type(str)
    assert "".join(deltas) == outcome.error.partial_text == SHOWN
    assert outcome.of_type(StreamRestart) == [] and outcome.of_type(RetryEvent) == []
    assert str(outcome.error).startswith(SAYS[how])
    assert "restart=True" in str(outcome.error), "the error says how to have it start over"


@pytest.mark.parametrize("hook", [False, True], ids=["no-on_retry", "on_retry"])
@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("how", BREAKS)
def test_with_restart_the_answer_starts_over_in_band(how: Break, twin: str, hook: bool) -> None:
    outcome, requests = stream_through([how], 2, twin, restart=True, hook=hook)
    assert requests == 2
    assert outcome.error is None and outcome.result is not None
    assert outcome.result.text == ANSWER
    assert outcome.text_since_last_restart() == outcome.result.text
    told = [RetryEvent] if hook else []  # on_retry hears of it before the restart arrives
    in_order = [item if isinstance(item, str) else type(item) for item in outcome.seen]
    assert in_order == [*ANSWER_PIECES[:2], *told, StreamRestart, *ANSWER_PIECES]
    (restart,) = outcome.of_type(StreamRestart)
    assert (restart.attempt, restart.max_retries, restart.discarded_text) == (1, 2, SHOWN)
    assert restart.reason.startswith(SAYS[how])
    for event in outcome.of_type(RetryEvent):
        assert (event.attempt, event.partial_text, event.reason) == (1, SHOWN, restart.reason)


@pytest.mark.parametrize("twin", TWINS)
def test_restarts_that_run_out_end_with_the_last_attempts_text(twin: str) -> None:
    outcome, requests = stream_through(
        ["drop", "truncate", "bad_json"], 2, twin, restart=True, hook=True
    )
    assert requests == 3
    assert outcome.error is not None and outcome.result is None
    assert outcome.error.partial_text == outcome.text_since_last_restart() == SHOWN
    assert [r.attempt for r in outcome.of_type(StreamRestart)] == [1, 2]
    assert [e.attempt for e in outcome.of_type(RetryEvent)] == [1, 2]
    assert "restart=True" not in str(outcome.error), "restarting would not have helped"
    assert "cell" not in str(outcome.error), "plain Python has no cell to run again"


@pytest.mark.parametrize("restart", [False, True], ids=["plain", "restart"])
@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("how", BREAKS)
def test_a_break_before_any_text_is_retried_silently(how: Break, twin: str, restart: bool) -> None:
    outcome, requests = stream_through([how], 0, twin, restart=restart, hook=True)
    assert requests == 2
    assert outcome.error is None and outcome.result is not None
    assert outcome.of_type(StreamRestart) == [], "nothing was yielded, so nothing restarts"
    assert [(e.attempt, e.partial_text) for e in outcome.of_type(RetryEvent)] == [(1, "")]
    assert "".join(outcome.of_type(str)) == outcome.result.text == ANSWER


# chat() and stream() retry alike ------------------------------------------------------
@pytest.mark.parametrize("where", ["call", "client"])
def test_chat_tells_on_retry_like_stream(emu: EmulatorHandle, where: str) -> None:
    told: list[RetryEvent] = []
    per_call = {"on_retry": told.append} if where == "call" else {}
    per_client = {"on_retry": told.append} if where == "client" else {}
    with Client(KEY, base_url=emu.base_url, max_retry_wait=0.05, **per_client) as client:
        emu.queue_faults("status=503;message=try later")
        result = client.chat("hello", model="DeepSeek-V3-1", **per_call)
        emu.queue_faults("status=503;message=try later")
        with client.stream("hello", model="DeepSeek-V3-1", **per_call) as stream:
            streamed = stream.until_done()
    assert result.text and streamed.text
    assert [(e.attempt, e.partial_text) for e in told] == [(1, ""), (1, "")]
    assert all("try later" in e.reason for e in told)


def test_async_chat_tells_on_retry(emu: EmulatorHandle) -> None:
    told: list[RetryEvent] = []

    async def go() -> ChatResult:
        async with AsyncClient(KEY, base_url=emu.base_url, max_retry_wait=0.05) as client:
            emu.queue_faults("status=503;message=try later")
            return await client.chat("hello", model="DeepSeek-V3-1", on_retry=told.append)

    assert asyncio.run(go()).text
    assert [(e.attempt, e.partial_text) for e in told] == [(1, "")]


# The comparison's panes show a restarted answer once -----------------------------------
def pane_events(comparison: Comparison) -> list[str | type]:
    """The pane's story: texts, and the Retrying that clears it, in order."""
    story: list[str | type] = []
    for event in comparison.events():
        if isinstance(event, Delta):
            story.append(event.text)
        elif isinstance(event, Retrying):
            story.append(Retrying)
    return story


@pytest.mark.parametrize("how", BREAKS)
def test_a_compared_stream_that_breaks_clears_its_pane_and_starts_over(how: Break) -> None:
    with serve_breaking_streams([how], after=2) as server:
        comparison = Comparison(
            "hello",
            [MODEL],
            api_key=KEY,
            base_url=server.base_url,
            timeout=STALL_TIMEOUT if how == "stall" else TIMEOUT,
            max_retry_wait=0.05,
        )
        story = pane_events(comparison)
    assert story == [*ANSWER_PIECES[:2], Retrying, *ANSWER_PIECES]
    assert comparison.answers[MODEL].text == ANSWER


def test_a_compared_answer_not_streamed_says_it_retries(emu: EmulatorHandle) -> None:
    emu.queue_faults("status=503;message=try later")
    comparison = Comparison(
        "::words 3",
        ["DeepSeek-V3-1"],
        stream=False,
        api_key=KEY,
        base_url=emu.base_url,
        max_retry_wait=0.05,
    )
    story = pane_events(comparison)
    assert story[0] is Retrying and len("".join(map(str, story[1:])).split()) == 3


def test_a_retry_reason_is_one_line_even_when_the_server_writes_several(
    emu: EmulatorHandle,
) -> None:
    """A router's message over several lines (LiteLLM's 429 is one) would break the '⟳ …:
    retrying' line in two and end it '….:'; the reason is one line, without a final stop."""
    told: list[RetryEvent] = []
    with Client(KEY, base_url=emu.base_url, max_retry_wait=0.05, on_retry=told.append) as client:
        emu.queue_faults("status=429;message=Rate limited.\n\nNo fallback was attempted.")
        client.chat("hello", model="DeepSeek-V3-1")
    (event,) = told
    assert event.reason.endswith("Rate limited. No fallback was attempted"), event.reason
    assert "\n" not in event.reason
