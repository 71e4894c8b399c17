"""The benchmark scripts still run: each in ``--quick`` mode, its report checked for shape.

No timing is asserted (machines here are noisy); a script that crashes, or whose report
lacks its targets and verdicts, fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
TARGETS = {
    "bench_startup.py": ["aimo_magic: load_ext (in-process)", "aimo_magic: process wall over bare"],
    "bench_stream.py": ["aimo / openai SDK (wall)", "aimo / fastest bare loop (wall)"],
    "bench_concurrency.py": ["aimo / bare httpx2 (wall)", "aimo / openai SDK (wall)"],
    "bench_display.py": [
        "displaying / one final render",
        "published / final",
        "longest gap between display messages (worst round)",
        "longest gap, first answer in a fresh kernel (cold)",
    ],
    "bench_memory.py": ["added RSS", "after 40 / at the start"],
    "bench_cache.py": [
        "cache hit: execute to final display (median)",
        "AsyncClient, 20 hits: longest event-loop stall",
    ],
    "bench_tools.py": [
        "streamed: loop overhead per step",
        "streamed: loop's own time per step (outside requests)",
        "not streamed: loop overhead per step",
    ],
    "bench_evaluate.py": ["evaluate / batch (wall)", "re-run from the cache (wall)"],
    "bench_interrupt.py": [
        "interrupt to the cell's end (median)",
        "interrupt to the held requests cancelled at the server (median)",
    ],
    "bench_providers.py": [
        "spread / pinned (wall)",
        "rows lost (all runs)",
        "rows paid twice (answers at the server beyond the rows)",
    ],
    "bench_batch.py": [
        "aimo / bare httpx2 (wall)",
        "aimo / bare httpx2 (CPU per row)",
        "aimo / openai SDK (wall)",
        "aimo peak growth per row / bare loop's",
    ],
}


def run_quick(script: str, json_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--json", str(json_path)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCHMARKS.parent,
    )


KERNEL_SCRIPTS = {"bench_cache.py", "bench_display.py", "bench_interrupt.py", "bench_memory.py"}


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(name, marks=[pytest.mark.kernel] if name in KERNEL_SCRIPTS else [])
        for name in sorted(TARGETS)
    ],
)
def test_quick_run_reports_every_target(script: str, tmp_path: Path) -> None:
    done = run_quick(script, tmp_path / "report.json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert report["machine"]["cpu"] and report["machine"]["python"]
    judged = {row["name"]: row["verdict"] for row in report["rows"] if row["verdict"]}
    for target in TARGETS[script]:
        assert judged.get(target) in ("PASS", "MISS"), f"{target!r} missing from {judged}"
    assert "PASS" in done.stdout or "MISS" in done.stdout
    assert "machine:" in done.stdout


def test_run_all_summarises_each_script(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run_all.py"),
            "--quick",
            "--only",
            "stream",
            "--json-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCHMARKS.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stdout.split("== Summary", 1)[1]
    assert "stream: aimo / openai SDK (wall)" in summary
    assert (tmp_path / "stream.json").exists()
