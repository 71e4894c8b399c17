"""A batch spread over a model's providers: each its own window in flight, its own backoff.

One shared gate would let a slow or rate-limited provider hold up every row. Here each
provider (a ``provider_pubkey:model`` id) has its own ``BackoffGate``: at most
``concurrency`` of its requests in flight, and a 429 from it pauses only it (then lets
one request probe, doubling back to full width as answers come). A row is sent on the
first provider, in the order of preference, with room now; a row refused with a 429 is
sent again on whichever provider has room then, so a busy provider's share overflows
to the others. The order: ``cheapest`` and ``fastest`` fill the first provider (the
cheapest, or the fastest measured) before the next; otherwise the least busy provider
(relative to its window) goes first, spreading the rows evenly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aimo_magic.batching.gate import BackoffGate


@dataclass
class ProviderLane:
    """One provider's window: the id its requests pin, its name, its own gate."""

    model_id: str
    label: str
    gate: BackoffGate
    client: Any = None
    """Its own client, if the batch gives it one (else the engine's is used)."""

    def has_room(self, now: float) -> bool:
        gate = self.gate
        paused = gate.paused_until and now < gate.paused_until
        return gate.active < gate.allowed and not paused

    def load(self) -> float:
        return self.gate.active / max(self.gate.allowed, 1)


class ProviderLanes:
    """The providers a batch spreads over, and which one takes the next request."""

    def __init__(self, lanes: Sequence[ProviderLane], *, fill_in_order: bool) -> None:
        if not lanes:
            raise ValueError("a spread batch needs at least one provider")
        self.lanes = list(lanes)
        self.fill_in_order = fill_in_order
        self._changed = asyncio.Event()

    @classmethod
    def of(
        cls, ids: Sequence[tuple[str, str]], concurrency: int, *, fill_in_order: bool
    ) -> ProviderLanes:
        """Lanes for ``(model_id, label)`` pairs, each ``concurrency`` wide."""
        lanes = [ProviderLane(i, label, BackoffGate(concurrency)) for i, label in ids]
        return cls(lanes, fill_in_order=fill_in_order)

    @property
    def capacity(self) -> int:
        """Requests in flight at most, all providers together."""
        return sum(lane.gate.limit for lane in self.lanes)

    def _pick(self) -> ProviderLane | None:
        now = time.monotonic()
        open_lanes = [lane for lane in self.lanes if lane.has_room(now)]
        if not open_lanes:
            return None
        if self.fill_in_order:
            return open_lanes[0]
        return min(open_lanes, key=ProviderLane.load)

    async def acquire(self) -> ProviderLane:
        """A place on the preferred provider with room, waiting until one has some."""
        while True:
            lane = self._pick()
            if lane is not None:
                lane.gate.active += 1
                return lane
            self._changed.clear()
            now = time.monotonic()
            pauses = [
                lane.gate.paused_until - now
                for lane in self.lanes
                if lane.gate.paused_until > now and lane.gate.active < lane.gate.allowed
            ]
            with contextlib.suppress(asyncio.TimeoutError):  # a pause ended: look again
                await asyncio.wait_for(self._changed.wait(), min(pauses) if pauses else None)

    def release(self, lane: ProviderLane, succeeded: bool) -> None:
        lane.gate.release(succeeded)
        self._changed.set()

    def rate_limited(self, lane: ProviderLane, delay: float) -> None:
        """Only this provider pauses; the others keep their windows."""
        lane.gate.rate_limited(delay)
        self._changed.set()
