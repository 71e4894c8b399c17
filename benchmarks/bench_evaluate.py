"""Benchmark 9, evaluations: 500 rows × 4 models against one batch of the same 2,000 requests.

``replay.py`` (another process) answers every request after 100 ms with the same short
answer; its model list is the emulator's, so the four models resolve and are priced as
on AiMo. Each round uses fresh prompts (no answer from the cache), and the candidates
take turns in rotating order:

- ``aimo Batch``: ``Batch("{}", 2,000 rows, concurrency=64, progress=False).run()``;
- ``aimo evaluate``: ``evaluate("{}", 500 rows, models=[4 models], score="contains",
  concurrency=64, stream=False).run()``: the same 2,000 requests (not streamed, as a
  batch sends them), every model's rows on one engine, then scored and summarised;
- ``aimo evaluate, streamed``: the same with ``stream=True`` (the default, which measures
  the time to the first token), shown beside: it reads each answer as a stream.

Then the last round's evaluation is made again and run from the answer cache: every
answer is a hit and nothing is sent (checked with the server's request count).

Targets (issue 23): the evaluation's wall time at most 1.1x the batch's (medians); the
re-run from the cache under 2 s.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchlib import Report, arguments, median, ratio
from replay import MODEL, Answer, ReplayServer

import aimo_magic
from aimo_magic import Batch, Client

ANSWER = Answer("short", ["A", " short", " answer", "."], latency_s=0.1)
MODELS = ["DeepSeek-V3-1", "openai/gpt-4o", "openai/gpt-4o-mini", "qwen/qwen3-coder"]


def prompts(round_name: str, rows: int) -> list[str]:
    return [f"[[short]] {round_name} row {n}" for n in range(rows)]


def run_batch(server: ReplayServer, rows: list[str], concurrency: int) -> int:
    client = Client(server.api_key, base_url=server.base_url, max_retries=0)
    values = Batch(
        "{}", rows, model=MODEL, concurrency=concurrency, progress=False, client=client
    ).run()
    client.close()
    return sum(v == ANSWER.text for v in values)


def run_evaluation(rows: list[str], concurrency: int, stream: bool) -> Any:
    ev = aimo_magic.evaluate(
        "{}",
        rows,
        models=MODELS,
        score="regex:short answer",
        concurrency=concurrency,
        stream=stream,
        progress=False,
    )
    ev.announce = False
    ev.run()
    return ev


def answered(ev: Any) -> int:
    return int((ev.table["status"] == "answered").sum())


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    if args.quick:
        rows, concurrency, latency, rounds = 30, 16, 0.02, 1
    else:
        rows, concurrency, latency, rounds = 500, 64, 0.1, 3
    requests = rows * len(MODELS)
    answer = Answer(ANSWER.name, ANSWER.tokens, latency_s=latency)
    report = Report(
        f"Benchmark 9: evaluation of {rows:,} rows x {len(MODELS)} models against one batch "
        f"of {requests:,} requests, concurrency {concurrency}, {latency * 1000:.0f} ms per answer",
        quick=args.quick,
    )
    os.environ["AIMO_CACHE_DIR"] = tempfile.mkdtemp(prefix="aimo-bench-evaluate-")
    walls: dict[str, list[float]] = {}
    with ReplayServer(answer) as server:
        os.environ["AIMO_BASE_URL"] = server.base_url
        os.environ["AIMO_API_KEY"] = server.api_key
        runs: dict[str, Callable[[str], int]] = {
            "aimo Batch": lambda name: run_batch(server, prompts(name, requests), concurrency),
            "aimo evaluate": lambda name: answered(
                run_evaluation(prompts(name, rows), concurrency, stream=False)
            ),
            "aimo evaluate, streamed": lambda name: answered(
                run_evaluation(prompts(name, rows), concurrency, stream=True)
            ),
        }
        names = list(runs)
        for name in names:  # warm-up: imports, pools, the catalogue
            runs[name](f"warm-{name}")
        last = ""
        for number in range(rounds):
            order = names[number % len(names) :] + names[: number % len(names)]
            for name in order:
                last = f"round-{number}-{name}"
                started = time.perf_counter()
                got = runs[name](last)
                wall = time.perf_counter() - started
                if got != requests:
                    raise SystemExit(f"{name} got {got} of {requests} answers")
                walls.setdefault(name, []).append(wall)
                print(f"  round {number + 1}: {name}: {wall:.2f} s", flush=True)
        # The re-run: the last streamed evaluation's rows, all from the cache.
        rerun_rows = prompts(f"round-{rounds - 1}-aimo evaluate", rows)
        started = time.perf_counter()
        again = run_evaluation(rerun_rows, concurrency, stream=False)
        rerun = time.perf_counter() - started
        cached = int(again.table["cached"].sum())
    wall = {name: median(walls[name]) for name in names}
    ideal = requests * latency / concurrency
    report.add("ideal (requests × latency ÷ concurrency)", f"{ideal:.2f} s")
    for name in names:
        report.add(f"{name}: wall (median of {rounds})", f"{wall[name]:.2f} s")
    vs = wall["aimo evaluate"] / wall["aimo Batch"]
    report.add("evaluate / batch (wall)", ratio(vs), "<= 1.10x", vs <= 1.1)
    streamed = wall["aimo evaluate, streamed"] / wall["aimo Batch"]
    report.add("evaluate streamed / batch (wall)", ratio(streamed))
    report.add(
        "re-run from the cache (wall)",
        f"{rerun:.2f} s ({cached:,} of {requests:,} answers from the cache)",
        "< 2 s",
        rerun < 2.0 and cached == requests,
    )
    report.notes.append(
        "each wall time includes making the client and reading the model list; the "
        "evaluation's also scoring the answers (building .table) and its summary."
    )
    report.emit(args.json)


if __name__ == "__main__":
    main()
