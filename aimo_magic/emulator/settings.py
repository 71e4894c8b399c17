"""Emulator settings and the constants clients and tests need (keys, loopback hosts)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from aimo_magic.emulator.providers import ProviderProfile, ServedModel

DEFAULT_API_KEY = "aimo-sk-v2-emulator-0000000000000000"
BROKE_KEY = "aimo-sk-v2-emulator-broke"
"""The key that authenticates but always gets 402 insufficient balance."""
EXPIRED_KEY = "aimo-sk-v2-emulator-expired"
"""The key that gets 401 with AiMo's plain-text body ``Failed to verify secret key: Expired``."""
ACCEPTED_KEY_PREFIX = "aimo-sk-"
CLI_TOKENS_PER_SECOND = 40.0

ModelsShape = Literal["aimo", "openai"]
Timing = Literal["uniform", "varied"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class EmulatorSettings:
    """What a running emulator does by default; requests can override pace and faults.

    ``tokens_per_second=None`` streams as fast as possible (for tests);
    ``catalogue_size`` pads or cuts the model listing to that many entries;
    ``providers`` give named providers their own behaviour and ``serve`` adds models
    served by named providers (see ``emulator.providers``); ``accuracy`` makes every model
    right that often on checkable questions (None: each model's own, see ``model_traits``;
    1.0: always right); ``timing="varied"`` scales the server's latency and pace by each
    model's and provider's own factors (``"uniform"``: the same for all).
    """

    latency_ms: float = 0.0
    tokens_per_second: float | None = None
    catalogue_size: int | None = None
    models_shape: ModelsShape = "aimo"
    api_key: str = DEFAULT_API_KEY
    providers: tuple[ProviderProfile, ...] = ()
    serve: tuple[ServedModel, ...] = ()
    accuracy: float | None = None
    timing: Timing = "uniform"

    def profile(self, provider_name: str) -> ProviderProfile | None:
        """The behaviour set for a provider, None when it behaves as the server does."""
        return next((p for p in self.providers if p.name == provider_name), None)

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be 0 or more, got {self.latency_ms}")
        if self.tokens_per_second is not None and self.tokens_per_second <= 0:
            raise ValueError(
                "tokens_per_second must be positive, or None for no pacing, "
                f"got {self.tokens_per_second}"
            )
        if self.catalogue_size is not None and self.catalogue_size < 1:
            raise ValueError(f"catalogue_size must be 1 or more, got {self.catalogue_size}")
        if self.models_shape not in ("aimo", "openai"):
            raise ValueError(f"models_shape must be 'aimo' or 'openai', got {self.models_shape!r}")
        if self.accuracy is not None and not 0 <= self.accuracy <= 1:
            raise ValueError(f"accuracy must be from 0 to 1, or None, got {self.accuracy}")
        if self.timing not in ("uniform", "varied"):
            raise ValueError(f"timing must be 'uniform' or 'varied', got {self.timing!r}")
        if not self.api_key.startswith(ACCEPTED_KEY_PREFIX):
            raise ValueError(f"api_key must start with {ACCEPTED_KEY_PREFIX!r}")
