"""Benchmark 2, streaming: ``Client.stream`` against the openai SDK and two bare SSE loops.

All consume the same bytes (a 20,000-chunk answer replayed, unpaced, by ``replay.py``
in another process) in this process, in rotating order, several rounds; each figure is
the median over rounds of wall time from sending the request to the last delta, and of
this process's CPU time over the same span.

The bare loops are the wire baselines: httpx2 + its ``EventSource`` (what aimo_magic is
built on) and, when installed (benchmarks/requirements.txt), the former httpx +
``httpx_sse``; each with ``json.loads`` per chunk. Targets: ``Client.stream`` at least
as fast as the openai SDK (ratio <= 1.00) and within 1.25 times the faster bare loop;
judged on wall time (what a user waits) and on CPU time (less sensitive to other work
on the machine).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx2
from benchlib import Report, arguments, median, ms, ratio
from replay import MODEL, Answer, ReplayServer, sse_events

from aimo_magic import Client
from aimo_magic.emulator.samples import plain_words

MESSAGES = [{"role": "user", "content": "Stream the benchmark answer."}]


def words_tokens(count: int) -> list[str]:
    """Exactly ``count`` chunks: one word each, with its leading space."""
    words = plain_words(count).split(" ")
    return [words[0], *(" " + word for word in words[1:])]


def consume_aimo(client: Client) -> str:
    parts = []
    with client.stream(MESSAGES, model=MODEL) as stream:
        for delta in stream:
            parts.append(delta)
    return "".join(parts)


def consume_openai(client: object) -> str:
    parts = []
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model=MODEL, messages=MESSAGES, stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


def content_of(data: str, parts: list[str]) -> bool:
    """The bare loops' whole per-chunk work: False at ``[DONE]``."""
    if data == "[DONE]":
        return False
    chunk = json.loads(data)
    choices = chunk.get("choices")
    if choices:
        content = choices[0].get("delta", {}).get("content")
        if content:
            parts.append(content)
    return True


Loop = tuple[Callable[[], str], Callable[[], None]]
"""A bare loop: consume the answer once; close the client."""


def bare_loop(http: Any, url: str, key: str, events: Callable[[Any], Iterable[Any]]) -> Loop:
    """POST, then ``json.loads`` each event's data that ``events`` reads off the response."""
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    headers = {"Authorization": f"Bearer {key}"}

    def consume() -> str:
        parts: list[str] = []
        with http.stream("POST", url, json=body, headers=headers) as response:
            response.raise_for_status()
            for event in events(response):
                if not content_of(event.data, parts):
                    break
        return "".join(parts)

    return consume, http.close


def bare_httpx2(url: str, key: str) -> Loop | None:
    """httpx2 + its EventSource: the wire aimo_magic is built on."""
    return bare_loop(httpx2.Client(timeout=60), url, key, httpx2.EventSource)


def bare_httpx(url: str, key: str) -> Loop | None:
    """httpx + httpx_sse, the former wire; None when they are not installed."""
    try:
        import httpx
        from httpx_sse import EventSource
    except ImportError:
        return None
    return bare_loop(httpx.Client(timeout=60), url, key, lambda r: EventSource(r).iter_sse())


def timed(consume: Callable[[], str]) -> tuple[float, float, str]:
    cpu, wall = time.process_time(), time.perf_counter()
    text = consume()
    return time.perf_counter() - wall, time.process_time() - cpu, text


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    chunks, rounds = (500, 3) if args.quick else (20_000, 11)
    report = Report(f"Benchmark 2: streaming {chunks:,} chunks over loopback", quick=args.quick)
    answer = Answer("words", words_tokens(chunks))
    from openai import OpenAI

    with ReplayServer(answer) as server:
        key = server.api_key
        aimo = Client(key, base_url=server.base_url, max_retries=0)
        sdk = OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
        url = f"{server.base_url}/v1/chat/completions"
        clients: dict[str, Callable[[], str]] = {
            "aimo Client.stream": lambda: consume_aimo(aimo),
            "openai SDK": lambda: consume_openai(sdk),
        }
        closers = [aimo.close, sdk.close]
        bare = {
            "httpx2 + EventSource": bare_httpx2(url, key),
            "httpx + httpx_sse": bare_httpx(url, key),
        }
        for name, loop in bare.items():
            if loop is not None:
                clients[name], close = loop
                closers.append(close)
            else:
                report.notes.append(f"{name}: not installed, not measured")
        names = list(clients)
        walls: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # warm-up: imports, connection pools, caches
            wall, cpu, text = timed(clients[name])
            if text != answer.text:
                raise SystemExit(f"{name} did not receive the whole answer")
        fast = [n for n in names if n != "openai SDK"]
        for number in range(rounds):
            # The openai SDK is slow; aimo and the bare loops get three turns each per round.
            order = names[number % len(names) :] + names[: number % len(names)]
            order += fast * 2
            for name in order:
                wall, cpu, text = timed(clients[name])
                if text != answer.text:
                    raise SystemExit(f"{name} did not receive the whole answer")
                walls[name].append(wall)
                cpus[name].append(cpu)
        for close in closers:
            close()

    size = sum(len(e) for e in sse_events(answer.tokens))
    report.notes.append(
        f"{chunks:,} content chunks, {size / 1e6:.2f} MB of SSE, {rounds} rounds after a "
        "warm-up, rotating order (the openai SDK once a round, the others three times); "
        "medians. Wall = request sent to last delta; CPU = this "
        "process (the server runs in another)."
    )
    wall_med = {name: median(walls[name]) for name in names}
    cpu_med = {name: median(cpus[name]) for name in names}
    for name in names:
        per_chunk = wall_med[name] / chunks * 1e6
        report.add(f"{name}: wall", f"{ms(wall_med[name])} ({per_chunk:.1f} µs/chunk)")
        report.add(f"{name}: CPU", ms(cpu_med[name]))
    aimo_name, sdk_name = names[0], names[1]
    bare_names = names[2:]
    fastest = min(bare_names, key=lambda n: wall_med[n])
    for name in bare_names:
        walls_ratio = wall_med[aimo_name] / wall_med[name]
        cpus_ratio = cpu_med[aimo_name] / cpu_med[name]
        report.add(f"aimo / {name}: wall / CPU", f"{ratio(walls_ratio)} / {ratio(cpus_ratio)}")
    vs_sdk = wall_med[aimo_name] / wall_med[sdk_name]
    vs_bare = wall_med[aimo_name] / wall_med[fastest]
    report.add("aimo / openai SDK (wall)", ratio(vs_sdk), "<= 1.00x", vs_sdk <= 1.0)
    report.add(
        "aimo / fastest bare loop (wall)",
        f"{ratio(vs_bare)} ({fastest})",
        "<= 1.25x",
        vs_bare <= 1.25,
    )
    cpu_sdk = cpu_med[aimo_name] / cpu_med[sdk_name]
    cpu_bare = cpu_med[aimo_name] / cpu_med[fastest]
    report.add("aimo / openai SDK (CPU)", ratio(cpu_sdk), "<= 1.00x", cpu_sdk <= 1.0)
    report.add(
        "aimo / fastest bare loop (CPU)",
        f"{ratio(cpu_bare)} ({fastest})",
        "<= 1.25x",
        cpu_bare <= 1.25,
    )
    report.data = {"chunks": chunks, "rounds": rounds, "wall_s": walls, "cpu_s": cpus}
    report.emit(args.json)


if __name__ == "__main__":
    main()
