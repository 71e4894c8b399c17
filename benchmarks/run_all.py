"""Run every benchmark, one after another, each in its own process, then sum up verdicts.

    benchmarks/.venv/bin/python benchmarks/run_all.py [--quick] [--json-dir DIR] [--only NAME]

A MISS is a finding, not a failure: the exit status is non-zero only when a script
itself fails. Run nothing else heavy meanwhile; the scripts compare within one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "startup": "bench_startup.py",
    "stream": "bench_stream.py",
    "display": "bench_display.py",
    "memory": "bench_memory.py",
    "cache": "bench_cache.py",
    "batch": "bench_batch.py",
    "concurrency": "bench_concurrency.py",
    "tools": "bench_tools.py",
    "evaluate": "bench_evaluate.py",
    "interrupt": "bench_interrupt.py",
    "providers": "bench_providers.py",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the scripts run")
    parser.add_argument("--json-dir", help="keep each report as NAME.json in this folder")
    parser.add_argument("--only", choices=sorted(SCRIPTS), action="append", help="repeatable")
    args = parser.parse_args()
    out = Path(args.json_dir or tempfile.mkdtemp(prefix="aimo-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only or SCRIPTS:
        command = [sys.executable, str(HERE / SCRIPTS[name]), "--json", str(out / f"{name}.json")]
        if args.quick:
            command.append("--quick")
        started = time.monotonic()
        if subprocess.run(command, cwd=HERE.parent).returncode != 0:
            failed.append(name)
        print(f"({name}: {time.monotonic() - started:.0f} s)\n", flush=True)
    print("== Summary")
    for name in args.only or SCRIPTS:
        path = out / f"{name}.json"
        if name in failed or not path.exists():
            print(f"{name}: FAILED to run")
            continue
        for row in json.loads(path.read_text(encoding="utf-8"))["rows"]:
            if row["verdict"]:
                print(f"{row['verdict']}  {name}: {row['name']} = {row['value']} ({row['target']})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
