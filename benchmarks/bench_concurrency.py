"""Benchmark 5, concurrency: 1,000 non-streamed requests, 64 in flight, 100 ms server latency.

Three clients send the same requests to the same loopback server (``replay.py`` in
another process, which waits 100 ms and then answers each request with one prepared
``chat.completion`` body): ``AsyncClient.chat``, a bare httpx2 ``AsyncClient`` with
``json.loads`` of each body, and the openai SDK's ``AsyncOpenAI``; each under an
``asyncio.Semaphore`` that keeps ``concurrency`` requests in flight. They take turns in
rotating order for a few rounds, in one event loop; each figure is the median over rounds
of the wall time of the whole batch, and of this process's CPU time over the same span.

The ideal is rows x latency / concurrency: the server's latency alone. Targets (issue 11):
``AsyncClient`` at most 1.3 times bare httpx2 in wall time, and no slower than the openai
SDK.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import httpx2
from benchlib import Report, arguments, median, ms, ratio
from replay import MODEL, Answer, ReplayServer

from aimo_magic import AsyncClient
from aimo_magic.emulator.samples import plain_words

MESSAGES = [{"role": "user", "content": "Answer the benchmark row."}]

One = Callable[[], Awaitable[str]]


async def bounded(rows: int, concurrency: int, one: One) -> list[str]:
    """``rows`` calls of ``one``, never more than ``concurrency`` at once."""
    gate = asyncio.Semaphore(concurrency)

    async def guarded() -> str:
        async with gate:
            return await one()

    return await asyncio.gather(*(guarded() for _ in range(rows)))


def aimo_request(client: AsyncClient) -> One:
    async def one() -> str:
        return (await client.chat(MESSAGES, model=MODEL)).text

    return one


def bare_request(http: httpx2.AsyncClient, url: str, key: str) -> One:
    body = {"model": MODEL, "messages": MESSAGES, "stream": False}
    headers = {"Authorization": f"Bearer {key}"}

    async def one() -> str:
        response = await http.post(url, json=body, headers=headers)
        response.raise_for_status()
        return str(json.loads(response.content)["choices"][0]["message"]["content"])

    return one


def openai_request(sdk: object) -> One:
    async def one() -> str:
        completion = await sdk.chat.completions.create(  # type: ignore[attr-defined]
            model=MODEL, messages=MESSAGES
        )
        return str(completion.choices[0].message.content)

    return one


def server_cpu(server: ReplayServer) -> float:
    """The replay server's CPU seconds so far (psutil, 10 ms ticks), to see if it limited."""
    import psutil

    times = psutil.Process(server.pid).cpu_times()
    return float(times.user + times.system)


async def timed(
    server: ReplayServer, rows: int, concurrency: int, one: One
) -> tuple[float, float, float, list[str]]:
    served, cpu, wall = server_cpu(server), time.process_time(), time.perf_counter()
    texts = await bounded(rows, concurrency, one)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, server_cpu(server) - served, texts


Figures = dict[str, dict[str, list[float]]]


async def measure(
    server: ReplayServer, answer: Answer, rows: int, concurrency: int, rounds: int
) -> Figures:
    """Wall, client CPU and server CPU seconds of each client's batches."""
    from openai import AsyncOpenAI

    key, url = server.api_key, f"{server.base_url}/v1/chat/completions"
    # The bare loop gets the pool a batch needs: every connection kept alive between
    # requests (httpx2's default keeps 20), so it is the strongest baseline.
    limits = httpx2.Limits(max_connections=256, max_keepalive_connections=256)
    async with (
        AsyncClient(key, base_url=server.base_url, max_retries=0) as aimo,
        httpx2.AsyncClient(timeout=60, limits=limits) as http,
        AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0) as sdk,
    ):
        requests: dict[str, One] = {
            "aimo AsyncClient": aimo_request(aimo),
            "bare httpx2": bare_request(http, url, key),
            "openai AsyncOpenAI": openai_request(sdk),
        }
        names = list(requests)
        figures: Figures = {name: {"wall": [], "cpu": [], "server": []} for name in names}
        for name in names:  # warm-up: imports, and each pool with its connections open
            await bounded(concurrency, concurrency, requests[name])
        for number in range(rounds):
            for name in names[number % 3 :] + names[: number % 3]:
                wall, cpu, served, texts = await timed(server, rows, concurrency, requests[name])
                if len(texts) != rows or any(text != answer.text for text in texts):
                    raise SystemExit(f"{name} did not receive every answer whole")
                figures[name]["wall"].append(wall)
                figures[name]["cpu"].append(cpu)
                figures[name]["server"].append(served)
    return figures


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rows, concurrency, latency, rounds = (48, 8, 0.02, 1) if args.quick else (1_000, 64, 0.1, 3)
    report = Report(
        f"Benchmark 5: {rows:,} requests, {concurrency} in flight, "
        f"{latency * 1000:g} ms server latency",
        quick=args.quick,
    )
    answer = Answer("row", [plain_words(60)], latency_s=latency)
    with ReplayServer(answer) as server:
        figures = asyncio.run(measure(server, answer, rows, concurrency, rounds))

    ideal = rows * latency / concurrency
    med = {name: {k: median(v) for k, v in each.items()} for name, each in figures.items()}
    aimo, bare, sdk = list(figures)
    report.add("ideal (rows x latency / concurrency)", ms(ideal))
    for name, each in med.items():
        report.add(
            f"{name}: wall / CPU (server CPU)",
            f"{ms(each['wall'])} / {ms(each['cpu'])} ({ms(each['server'])})",
        )
        report.add(f"{name}: wall / ideal", ratio(each["wall"] / ideal))
        if name != bare:
            walls, cpus = each["wall"] / med[bare]["wall"], each["cpu"] / med[bare]["cpu"]
            report.add(f"{name} / bare httpx2: wall / CPU", f"{ratio(walls)} / {ratio(cpus)}")
    vs_bare = med[aimo]["wall"] / med[bare]["wall"]
    vs_sdk = med[aimo]["wall"] / med[sdk]["wall"]
    report.add("aimo / bare httpx2 (wall)", ratio(vs_bare), "<= 1.30x", vs_bare <= 1.3)
    report.add("aimo / openai SDK (wall)", ratio(vs_sdk), "<= 1.00x", vs_sdk <= 1.0)
    report.notes.append(
        f"{rounds} round(s) after a warm-up, rotating order, medians. Wall = the whole "
        f"batch of {rows:,}; CPU = this process; server CPU = the replay server's process "
        "over the same span. Every answer is checked whole."
    )
    report.data = {
        "rows": rows,
        "concurrency": concurrency,
        "latency_s": latency,
        "rounds": rounds,
        "seconds": figures,
    }
    report.emit(args.json)


if __name__ == "__main__":
    main()
