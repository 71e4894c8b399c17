"""Deterministic choices: the same request always gets the same canned answer.

Python's ``hash`` of a string changes with every process, so choices are made from a
SHA-256 of their parts instead.
"""

from __future__ import annotations

import hashlib


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (their ``str``), the same in every run."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def stable_index(count: int, *parts: object) -> int:
    """An index in ``range(count)`` fixed by ``parts``."""
    if count < 1:
        raise ValueError("count must be 1 or more")
    return int(stable_fraction(*parts) * count)
