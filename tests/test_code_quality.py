"""The package stays ruff- and mypy-clean: part of the suite so CI guards it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "aimo_magic", "tests", "benchmarks", "examples"),
        ("ruff", "format", "--check", "aimo_magic", "tests", "benchmarks"),
        ("mypy",),
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_clean(command: tuple[str, ...]) -> None:
    done = run(*command)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_no_merge_conflict_markers() -> None:
    """A marker inside a docstring or a README passes ruff and mypy, so look for them."""
    markers = ("<<<<<<< ", ">>>>>>> ")
    found = []
    for folder in ("aimo_magic", "tests", "benchmarks", "examples", "binder"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".md", ".toml", ".txt", ".ipynb", ".cfg", ".sh"}:
                continue
            if ".venv" in path.parts or "executed" in path.parts:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if line.lstrip().startswith(markers):
                    found.append(f"{path.relative_to(ROOT)}:{number}")
    for name in ("README.md", "pyproject.toml"):
        text = (ROOT / name).read_text()
        found += [
            f"{name}:{n}" for n, ln in enumerate(text.splitlines(), 1) if ln.startswith(markers)
        ]
    assert found == [], found
