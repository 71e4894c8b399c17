"""Benchmark 5, the answer cache: a hit's ``%%aimo`` cell against a live answer's.

A real kernel (the test suite's jupyter_client harness) with the answer cache on runs
``%%aimo --no-history`` cells against the emulator, which streams its rich markdown
answer (headings, a table, code in four languages, math; about 400 tokens) at a
realistic pace with a first-token latency. Each round asks a new question (a miss: the
answer streams in live and is stored), then asks it again (a hit). Both are timed here
from sending the execute request to the last display message (the final render), and
the emulator's request log confirms that hits sent nothing.

Also measured, in this process: one ``AnswerCache.get`` hit and one ``put`` (wall,
medians), and the longest event-loop stall while an ``AsyncClient`` answers from the
cache (a 1 ms ticker task runs beside it; its lookups run in a worker thread).

Target: a hit's cell reaches its final display within 250 ms ("at once": the same bound
as the display benchmark's longest gap), and its lookups never stall the event loop
for more than 50 ms.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import Report, arguments, kernel_class, median, ms, ratio

from aimo_magic import AsyncClient
from aimo_magic.core.cache import AnswerCache, cache_key
from aimo_magic.core.types import ChatResult, Timings, Usage
from aimo_magic.emulator import start

DISPLAY_TYPES = ("display_data", "update_display_data")
MODEL = "DeepSeek-V3-1"
HIT_TARGET_S = 0.250
STALL_TARGET_S = 0.050


def cell(number: int) -> str:
    return f"%%aimo --no-history\nExplain topic number {number} of the cache benchmark."


def timed_cell(kernel: Any, code: str) -> tuple[float, Any]:
    """Seconds from sending the execute request to the last display message."""
    sent = time.monotonic()
    run = kernel.execute(code, timeout=180)
    if run.status != "ok":
        raise SystemExit(f"cell failed: {run.error or run.stderr}")
    shown = run.of_type(*DISPLAY_TYPES)
    if not shown:
        raise SystemExit("the cell displayed nothing")
    return shown[-1]["received"] - sent, run


def footer_of(run: Any) -> str:
    return run.plain().rsplit("\n", 1)[-1]


def store_figures(directory: Path, count: int) -> tuple[float, float]:
    """Median wall seconds of one put and one get hit on a file of ``count`` answers."""
    answer = ChatResult(
        text="An answer of a few hundred characters. " * 20,
        finish_reason="stop",
        usage=Usage(100, 400, 500),
        model=MODEL,
        provider="bench",
        timings=Timings(0.3, 4.0),
    )
    keys = [cache_key("http://bench", MODEL, f"question {i}", {}) for i in range(count)]
    puts, gets = [], []
    with AnswerCache(directory) as store:
        for key in keys:
            started = time.perf_counter()
            store.put(key, answer, model=MODEL)
            puts.append(time.perf_counter() - started)
        for key in keys:
            started = time.perf_counter()
            if store.get(key) is None:
                raise SystemExit("a stored answer was not found")
            gets.append(time.perf_counter() - started)
    return median(puts), median(gets)


async def loop_stall(base_url: str, key: str, directory: Path, hits: int) -> float:
    """The longest gap between ticks of a 1 ms ticker while ``hits`` cached chats run."""
    stop = asyncio.Event()
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with AsyncClient(key, base_url=base_url, model=MODEL, cache=directory) as client:
        await client.chat("::words 50 the async stall check")
        ticking = asyncio.create_task(ticker())
        for _ in range(hits):
            result = await client.chat("::words 50 the async stall check")
            if result.cached_at is None:
                raise SystemExit("the async client missed a stored answer")
        stop.set()
        await ticking
    return max(gaps)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rounds, pace, latency, stored, hits = (
        (1, 2000, 20, 50, 20) if args.quick else (7, 80, 400, 2000, 500)
    )
    report = Report(
        f"Benchmark 5: the answer cache, %%aimo hit vs live ({pace} tokens/s, "
        f"{latency} ms to the first token)",
        quick=args.quick,
    )
    work = Path(tempfile.mkdtemp(prefix="aimo-bench-cache-"))
    with start(tokens_per_second=pace, latency_ms=latency) as emulator:
        env = {**emulator.env, "AIMO_CACHE_DIR": str(work / "kernel")}
        kernel = kernel_class()(env=env)
        live: list[float] = []
        hit: list[float] = []
        try:
            setup = kernel.execute(f"%load_ext aimo_magic\n%aimo use {MODEL}\n%aimo cache on")
            if setup.status != "ok":
                raise SystemExit(f"setup failed: {setup.error}")
            timed_cell(kernel, cell(-1))  # the kernel's first answer pays one-time imports
            for number in range(rounds):
                emulator.clear_requests()
                seconds, live_run = timed_cell(kernel, cell(number))
                live.append(seconds)
                seconds, hit_run = timed_cell(kernel, cell(number))
                hit.append(seconds)
                if len(emulator.requests) != 1:
                    raise SystemExit(f"round {number}: the hit sent a request")
                if hit_run.plain().split("\n")[:-1] != live_run.plain().split("\n")[:-1]:
                    raise SystemExit(f"round {number}: the hit shows a different answer")
            footer = footer_of(hit_run)
        finally:
            kernel.close()
        stall = asyncio.run(loop_stall(emulator.base_url, emulator.api_key, work / "async", hits))
    put_s, get_s = store_figures(work / "store", stored)

    report.add("live answer: execute to final display (median)", ms(median(live)))
    report.add(
        "cache hit: execute to final display (median)",
        ms(median(hit)),
        f"<= {HIT_TARGET_S * 1000:.0f} ms",
        median(hit) <= HIT_TARGET_S,
    )
    report.add("cache hit: slowest round", ms(max(hit)))
    report.add("hit / live", ratio(median(hit) / median(live)))
    report.add(
        f"AsyncClient, {hits} hits: longest event-loop stall",
        ms(stall),
        f"<= {STALL_TARGET_S * 1000:.0f} ms",
        stall <= STALL_TARGET_S,
    )
    report.add(f"AnswerCache.put, median of {stored}", f"{put_s * 1e6:.0f} µs")
    report.add(f"AnswerCache.get hit, median of {stored}", f"{get_s * 1e6:.0f} µs")
    report.notes.append(
        f"{rounds} rounds after one warm-up answer; each round a new question (live, then "
        "stored) and the same question again (hit); the emulator saw no request for any hit."
    )
    report.notes.append(f"a hit's footer: {footer}")
    report.data = {"live_s": live, "hit_s": hit, "stall_s": stall, "put_s": put_s, "get_s": get_s}
    report.emit(args.json)


if __name__ == "__main__":
    main()
