"""Benchmark 2, streaming: ``Client.stream`` against the openai SDK and bare httpx + SSE.

All three consume the same bytes (a 20,000-chunk answer replayed, unpaced, by
``replay.py`` in another process) in this process, in rotating order, several
rounds; each figure is the median over rounds of wall time from sending the request
to the last delta, and of this process's CPU time over the same span.

Targets: ``Client.stream`` at least as fast as the openai SDK (ratio <= 1.00) and
within 1.25 times bare httpx + ``httpx_sse`` + ``json.loads`` per chunk; judged on
wall time (what a user waits) and on CPU time (less sensitive to other work on the
machine).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
from benchlib import Report, arguments, median, ms, ratio
from httpx_sse import EventSource
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


def consume_bare(http: httpx.Client, url: str, key: str) -> str:
    parts = []
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    headers = {"Authorization": f"Bearer {key}"}
    with http.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        for event in EventSource(response).iter_sse():
            if event.data == "[DONE]":
                break
            chunk = json.loads(event.data)
            choices = chunk.get("choices")
            if choices:
                content = choices[0].get("delta", {}).get("content")
                if content:
                    parts.append(content)
    return "".join(parts)


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
        http = httpx.Client(timeout=60)
        url = f"{server.base_url}/v1/chat/completions"
        clients: dict[str, Callable[[], str]] = {
            "aimo Client.stream": lambda: consume_aimo(aimo),
            "openai SDK": lambda: consume_openai(sdk),
            "httpx + httpx_sse": lambda: consume_bare(http, url, key),
        }
        names = list(clients)
        walls: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # warm-up: imports, connection pools, caches
            wall, cpu, text = timed(clients[name])
            if text != answer.text:
                raise SystemExit(f"{name} did not receive the whole answer")
        for number in range(rounds):
            # The openai SDK is slow; aimo and bare httpx get three turns each per round.
            order = names[number % 3 :] + names[: number % 3]
            order += [n for n in names if n != "openai SDK"] * 2
            for name in order:
                wall, cpu, text = timed(clients[name])
                if text != answer.text:
                    raise SystemExit(f"{name} did not receive the whole answer")
                walls[name].append(wall)
                cpus[name].append(cpu)
        aimo.close()
        http.close()
        sdk.close()

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
    vs_sdk = wall_med[names[0]] / wall_med[names[1]]
    vs_bare = wall_med[names[0]] / wall_med[names[2]]
    report.add("aimo / openai SDK (wall)", ratio(vs_sdk), "<= 1.00x", vs_sdk <= 1.0)
    report.add("aimo / httpx + httpx_sse (wall)", ratio(vs_bare), "<= 1.25x", vs_bare <= 1.25)
    cpu_sdk = cpu_med[names[0]] / cpu_med[names[1]]
    cpu_bare = cpu_med[names[0]] / cpu_med[names[2]]
    report.add("aimo / openai SDK (CPU)", ratio(cpu_sdk), "<= 1.00x", cpu_sdk <= 1.0)
    report.add("aimo / httpx + httpx_sse (CPU)", ratio(cpu_bare), "<= 1.25x", cpu_bare <= 1.25)
    report.data = {"chunks": chunks, "rounds": rounds, "wall_s": walls, "cpu_s": cpus}
    report.emit(args.json)


if __name__ == "__main__":
    main()
