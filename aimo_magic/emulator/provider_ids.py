"""Made-up provider ids, shaped like AiMo's real ones (base58 Solana public keys).

Derived from a hash of the provider's name, so they never change between runs: tests and
notebooks can hard-code ``<provider id>:<model name>`` ids. Apart from the catalogue so
that error bodies (which name a payee) need nothing else of the emulator.
"""

from __future__ import annotations

import hashlib

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_BASE58[rest])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(digits))


def provider_id(provider_name: str) -> str:
    """A stable, made-up Solana-style public key (43-44 base58 characters) for a name."""
    return _base58(hashlib.sha256(b"aimo-emulator:" + provider_name.encode()).digest())
