"""Benchmark 8, the tool-call loop: what it adds per step beyond the requests themselves.

The emulator (pace 0: no latency, tokens as fast as they go) is forced to call a tool at
every step (``tool_choice`` naming it), so a loop of ``max_steps`` steps makes that many
requests and runs that many calls. Each round runs the loop, then replays the very same
requests (the bodies the emulator logged, the same client) without the loop. The
difference, divided by the steps, is what the loop costs per step; so is, measured more
precisely inside one run, the loop's wall time outside its requests: describing and
validating arguments with pydantic, running the function, converting its result,
building the next messages, the events a display hears. Rounds alternate the two, and
medians are reported, streamed and not.

Target: under 5 ms per step (the issue's aim), against the request time it rides on.
"""

from __future__ import annotations

import json
import time
from typing import Any

from benchlib import Report, arguments, median, ms

from aimo_magic import Client
from aimo_magic.core.tool_loop import CallRecord, LoopEvents, ToolLoop
from aimo_magic.core.tools import tool
from aimo_magic.emulator import start

MODEL = "DeepSeek-V3-1"
KEY = "aimo-sk-v2-bench-tools-0000"
TARGET_S = 0.005


@tool
def lookup(column: str, limit: int = 10) -> dict[str, Any]:
    """Summary of one column (a stand-in for a notebook's read-only function)."""
    return {"column": column, "limit": limit, "values": list(range(limit))}


class Listening(LoopEvents):
    """A display's share of the work: every event is heard (and counted)."""

    def __init__(self) -> None:
        self.events = 0

    def text(self, delta: str) -> None:
        self.events += 1

    def call_written(
        self, step: int, index: int, call_id: str | None, name: str | None, piece: str
    ) -> None:
        self.events += 1

    def call_changed(self, record: CallRecord) -> None:
        self.events += 1


class TimedLoop(ToolLoop):
    """The loop with a stopwatch around each request, so its own time is what is left."""

    in_requests = 0.0

    def _request(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super()._request(*args, **kwargs)
        finally:
            self.in_requests += time.perf_counter() - started


def run_loop(client: Client, steps: int, stream: bool) -> tuple[float, float]:
    """Wall seconds of the loop, and of that the seconds spent outside its requests."""
    forced = {"type": "function", "function": {"name": "lookup"}}
    loop = TimedLoop([lookup], max_steps=steps, events=Listening())
    started = time.perf_counter()
    done = loop.run(client, "Look the data up.", model=MODEL, stream=stream, tool_choice=forced)
    elapsed = time.perf_counter() - started
    assert len(done.steps) == steps and done.stopped == "max_steps"
    return elapsed, elapsed - loop.in_requests


def replay(client: Client, bodies: list[dict[str, Any]], stream: bool) -> float:
    """The same requests, sent and read to the end the same way, with no loop around."""
    started = time.perf_counter()
    for body in bodies:
        params = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
        params.pop("stream_options", None)
        if stream:
            with client.stream(body["messages"], model=MODEL, restart=True, **params) as answer:
                for _ in answer:
                    pass
                assert answer.result is not None and answer.result.tool_calls
        else:
            assert client.chat(body["messages"], model=MODEL, **params).tool_calls
    return time.perf_counter() - started


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    steps, rounds = (4, 3) if args.quick else (8, 40)
    report = Report("Tool-call loop: overhead per step at emulator pace 0", quick=args.quick)
    with start() as emulator, Client(base_url=emulator.base_url, api_key=KEY) as client:
        client.models()
        for stream in (True, False):
            run_loop(client, steps, stream)  # warm: pydantic, connections, the emulator
            loops, replays, outside = [], [], []
            for _ in range(rounds):
                emulator.clear_requests()
                wall, own = run_loop(client, steps, stream)
                loops.append(wall)
                outside.append(own / steps)
                bodies = [json.loads(r["body"]) for r in emulator.requests]
                assert len(bodies) == steps
                replays.append(replay(client, bodies, stream))
            loop_s, replay_s = median(loops), median(replays)
            per_step = (loop_s - replay_s) / steps
            kind = "streamed" if stream else "not streamed"
            report.add(f"{kind}: loop of {steps} steps (median)", ms(loop_s))
            report.add(f"{kind}: the same requests alone (median)", ms(replay_s))
            report.add(
                f"{kind}: loop overhead per step",
                ms(per_step),
                f"< {ms(TARGET_S)}",
                per_step < TARGET_S,
            )
            own = median(outside)
            report.add(
                f"{kind}: loop's own time per step (outside requests)",
                f"{own * 1000:.2f} ms",
                f"< {ms(TARGET_S)}",
                own < TARGET_S,
            )
            report.data[kind] = {
                "steps": steps,
                "rounds": rounds,
                "loop_s": loops,
                "replay_s": replays,
                "per_step_s": per_step,
                "own_per_step_s": outside,
            }
    report.notes.append(
        "overhead per step = (loop - the same requests replayed) / steps, medians over "
        "alternating rounds (noisy: a difference of two walls); own time = the loop's wall "
        "less the time inside its requests, per step (the precise figure). Each step "
        "validates one call's arguments, runs it and converts its result"
    )
    report.emit(args.json)


if __name__ == "__main__":
    main()
