"""Benchmark 7, batches: ``aimo_magic.Batch`` against bare httpx2 and the openai SDK.

``replay.py`` (another process) answers every non-streamed request after 100 ms with
the same short ``chat.completion``. Each candidate asks 5,000 rows, at most 64 in
flight, in rotating order over a few rounds, and each round uses fresh prompts so no
answer comes from the cache:

- ``aimo Batch``: ``Batch("{}", rows, concurrency=64, progress=False).run()``, as a
  user would run it, answer cache on (the default, in a temporary directory);
- ``aimo Batch, cache=False``: the same without the cache;
- ``httpx2 + Semaphore``: a bare loop, one ``httpx2.AsyncClient`` (pool of 64, all kept
  alive) and ``asyncio.Semaphore(64)`` over ``asyncio.gather`` of every row, reading
  ``choices[0].message.content`` (the issue's baseline);
- ``httpx2, worker pool``: the same client with 64 workers taking rows in turn, as aimo's
  engine does (no task per row): a stronger baseline, judged against as well;
- ``openai AsyncOpenAI + Semaphore``: the same loop with the openai SDK.

Figures are medians over rounds: wall time, and this process's CPU time per row (the
server's CPU is not in it; it is shown beside, from psutil). Targets (issue 12): wall
within 1.3x the bare loop; CPU per row at most 1.5x the bare loop; no slower than the
openai SDK; the ideal, rows x latency / concurrency, is shown beside them. Memory: aimo
and the Semaphore loop run again in fresh processes at two sizes under tracemalloc, and
the peak's growth per extra row is compared (flat: no per-row display objects).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from bench_concurrency import server_cpu
from benchlib import Report, arguments, median, ratio
from replay import MODEL, Answer, ReplayServer

from aimo_magic import Batch, Client

ANSWER = Answer("short", ["A", " short", " answer", "."], latency_s=0.1)
HERE = Path(__file__).resolve().parent


def prompts(round_name: str, rows: int) -> list[str]:
    return [f"[[short]] {round_name} row {n}" for n in range(rows)]


def run_aimo(base_url: str, key: str, rows: list[str], concurrency: int, cache: bool) -> list[Any]:
    client = Client(key, base_url=base_url, max_retries=0)
    batch = Batch(
        "{}", rows, model=MODEL, concurrency=concurrency, progress=False, cache=cache, client=client
    )
    values = batch.run()
    client.close()
    return list(values)


async def bare_loop(base_url: str, key: str, rows: list[str], concurrency: int) -> list[Any]:
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    url = f"{base_url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: str) -> str:
            body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
            async with gate:
                response = await http.post(url, json=body, headers=headers)
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"])

        return list(await asyncio.gather(*(one(p) for p in rows)))


async def bare_workers(base_url: str, key: str, rows: list[str], concurrency: int) -> list[Any]:
    """The bare loop written as aimo's engine is: ``concurrency`` workers over the rows,
    results by position (no task per row); a stronger baseline than gather + Semaphore."""
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    url = f"{base_url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {key}"}
    values: list[Any] = [None] * len(rows)
    positions = iter(range(len(rows)))
    async with httpx2.AsyncClient(timeout=60, limits=limits) as http:

        async def worker() -> None:
            for position in positions:
                body = {"model": MODEL, "messages": [{"role": "user", "content": rows[position]}]}
                response = await http.post(url, json=body, headers=headers)
                response.raise_for_status()
                values[position] = response.json()["choices"][0]["message"]["content"]

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return values


async def openai_loop(base_url: str, key: str, rows: list[str], concurrency: int) -> list[Any]:
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0) as sdk:
        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: str) -> str:
            async with gate:
                answer = await sdk.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": prompt}]
                )
            return str(answer.choices[0].message.content)

        return list(await asyncio.gather(*(one(p) for p in rows)))


def candidates(
    base_url: str, key: str, concurrency: int
) -> dict[str, Callable[[list[str]], list[Any]]]:
    return {
        "aimo Batch": lambda rows: run_aimo(base_url, key, rows, concurrency, True),
        "aimo Batch, cache=False": lambda rows: run_aimo(base_url, key, rows, concurrency, False),
        "httpx2 + Semaphore": lambda rows: asyncio.run(bare_loop(base_url, key, rows, concurrency)),
        "httpx2, worker pool": lambda rows: asyncio.run(
            bare_workers(base_url, key, rows, concurrency)
        ),
        "openai AsyncOpenAI + Semaphore": lambda rows: asyncio.run(
            openai_loop(base_url, key, rows, concurrency)
        ),
    }


def timed(
    run: Callable[[list[str]], list[Any]], rows: list[str], server: ReplayServer
) -> tuple[float, float, float]:
    served, cpu, wall = server_cpu(server), time.process_time(), time.perf_counter()
    values = run(rows)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    served = server_cpu(server) - served
    if len(values) != len(rows) or any(v != ANSWER.text for v in values):
        got = sum(v == ANSWER.text for v in values)
        raise SystemExit(f"a candidate did not get every answer ({got} of {len(rows)})")
    return wall, cpu, served


# Memory: one candidate, one size, in a fresh process under tracemalloc -------------------


def memory_child(name: str, rows: int, concurrency: int, base_url: str, key: str) -> None:
    import tracemalloc

    run = candidates(base_url, key, concurrency)[name]
    run(prompts("warm", 50))  # imports, pools, the catalogue: not per-row costs
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    values = run(prompts(f"mem-{rows}", rows))
    peak = tracemalloc.get_traced_memory()[1]
    assert len(values) == rows
    print(json.dumps({"peak_bytes": peak - baseline}))


def memory_peak(name: str, rows: int, concurrency: int, server: ReplayServer) -> int:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--memory-child",
            name,
            str(rows),
            str(concurrency),
            server.base_url,
            server.api_key,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=HERE.parent,
        env=os.environ.copy(),
    )
    if done.returncode != 0:
        raise SystemExit(f"memory run of {name} failed: {done.stderr[-2000:]}")
    return int(json.loads(done.stdout.strip().splitlines()[-1])["peak_bytes"])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        name, rows, concurrency, base_url, key = sys.argv[2:7]
        memory_child(name, int(rows), int(concurrency), base_url, key)
        return
    args = arguments(__doc__.splitlines()[0])
    if args.quick:
        rows, concurrency, latency, rounds, sizes = 120, 16, 0.02, 1, (60, 180)
    else:
        rows, concurrency, latency, rounds, sizes = 5000, 64, 0.1, 3, (1000, 5000)
    answer = Answer(ANSWER.name, ANSWER.tokens, latency_s=latency)
    ideal = rows * latency / concurrency
    report = Report(
        f"Benchmark 7: batch of {rows:,} rows, concurrency {concurrency}, "
        f"{latency * 1000:.0f} ms per answer",
        quick=args.quick,
    )
    cache_dir = tempfile.mkdtemp(prefix="aimo-bench-cache-")
    os.environ["AIMO_CACHE_DIR"] = cache_dir
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    servers: dict[str, list[float]] = {}
    with ReplayServer(answer) as server:
        runs = candidates(server.base_url, server.api_key, concurrency)
        names = list(runs)
        for name in names:  # warm-up: imports, pools, the catalogue
            timed(runs[name], prompts(f"warm-{name}", min(rows, 200)), server)
        for number in range(rounds):
            order = names[number % len(names) :] + names[: number % len(names)]
            for name in order:
                wall, cpu, served = timed(
                    runs[name], prompts(f"round-{number}-{name}", rows), server
                )
                walls.setdefault(name, []).append(wall)
                cpus.setdefault(name, []).append(cpu)
                servers.setdefault(name, []).append(served)
                per_row = cpu / rows * 1e3
                print(f"  round {number + 1}: {name}: {wall:.2f} s, {per_row:.3f} ms CPU/row")
        memory = {
            name: [memory_peak(name, size, concurrency, server) for size in sizes]
            for name in ("aimo Batch", "httpx2 + Semaphore")
        }

    wall = {name: median(walls[name]) for name in names}
    cpu_row = {name: median(cpus[name]) / rows for name in names}
    aimo, bare, sdk = "aimo Batch", "httpx2 + Semaphore", "openai AsyncOpenAI + Semaphore"
    report.add("ideal (rows × latency ÷ concurrency)", f"{ideal:.2f} s")
    for name in names:
        server_row = median(servers[name]) / rows * 1e3
        report.add(
            f"{name}: wall / CPU per row (server's)",
            f"{wall[name]:.2f} s / {cpu_row[name] * 1e3:.3f} ms ({server_row:.3f} ms); "
            f"{wall[name] / ideal:.2f}x ideal",
        )
    pool = "httpx2, worker pool"
    for name in (aimo, "aimo Batch, cache=False"):
        label = "aimo" if name == aimo else "aimo, cache=False"
        for baseline, short in ((bare, "bare httpx2"), (pool, "httpx2 worker pool")):
            vs = wall[name] / wall[baseline]
            cpu_vs = cpu_row[name] / cpu_row[baseline]
            report.add(f"{label} / {short} (wall)", ratio(vs), "<= 1.30x", vs <= 1.3)
            report.add(f"{label} / {short} (CPU per row)", ratio(cpu_vs), "<= 1.50x", cpu_vs <= 1.5)
        vs_sdk = wall[name] / wall[sdk]
        report.add(f"{label} / openai SDK (wall)", ratio(vs_sdk), "<= 1.00x", vs_sdk <= 1.0)
    small, large = sizes
    growth = {n: (m[1] - m[0]) / (large - small) for n, m in memory.items()}
    for name, (low, high) in memory.items():
        report.add(
            f"{name}: tracemalloc peak at {small:,} / {large:,} rows",
            f"{low / 1e6:.1f} / {high / 1e6:.1f} MB ({growth[name]:,.0f} B per extra row)",
        )
    flat = growth[aimo] <= max(growth[bare], 1.0) * 1.5
    report.add(
        "aimo peak growth per row / bare loop's",
        ratio(growth[aimo] / max(growth[bare], 1.0)),
        "<= 1.50x (flat: rows hold only their values)",
        flat,
    )
    report.notes.append(
        f"{rounds} round(s) after a warm-up, rotating order, fresh prompts each round (no "
        "cache hits); medians. CPU = this process (all its threads), per row; the server "
        "runs in another process. The aimo Batch figures include checking the model against "
        "the catalogue (cached per process) and, by default, storing every answer in the "
        "SQLite answer cache."
    )
    report.data = {
        "rows": rows,
        "concurrency": concurrency,
        "latency_s": latency,
        "wall_s": walls,
        "cpu_s": cpus,
        "memory_peak_bytes": memory,
    }
    report.emit(args.json)


if __name__ == "__main__":
    main()
