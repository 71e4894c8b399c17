"""Benchmark 10, the stop button on a batch: how soon the cell ends, and the requests stop.

The test suite checks that an interrupted batch keeps its answered rows, cancels what is
in flight and sends nothing more, counted in rows and requests, never in seconds. How
long a stop takes is measured here instead, in a real kernel against the emulator: each
round runs ``aimo_magic.batch`` over 120 fresh rows, 4 at a time; the emulator answers
10 and holds the next (its gate), and the kernel is interrupted once 4 requests wait.
From that interrupt the script times when the cell's reply has come (the harness polls
every 50 ms) and when the server has seen all 4 held requests go (polled every 5 ms).

Targets: both under 2 s (median); the batch runner gives a stopping engine 1.5 s.
"""

from __future__ import annotations

import tempfile
import time

from benchlib import Report, arguments, kernel_class, median, ms

from aimo_magic.emulator import start

KEY = "aimo-sk-v2-bench-interrupt-0000"
MODEL = "DeepSeek-V3-1"
ROWS = 120
ANSWERED_FIRST = 10
CONCURRENCY = 4
TARGET_S = 2.0


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rounds = 2 if args.quick else 10
    report = Report("Stopping a batch in a kernel: interrupt to cell end", quick=args.quick)
    stops, cancels = [], []
    with start() as emulator, tempfile.TemporaryDirectory() as cache:
        env = {
            "AIMO_BASE_URL": emulator.base_url,
            "AIMO_API_KEY": KEY,
            "AIMO_CACHE_DIR": cache,
            "AIMO_TIMEOUT": "600",  # only the stop ends a held request
        }
        kernel = kernel_class()(env=env)
        try:
            setup = kernel.execute("%load_ext aimo_magic\nimport aimo_magic")
            assert setup.status == "ok", setup.error
            for number in range(rounds):
                emulator.hold(after=ANSWERED_FIRST)
                pressed: list[float] = []

                def press_when_held(_: object, pressed: list[float] = pressed) -> bool:
                    if emulator.held == CONCURRENCY:
                        pressed.append(time.perf_counter())
                        return True
                    return False

                cell = (
                    f"rows = [f'round {number} row {{n}}' for n in range({ROWS})]\n"
                    f"aimo_magic.batch('{{}}', rows, model='{MODEL}',\n"
                    f"                 concurrency={CONCURRENCY}, progress=False)"
                )
                run = kernel.execute(cell, interrupt_when=press_when_held, timeout=120)
                ended = time.perf_counter()
                assert run.error is not None and run.error["ename"] == "BatchInterrupted", run.error
                while emulator.held:
                    time.sleep(0.005)
                cancelled = time.perf_counter()
                assert emulator.abandoned == CONCURRENCY
                emulator.release()
                stops.append(ended - pressed[0])
                cancels.append(max(0.0, cancelled - pressed[0]))
        finally:
            emulator.release()
            kernel.close()
    stop_s, cancel_s = median(stops), median(cancels)
    report.add(
        "interrupt to the cell's end (median)", ms(stop_s), f"< {ms(TARGET_S)}", stop_s < TARGET_S
    )
    report.add(
        "interrupt to the held requests cancelled at the server (median)",
        ms(cancel_s),
        f"< {ms(TARGET_S)}",
        cancel_s < TARGET_S,
    )
    report.add("worst round: interrupt to the cell's end", ms(max(stops)))
    report.add("rounds", str(rounds))
    report.data = {"stop_s": stops, "cancel_s": cancels}
    report.emit(args.json)


if __name__ == "__main__":
    main()
