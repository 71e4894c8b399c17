"""Benchmark 1, start-up: ``%load_ext aimo_magic`` against a bare shell and jupyter_ai_magics.

Every sample is a fresh interpreter (``python -c``) that builds an IPython
``InteractiveShell`` and then, unless it is the bare variant, loads one extension.
Variants are interleaved, after one discarded warm-up each (which also writes .pyc
files); figures are medians. Three measures:

- in-process: ``perf_counter`` around ``shell.run_line_magic("load_ext", NAME)``;
- whole process, wall: the child's wall time, interpreter start to exit, minus the
  bare child's run next to it (median of these paired differences, which cancels
  the drift of other work on the machine; the bare shell and aimo_magic run three
  times a round, jupyter_ai_magics once, compared by medians);
- whole process, CPU: the child's user+system time (``getrusage``), paired the same way.

Targets: aimo_magic adds at most 50 ms over a bare shell (each measure), and loads
at least 10 times faster than jupyter_ai_magics 2.31.x (in-process ratio). The
``-X importtime`` table lists what ``load_ext aimo_magic`` imports, slowest first.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchlib import Report, arguments, median, ms, ratio, version

SAMPLE = """
import json, sys, time
t0 = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
t1 = time.perf_counter()
print("--- load_ext ---", file=sys.stderr, flush=True)
name = sys.argv[1]
if name != "-":
    shell.run_line_magic("load_ext", name)
t2 = time.perf_counter()
magic = {"aimo_magic": "aimo", "jupyter_ai_magics": "ai"}.get(name)
if magic and magic not in shell.magics_manager.magics["cell"]:
    raise SystemExit(f"%%{magic} was not registered by load_ext {name}")
print(json.dumps({"shell_s": t1 - t0, "load_ext_s": t2 - t1,
                  "modules_added": len(set(sys.modules) - before)}))
"""

VARIANTS = {"bare shell": "-", "aimo_magic": "aimo_magic", "jupyter_ai_magics": "jupyter_ai_magics"}


def child_env(pycache: str) -> dict[str, str]:
    """Bytecode caching on, into a private folder: a user's install has its .pyc files,
    and this machine's PYTHONDONTWRITEBYTECODE would otherwise recompile every sample.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample(extension: str, env: dict[str, str]) -> dict[str, Any]:
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", SAMPLE, extension],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"load_ext {extension} failed:\n{done.stderr[-2000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": wall, "cpu_s": cpu}


def import_offenders(
    extension: str, top: int, env: dict[str, str]
) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) imported by ``load_ext``, by cumulative time."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SAMPLE, extension],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    lines = done.stderr.split("--- load_ext ---", 1)[-1].splitlines()
    rows = []
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the header line
        rows.append((parts[2].rstrip(), self_us / 1000, cumulative_us / 1000))
    rows.sort(key=lambda row: -row[2])
    return rows[:top]


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    samples = 3 if args.quick else 21
    report = Report("Benchmark 1: start-up of %load_ext", quick=args.quick)
    variants = dict(VARIANTS)
    jai = version("jupyter-ai-magics")
    if jai is None:
        del variants["jupyter_ai_magics"]
        report.notes.append(
            "jupyter-ai-magics is not installed in this environment: install "
            "benchmarks/requirements.txt (see benchmarks/README.md) to compare with it."
        )
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    pycache = tempfile.mkdtemp(prefix="aimo-bench-pycache-")
    env = child_env(pycache)
    try:
        for extension in variants.values():
            sample(extension, env)  # warm-up: .pyc files, disk cache
        for number in range(samples):
            names = list(variants)
            order = names[number % len(names) :] + names[: number % len(names)]
            order += ["bare shell", "aimo_magic"] * 2  # the cheap ones thrice: less noise
            for name in order:
                results[name].append(sample(variants[name], env))
        offenders = import_offenders("aimo_magic", 3 if args.quick else 12, env)
    finally:
        shutil.rmtree(pycache, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return median(r[key] for r in results[name])

    def over_bare(name: str, key: str) -> float:
        if len(results[name]) != len(results["bare shell"]):
            return med(name, key) - med("bare shell", key)
        pairs = zip(results[name], results["bare shell"], strict=True)
        return median(mine[key] - bare[key] for mine, bare in pairs)

    report.add("bare shell: process wall", ms(med("bare shell", "process_s")))
    report.add("bare shell: process CPU", ms(med("bare shell", "cpu_s")))
    report.add("bare shell: InteractiveShell.instance()", ms(med("bare shell", "shell_s")))
    aimo_load = med("aimo_magic", "load_ext_s")
    aimo_wall, aimo_cpu = over_bare("aimo_magic", "process_s"), over_bare("aimo_magic", "cpu_s")
    report.add("aimo_magic: load_ext (in-process)", ms(aimo_load), "<= 50 ms", aimo_load <= 0.050)
    report.add("aimo_magic: process wall over bare", ms(aimo_wall), "<= 50 ms", aimo_wall <= 0.050)
    report.add("aimo_magic: process CPU over bare", ms(aimo_cpu), "<= 50 ms", aimo_cpu <= 0.050)
    report.add(
        "aimo_magic: modules imported by load_ext",
        str(int(med("aimo_magic", "modules_added"))),
    )
    if "jupyter_ai_magics" in variants:
        jai_load = med("jupyter_ai_magics", "load_ext_s")
        jai_wall = over_bare("jupyter_ai_magics", "process_s")
        report.add(f"jupyter_ai_magics {jai}: load_ext (in-process)", ms(jai_load))
        report.add(f"jupyter_ai_magics {jai}: process wall over bare", ms(jai_wall))
        report.add(
            f"jupyter_ai_magics {jai}: process CPU over bare",
            ms(over_bare("jupyter_ai_magics", "cpu_s")),
        )
        report.add(
            "jupyter_ai_magics / aimo_magic: load_ext",
            ratio(jai_load / aimo_load),
            ">= 10x",
            jai_load / aimo_load >= 10,
        )
        report.add(
            "jupyter_ai_magics / aimo_magic: process wall over bare",
            ratio(jai_wall / aimo_wall) if aimo_wall > 0 else "n/a",
        )
        report.add(
            "jupyter_ai_magics: modules imported by load_ext",
            str(int(med("jupyter_ai_magics", "modules_added"))),
        )
    report.notes.append(
        f"{samples} rounds of fresh interpreters (bare and aimo_magic thrice a round), "
        "interleaved, after a warm-up; medians; "
        ".pyc files cached (in a private PYTHONPYCACHEPREFIX) as in a normal install."
    )
    report.notes.append("slowest imports of load_ext aimo_magic (python -X importtime, one run):")
    report.notes += [
        f"  {cum:8.1f} ms cumulative {own:7.1f} ms self  {mod}" for mod, own, cum in offenders
    ]
    report.data = {"samples": results, "aimo_magic_importtime": offenders}
    report.emit(args.json)


if __name__ == "__main__":
    main()
