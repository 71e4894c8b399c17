"""Providers that behave like themselves: latency, pace, a limit of requests in flight, failures.

A real model on AiMo is served by several providers, each with its own speed, price and
capacity. A ``ProviderProfile`` gives one provider (by name, for every model it serves)
its own first-token latency, streaming pace, prices, a fault spec applied to each of its
answers (``status=503`` makes it fail), and ``max_in_flight``: beyond that many requests
at once it answers 429 with ``Retry-After``. ``serve`` adds models served by named
providers (a model with four providers for a benchmark, say).

Specs are written like fault specs, for the command line and for tests:

- provider: ``NAME;latency_ms=100;max_in_flight=16;retry_after=0.2;prompt=0.1;completion=0.4``
  (also ``tokens_per_second=R``, ``fault=SPEC``, whose own ``;`` are written ``,``, and
  ``failure_rate=P``: the fault, ``status=503`` if none is given, hits that fraction of the
  provider's requests, the same ones in every run; ``accuracy=P``: how often it gets a
  checkable answer right, instead of its model's own, see ``grading``);
- served model: ``MODEL=PROVIDER,PROVIDER,...``.

A profile can also change while the emulator runs (``handle.set_provider(SPEC)``), and one
request can change its provider's behaviour for itself alone with a directive in its prompt:
``::provider NAME key=value;...`` (NAME may be ``*``, whichever provider serves it; several
may be given), for instance ``::provider nebula-gpu fault=status=503`` to make the cheapest
provider of ``openai/gpt-4o`` fail for this prompt only, or ``::provider * latency_ms=2000``.

The counts per provider (in flight now, most at once, answered, refused with 429, failed)
are kept at the server, so tests and benchmarks check a client's windows where they
matter. A request stops counting as in flight just before its last bytes are sent: a
client that has read the whole answer may send the next request at once without being
refused for one that is, to it, finished.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from aimo_magic.emulator.faults import FaultSpecError, parse_fault_spec
from aimo_magic.emulator.seeds import stable_fraction

DEFAULT_CONTEXT = 131_072


class ProviderSpecError(ValueError):
    """A provider or served-model spec that cannot be read; says which part and why."""


@dataclass(frozen=True)
class ProviderProfile:
    """How one provider behaves, for every model it serves; None keeps the server's own."""

    name: str
    latency_ms: float | None = None
    tokens_per_second: float | None = None
    max_in_flight: int | None = None
    retry_after: float = 1.0
    fault: str = ""
    prompt: float | None = None
    completion: float | None = None
    failure_rate: float | None = None
    accuracy: float | None = None

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in ";=,:"):
            raise ProviderSpecError(f"provider name {self.name!r} must be a plain word")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ProviderSpecError(f"max_in_flight must be 1 or more, got {self.max_in_flight}")
        for name in ("latency_ms", "tokens_per_second", "retry_after", "prompt", "completion"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ProviderSpecError(f"{name} must not be negative, got {value}")
        if self.fault:
            try:
                parse_fault_spec(self.fault)
            except FaultSpecError as exc:
                raise ProviderSpecError(f"provider {self.name}: {exc}") from None
        for name in ("failure_rate", "accuracy"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ProviderSpecError(f"{name} must be from 0 to 1, got {value}")

    def fault_for(self, number: int) -> str:
        """The fault spec the ``number``-th request to this provider gets ("" for none):
        the profile's fault on every request, or on a fixed fraction with ``failure_rate``."""
        if self.failure_rate is None:
            return self.fault
        hit = stable_fraction("provider-failure", self.name, number) < self.failure_rate
        return (self.fault or "status=503") if hit else ""


_FLOATS = (
    "latency_ms",
    "tokens_per_second",
    "retry_after",
    "prompt",
    "completion",
    "failure_rate",
    "accuracy",
)


def parse_provider_spec(spec: str) -> ProviderProfile:
    """``NAME;key=value;...`` into a profile (see the module's docstring for the keys)."""
    name, *items = [part.strip() for part in spec.split(";")]
    return ProviderProfile(name, **provider_values(name, items))


def provider_values(name: str, items: Iterable[str]) -> dict[str, Any]:
    """The ``key=value`` items of a provider spec, read and checked one by one."""
    values: dict[str, Any] = {}
    for item in filter(None, items):
        key, sep, raw = (piece.strip() for piece in item.partition("="))
        if not sep or not raw:
            raise ProviderSpecError(f"provider {name}: '{item}' is not key=value")
        if key in _FLOATS:
            try:
                values[key] = float(raw)
            except ValueError:
                raise ProviderSpecError(f"provider {name}: {key}={raw!r} is not a number") from None
        elif key == "max_in_flight":
            try:
                values[key] = int(raw)
            except ValueError:
                raise ProviderSpecError(
                    f"provider {name}: max_in_flight={raw!r} is not a whole number"
                ) from None
        elif key == "fault":
            values[key] = raw.replace(",", ";")
        else:
            known = ", ".join((*_FLOATS, "max_in_flight", "fault"))
            raise ProviderSpecError(f"provider {name}: unknown key '{key}'; known: {known}")
    return values


def with_changes(
    profile: ProviderProfile | None, name: str, changes: dict[str, Any]
) -> ProviderProfile:
    """``profile`` (or the server's behaviour, for None) with ``changes`` on top."""
    return replace(profile or ProviderProfile(name), **changes)


@dataclass(frozen=True)
class ServedModel:
    """A model added to the catalogue, served by the named providers in this order."""

    name: str
    providers: tuple[str, ...]
    context_length: int = DEFAULT_CONTEXT

    def __post_init__(self) -> None:
        if not self.name or not self.providers:
            raise ProviderSpecError("a served model needs a name and at least one provider")


def parse_served_spec(spec: str) -> ServedModel:
    """``MODEL=PROVIDER,PROVIDER,...`` into a served model."""
    name, sep, providers = (piece.strip() for piece in spec.partition("="))
    names = tuple(p.strip() for p in providers.split(",") if p.strip())
    if not sep or not name or not names:
        raise ProviderSpecError(f"served model {spec!r} is not MODEL=PROVIDER,PROVIDER,...")
    return ServedModel(name, names)


@dataclass
class ProviderCount:
    """What one provider has done since the start (or the last reset)."""

    in_flight: int = 0
    most_in_flight: int = 0
    answered: int = 0
    refused: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class ProviderCounts:
    """Thread-safe counts per provider name; admission against ``max_in_flight``."""

    _counts: dict[str, ProviderCount] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: dict[str, int] = field(default_factory=dict)

    def number(self, name: str) -> int:
        """The number of this request at the provider (1, 2, ...), for its failure draw."""
        with self._lock:
            self._numbers[name] = self._numbers.get(name, 0) + 1
            return self._numbers[name]

    def admit(self, name: str, limit: int | None) -> bool:
        """Enter if under ``limit`` (None: no limit); else count a refusal and say no."""
        with self._lock:
            count = self._counts.setdefault(name, ProviderCount())
            if limit is not None and count.in_flight >= limit:
                count.refused += 1
                return False
            count.in_flight += 1
            count.most_in_flight = max(count.most_in_flight, count.in_flight)
            return True

    def has_room(self, name: str, limit: int | None) -> bool:
        with self._lock:
            count = self._counts.get(name)
            return limit is None or count is None or count.in_flight < limit

    def leave(self, name: str, *, answered: bool) -> None:
        with self._lock:
            count = self._counts.setdefault(name, ProviderCount())
            count.in_flight -= 1
            if answered:
                count.answered += 1
            else:
                count.failed += 1

    def failed(self, name: str) -> None:
        with self._lock:
            self._counts.setdefault(name, ProviderCount()).failed += 1

    def snapshot(self) -> dict[str, ProviderCount]:
        with self._lock:
            return {name: replace(count) for name, count in self._counts.items()}

    def reset(self) -> None:
        """Start counting afresh; requests in flight now stay counted as in flight."""
        with self._lock:
            self._counts = {
                name: ProviderCount(in_flight=c.in_flight, most_in_flight=c.in_flight)
                for name, c in self._counts.items()
            }
            self._numbers = {}


class ProviderProfiles:
    """The profiles in force: the start's, changed while running by ``set``."""

    def __init__(self, profiles: Iterable[ProviderProfile]) -> None:
        self._start = {p.name: p for p in profiles}
        self._now = dict(self._start)
        self._lock = threading.Lock()

    def get(self, name: str) -> ProviderProfile | None:
        with self._lock:
            return self._now.get(name)

    def set(self, profile: ProviderProfile) -> None:
        with self._lock:
            self._now[profile.name] = profile

    def reset(self) -> None:
        with self._lock:
            self._now = dict(self._start)

    def all(self) -> dict[str, ProviderProfile]:
        with self._lock:
            return dict(self._now)


ANY_PROVIDER = "*"


def request_changes(directives: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """``::provider NAME SPEC`` directives as changes per provider name (or ``*``)."""
    changes: dict[str, dict[str, Any]] = {}
    for name, spec in directives:
        items = [item.strip() for item in spec.split(";")]
        changes.setdefault(name, {}).update(provider_values(name, items))
        with_changes(None, name, changes[name])  # checked as a whole profile would be
    return changes


def changes_for(changes: dict[str, dict[str, Any]], name: str, provider_id: str) -> dict[str, Any]:
    """What a request's directives change for the provider that serves it."""
    merged: dict[str, Any] = {}
    for key in (ANY_PROVIDER, name, provider_id):
        merged.update(changes.get(key, {}))
    return merged


class Slot:
    """One admitted request's place at its provider, given back exactly once."""

    def __init__(self, counts: ProviderCounts, name: str) -> None:
        self._counts = counts
        self._name = name
        self._open = True

    def release(self, *, answered: bool) -> None:
        if self._open:
            self._open = False
            self._counts.leave(self._name, answered=answered)


async def released_before_last(
    pieces: AsyncIterator[bytes | None], slot: Slot
) -> AsyncIterator[bytes]:
    """The same bytes, the slot given back (answered) just before the last piece is sent;
    a stream that breaks gives it back too, as failed. A ``None`` from ``pieces`` (the
    stream pauses at a test's gate) sends the piece held back at once."""
    held: bytes | None = None
    try:
        try:
            async for piece in pieces:
                if held is not None:
                    yield held
                held = piece
        except Exception:  # a deliberate break: what came before it still goes out
            slot.release(answered=False)
            if held is not None:
                yield held
            raise
        slot.release(answered=True)
        if held is not None:
            yield held
    finally:
        slot.release(answered=False)


ProviderChoice = ProviderProfile | str
ServeChoice = ServedModel | str


def profiles_of(given: Iterable[ProviderChoice]) -> tuple[ProviderProfile, ...]:
    """Profiles from profiles or their specs (``start(providers=[...])``, ``--provider``)."""
    return tuple(p if isinstance(p, ProviderProfile) else parse_provider_spec(p) for p in given)


def served_of(given: Iterable[ServeChoice]) -> tuple[ServedModel, ...]:
    """Served models from objects or their specs (``start(serve=[...])``, ``--serve``)."""
    return tuple(m if isinstance(m, ServedModel) else parse_served_spec(m) for m in given)
