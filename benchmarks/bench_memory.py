"""Benchmark 4, memory: a kernel session holding 1,000 ``%%aimo`` exchanges.

A real kernel asks 1,000 real ``%%aimo`` questions in the default thread (so every call
sends its history, up to the default 50 turns) against ``replay.py`` serving a short
answer (60 words in 60 chunks) unpaced. Exchanges 6 to 1,000 run in batches inside
cells (``run_cell_magic`` in a loop, each call timed in the kernel); a few exchanges at
the start, after 100 and after 1,000 run as cells of their own, timed here from
execute request to reply.

Memory: the kernel process's RSS (psutil, after ``gc.collect()`` in the kernel) after
the 5 warm-up exchanges and again holding 1,000. Targets: added RSS under 50 MB, and
per-call time flat, which we read as "at most 1.2 times" (machines here are noisy):
the cells after 1,000 exchanges against the cells at the start, and, less noisy, the
kernel CPU of the last 50 calls against the 50 right after exchange 100 (both send
the same 50 turns of history, so any growth is the cost of holding more).
"""

from __future__ import annotations

import json
from typing import Any

import psutil  # type: ignore[import-untyped]
from benchlib import Report, arguments, kernel_class, kernel_pid, median, ms, ratio
from replay import Answer, ReplayServer

from aimo_magic.emulator.samples import plain_words

FLAT = 1.2

SETUP = """
import gc, json, time
from aimo_magic.magics.extension import magics_for
_bench_calls = []

def _bench_ask(first, count):
    ip = get_ipython()
    for number in range(first, first + count):
        t, c = time.perf_counter(), time.thread_time()
        ip.run_cell_magic("aimo", "", f"[[short]] question {number}")
        _bench_calls.append((number, time.perf_counter() - t, time.thread_time() - c))

def _bench_history(repeat):
    # What %%aimo does to pick the history it sends, timed alone (median, ms).
    thread = magics_for(get_ipython()).session.conversations.thread("default")
    times = []
    for _ in range(repeat):
        c = time.thread_time()
        thread.messages_for("probe", max_turns=50)
        times.append(time.thread_time() - c)
    return sorted(times)[repeat // 2] * 1000

def _bench_held():
    return len(magics_for(get_ipython()).session.conversations.thread("default"))
"""


class Session:
    """The kernel under test and how many exchanges it has made."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.process = psutil.Process(kernel_pid(kernel))
        self.asked = 0

    def run(self, code: str, timeout: float = 600) -> Any:
        run = self.kernel.execute(code, timeout=timeout)
        if run.status != "ok":
            raise SystemExit(f"cell failed: {run.error or run.stderr}")
        return run

    def single(self) -> float:
        """One exchange as a cell of its own; seconds from execute request to reply."""
        self.asked += 1
        run = self.run(f"%%aimo\n[[short]] question {self.asked}")
        sent = run.reply["parent_header"]["date"].timestamp()
        return float(run.reply["header"]["date"].timestamp() - sent) if sent else 0.0

    def singles(self, count: int) -> list[float]:
        return [self.single() for _ in range(count)]

    def batch(self, count: int, step: int = 100) -> None:
        while count > 0:
            size = min(step, count)
            self.run(f"_bench_ask({self.asked + 1}, {size})")
            self.asked += size
            count -= size

    def rss_mb(self) -> float:
        self.run("gc.collect()")
        return float(self.process.memory_info().rss / 1e6)

    def history_ms(self) -> float:
        return float(self.run("print(_bench_history(201))").stdout.strip())

    def held(self) -> int:
        return int(self.run("print(_bench_held())").stdout.strip())


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    total, samples, warm = (40, 3, 5) if args.quick else (1000, 7, 5)
    middle = 20 if args.quick else 100
    answer_words = plain_words(60).split(" ")
    short = Answer("short", [answer_words[0], *(" " + w for w in answer_words[1:])])
    report = Report(
        f"Benchmark 4: memory and per-call time over {total:,} exchanges", quick=args.quick
    )
    with ReplayServer(short) as server:
        kernel = kernel_class()(env=server.env)
        try:
            session = Session(kernel)
            session.run("%load_ext aimo_magic")
            session.run(SETUP)
            session.singles(warm)
            rss_start = session.rss_mb()
            at_start = session.singles(samples)
            session.batch(middle - session.asked)
            at_middle = session.singles(samples)
            history_middle = session.history_ms()
            curve = [(session.asked, session.rss_mb())]
            while session.asked < total:
                session.batch(min(middle, total - session.asked))
                curve.append((session.asked, session.rss_mb()))
            held = session.held()
            history_end = session.history_ms()
            rss_end = curve[-1][1]
            at_end = session.singles(samples)
            timings = json.loads(session.run("print(json.dumps(_bench_calls))").stdout.strip())
        finally:
            kernel.close()

    if held != total:
        raise SystemExit(f"the default thread holds {held} exchanges, expected {total}")
    added = rss_end - rss_start
    report.add(f"kernel RSS after {warm} warm-up exchanges", f"{rss_start:.1f} MB")
    report.add(f"kernel RSS holding {total:,} exchanges", f"{rss_end:.1f} MB")
    report.add("added RSS", f"{added:.1f} MB", "< 50 MB", added < 50)
    start, mid, end = median(at_start), median(at_middle), median(at_end)
    report.add(f"%%aimo cell at the start (exchanges {warm + 1}-{warm + samples})", ms(start))
    report.add(f"%%aimo cell after {middle} exchanges", ms(mid))
    report.add(f"%%aimo cell after {total:,} exchanges", ms(end))
    report.add(
        f"after {total:,} / at the start",
        ratio(end / start),
        f"<= {FLAT:.2f}x",
        end <= FLAT * start,
    )
    report.add(f"after {total:,} / after {middle}", ratio(end / mid))
    calls = {int(number): (wall, cpu) for number, wall, cpu in timings}
    window = 5 if args.quick else 50
    full = [calls[n] for n in sorted(calls) if n > middle][:window]
    last = [calls[n] for n in sorted(calls)][-window:]
    full_cpu, last_cpu = median(c for _, c in full), median(c for _, c in last)
    full_wall, last_wall = median(w for w, _ in full), median(w for w, _ in last)
    report.add(
        f"in-kernel call after {middle} exchanges (wall / CPU)", f"{ms(full_wall)} / {ms(full_cpu)}"
    )
    report.add(f"in-kernel call, last {window} (wall / CPU)", f"{ms(last_wall)} / {ms(last_cpu)}")
    report.add(
        f"in-kernel CPU per call, last {window} / after {middle}",
        ratio(last_cpu / full_cpu),
        f"<= {FLAT:.2f}x",
        last_cpu <= FLAT * full_cpu,
    )
    report.add(
        f"history assembly (Thread.messages_for) after {middle} / {total:,} exchanges",
        f"{history_middle:.2f} ms / {history_end:.2f} ms",
    )
    report.notes.append(
        f"cells timed from execute request to reply (kernel header dates), {samples} each, "
        "medians; in-kernel calls timed with perf_counter and thread_time around "
        "run_cell_magic."
    )
    report.notes.append(
        "RSS by exchanges held: " + ", ".join(f"{n}: {mb:.1f} MB" for n, mb in curve)
    )
    report.data = {
        "rss_start_mb": rss_start,
        "history_ms": [history_middle, history_end],
        "rss_curve_mb": curve,
        "cells_start_s": at_start,
        "cells_middle_s": at_middle,
        "cells_end_s": at_end,
        "in_kernel_calls": timings,
    }
    report.emit(args.json)


if __name__ == "__main__":
    main()
