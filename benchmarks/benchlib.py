"""What every benchmark script shares: the machine, medians, the report table, a kernel.

Each script compares things measured in the same run (machines here are noisy), prints
a table of figures with their targets and a PASS/MISS verdict, and can write the same
report as JSON for ``run_all.py`` and the README.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGES = (
    "aimo-magic",
    "ipython",
    "ipykernel",
    "jupyter_client",
    "httpx2",
    "httpcore2",
    "httpx",
    "httpx-sse",
    "openai",
    "jupyter-ai-magics",
    "markdown-it-py",
    "nh3",
    "pygments",
)


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": usable,
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "packages": {name: version(name) for name in PACKAGES},
    }


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


@dataclass
class Row:
    """One figure: what it is, its value, and (if it has one) its target and verdict."""

    name: str
    value: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "MISS")


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    quick: bool = False

    def add(self, name: str, value: str, target: str = "", passed: bool | None = None) -> None:
        self.rows.append(Row(name, value, target, passed))

    @property
    def missed(self) -> list[Row]:
        return [row for row in self.rows if row.passed is False]

    def render(self) -> str:
        info = machine()
        header = ("figure", "value", "target", "verdict")
        table = [header, *((r.name, r.value, r.target, r.verdict) for r in self.rows)]
        widths = [max(len(str(line[i])) for line in table) for i in range(4)]
        lines = [f"== {self.title}{'  (--quick: sizes too small to judge)' if self.quick else ''}"]
        lines.append(
            f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
            f"{info['os']}, Python {info['python']}; load average now "
            f"{' '.join(map(str, info['load_average']))} (other work on the machine)"
        )
        for index, line in enumerate(table):
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def emit(self, json_path: str | None) -> None:
        print(self.render(), flush=True)
        if json_path:
            payload = {
                "title": self.title,
                "quick": self.quick,
                "machine": machine(),
                "rows": [{**asdict(r), "verdict": r.verdict} for r in self.rows],
                "notes": self.notes,
                "data": self.data,
            }
            Path(json_path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, a few seconds: checks the script runs"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON here")
    return parser.parse_args()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def kernel_class() -> Any:
    """The test suite's real-kernel harness (jupyter_client, every iopub message kept)."""
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    return importlib.import_module("kernel_harness").Kernel


def kernel_pid(kernel: Any) -> int:
    """The kernel's own process id (the harness starts ``python -m ipykernel_launcher``)."""
    return int(kernel.manager.provisioner.pid)
