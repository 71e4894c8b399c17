"""What every running emulator offers its user, served over a socket or in-process."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

from aimo_magic.emulator.providers import ProviderCount, ProviderProfile, parse_provider_spec
from aimo_magic.emulator.settings import EmulatorSettings
from aimo_magic.emulator.state import EmulatorState


class BaseHandle:
    """Where to reach an emulator, with which key; its fault queue and request log."""

    base_url: str
    in_process = False
    """True when requests reach it through a mounted transport, not a socket."""

    def __init__(self, settings: EmulatorSettings, state: EmulatorState) -> None:
        self._state = state
        self.settings = settings
        self.api_key = settings.api_key

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point a client at this emulator."""
        return {"AIMO_BASE_URL": self.base_url, "AIMO_API_KEY": self.api_key}

    def configure(self) -> BaseHandle:
        """Point this process's clients (and ``%%aimo``) at this emulator; returns it."""
        os.environ.update(self.env)
        return self

    def queue_faults(self, *specs: str) -> None:
        """Queue fault specs, consumed one per chat request (see ``faults``)."""
        self._state.queue_faults(specs)

    def clear_faults(self) -> None:
        self._state.clear_faults()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Chat requests received so far (authorization redacted), oldest first."""
        return self._state.requests()

    def clear_requests(self) -> None:
        self._state.clear_requests()

    # The gate: tests synchronise on it instead of sleeping (see ``gate``).
    def hold(self, *, after: int = 0, until: int | None = None) -> None:
        """Hold chat answers until ``release()``: the first ``after`` requests still pass;
        with ``until``, the gate opens by itself once that many answers wait together.

        An answer waits before it starts, or after N chunks if its fault says
        ``hold_after=N``. Pair every ``hold`` with a ``release``, e.g. in a fixture.
        """
        self._state.gate.hold(after=after, until=until)

    def release(self) -> None:
        """Let every held answer go on, and stop holding."""
        self._state.gate.release()

    @property
    def held(self) -> int:
        """Chat answers waiting at the gate right now."""
        return self._state.gate.held

    @property
    def abandoned(self) -> int:
        """Held answers whose client went away (a cancelled request), since ``hold``."""
        return self._state.gate.abandoned

    @property
    def provider_counts(self) -> dict[str, ProviderCount]:
        """Per provider name: requests in flight now and at most, answered, refused with
        429 (at its ``max_in_flight``), failed; since the start or the last reset."""
        return self._state.providers.snapshot()

    def reset_provider_counts(self) -> None:
        self._state.providers.reset()

    def set_provider(self, profile: ProviderProfile | str) -> ProviderProfile:
        """Change how a provider behaves from now on (``"nebula-gpu;fault=status=503"``
        takes the cheapest ``openai/gpt-4o`` provider down); prices stay as listed."""
        chosen = profile if isinstance(profile, ProviderProfile) else parse_provider_spec(profile)
        self._state.profiles.set(chosen)
        return chosen

    def reset_providers(self) -> None:
        """Every provider back to the behaviour it started with."""
        self._state.profiles.reset()

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"api_key='{self.api_key[:11]}…', {state})"
        )
