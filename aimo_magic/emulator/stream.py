"""The timed byte stream of one streamed answer, with the fault's misbehaviour applied."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aimo_magic.emulator.faults import FaultSpec
from aimo_magic.emulator.sse import Completion, UsageLayout, dumps, filler, frame, split_points

BROKEN_JSON = '{"id":"broken","choices":[{"index":0,"delta":{"content":"unterminated'
SPLIT_GAP_S = 0.001

Hold = Callable[[], Awaitable[bool]]
"""Waits at the test gate (``gate.AnswerGate``); False when the client went away meanwhile."""
PAUSE = None
"""Yielded just before the stream waits at the gate: whoever holds a piece back (to know
which one is last) sends it now, so the client has every chunk before the hold."""


class DeliberateDisconnect(Exception):
    """Raised inside a response to drop the connection on purpose (``disconnect_after``)."""


@dataclass(frozen=True)
class Pace:
    first_token_delay_s: float = 0.0
    tokens_per_second: float | None = None

    def duration_s(self, tokens: int) -> float:
        """How long a whole (non-streamed) answer of ``tokens`` tokens takes."""
        rate = self.tokens_per_second
        return self.first_token_delay_s + (tokens / rate if rate else 0.0)


def _error_frame(fault: FaultSpec) -> str:
    message = fault.message or "Upstream provider failed mid-stream"
    return dumps({"error": {"message": message, "type": fault.type or "server_error", "code": 500}})


async def _events(
    completion: Completion, layout: UsageLayout, fault: FaultSpec, pace: Pace, hold: Hold | None
) -> AsyncIterator[bytes | None]:
    chunks = completion.chunks(layout, fault)
    count = len(chunks)

    def at(after: int | None, index: int) -> bool:
        return after is not None and min(after, count) == index

    loop = asyncio.get_running_loop()
    if fault.keepalive:
        yield filler(fault)  # routers send comments while the provider is still thinking
    await asyncio.sleep(pace.first_token_delay_s)
    next_send = loop.time()
    for index in range(count + 1):
        if hold is not None and at(fault.hold_after or None, index):
            yield PAUSE
            if not await hold():
                raise DeliberateDisconnect  # nobody is left to read the rest
        if at(fault.disconnect_after, index):
            raise DeliberateDisconnect
        if at(fault.stall_after, index):
            await asyncio.sleep(fault.stall_s)
            next_send = max(next_send, loop.time())
        if at(fault.bad_json_after, index):
            yield frame(BROKEN_JSON, fault)
        if at(fault.error_frame_after, index):
            yield frame(_error_frame(fault), fault)
            yield frame("[DONE]", fault)
            return
        if index == count:
            break
        if index > 0:
            yield filler(fault)
        if pace.tokens_per_second and 1 < index <= len(completion.tokens):
            next_send += 1 / pace.tokens_per_second
            await asyncio.sleep(max(0.0, next_send - loop.time()))
        yield frame(dumps(chunks[index]), fault)
    if not fault.eof_no_done:
        yield frame("[DONE]", fault)


async def stream_bytes(
    completion: Completion,
    layout: UsageLayout,
    fault: FaultSpec,
    pace: Pace,
    hold: Hold | None = None,
) -> AsyncIterator[bytes | None]:
    """The response body of a streamed answer, piece by piece; ``hold`` is awaited after
    ``fault.hold_after`` chunks, announced by a ``PAUSE``."""
    async for data in _events(completion, layout, fault, pace, hold):
        if data is PAUSE:
            yield PAUSE
            continue
        if not data:
            continue
        if not fault.split:
            yield data
            continue
        for number, piece in enumerate(split_points(data)):
            if number:
                await asyncio.sleep(SPLIT_GAP_S)  # so that the pieces reach the client apart
            yield piece
