"""Pointing this process's clients at the emulator for one test, through AIMO_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from waiting import count_in_flight_afresh

from aimo_magic.emulator import EmulatorHandle


def use_emulator(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, key: str, cache_dir: Path
) -> EmulatorHandle:
    """AIMO_API_KEY, AIMO_BASE_URL and a fresh AIMO_CACHE_DIR set (no AIMO_MODEL), and the
    emulator's fault queue, request log and in-flight counts emptied."""
    for name, value in {
        "AIMO_API_KEY": key,
        "AIMO_BASE_URL": emulator.base_url,
        "AIMO_CACHE_DIR": str(cache_dir),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AIMO_MODEL", raising=False)
    emulator.clear_faults()
    emulator.clear_requests()
    count_in_flight_afresh(emulator)
    return emulator
