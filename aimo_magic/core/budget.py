"""The budget: one spending cap that every request of its clients passes before it is sent.

A ``Budget`` is held by a client's settings (``Settings.budget``), so every client made
from the same resolution shares it: a notebook session's cells, its batches (their
``AsyncClient``), its comparisons and tool loops. The client asks it before each request
(``reserve``) and tells it the outcome (``Ticket``): no front end checks anything itself.

The rule: a request is sent only if the spend so far, plus the most every request in
flight could cost, plus the most this one could cost (``pricing.maximum_cost``: its
prompt estimate and an answer of ``max_tokens``, else as long as the model's context
allows, at the dearest provider that may serve it) stays within the cap. The maximum is
reserved before sending and settled to the answer's real cost after, under a lock, so
concurrent batches in several threads can never pass the cap together.

What is counted, once each: an answer's cost at the listed prices (a cache hit never
gets here; a stream that restarts is one request); a failed request is not charged; an
answer whose cost is unknown (no usage reported) or a request stopped by the caller
(Ctrl-C, a cancelled task) counts as unknown, and against the cap at its maximum, never
as zero. A request whose price is not known at all (a model without listed prices) is
refused under a cap unless ``allow_unpriced``; then it is sent and counted as unknown.

Amounts are kept in listed figures (``pricing.Listed``) and read through the price
basis of the moment, so the cap is always in the unit costs are shown in.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import weakref
from dataclasses import dataclass
from types import TracebackType

from aimo_magic.core.errors import AimoError
from aimo_magic.core.pricing import NOTHING, Listed, Maximum, PriceBasis, money

RAISE_HINT = (
    "Raise it with `%aimo budget N` (Python: budget.cap = N), or lift it with `%aimo budget off`."
)
BOUND_HINT = (
    "Set max_tokens (a cell's --max-tokens) to bound the answer, "
    "or raise the budget with `%aimo budget N`."
)
UNPRICED_HINT = (
    "Choose a model with listed prices, or allow such requests with "
    "`%aimo budget N --allow-unpriced` (Python: Budget(N, allow_unpriced=True))."
)


class BudgetError(AimoError):
    """A request the budget did not let through: nothing was sent."""


def check_cap(value: object) -> float | None:
    """A cap of 0 or more (None: no cap), or a one-line error saying what to give."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"A budget is a number of 0 or more (or None for none), not {value!r}.")
    if value < 0:
        raise ValueError(f"A budget is a number of 0 or more, not {value!r}.")
    return float(value)


@dataclass(frozen=True)
class BudgetState:
    """What the budget has counted, read in one basis: for ``%aimo usage`` and reprs."""

    cap: float | None
    spent: float
    """Known costs, plus the maxima of answers whose cost is unknown."""
    in_flight: float
    requests_in_flight: int
    unknown: int
    unpriced: int
    """Of ``unknown``, the requests sent without any known price (their maximum is unknown)."""
    refused: int
    basis: PriceBasis

    @property
    def left(self) -> float | None:
        if self.cap is None:
            return None
        return max(self.cap - self.spent - self.in_flight, 0.0)

    def summary(self) -> str:
        """One line, e.g. ``$0.42 spent of $2.50; $2.08 left``."""
        basis = self.basis
        of = f" of {money(self.cap, basis)}" if self.cap is not None else ""
        parts = [f"{money(self.spent, basis)} spent{of}"]
        if self.requests_in_flight:
            held = money(self.in_flight, basis)
            parts.append(f"{held} held by {self.requests_in_flight} in flight")
        if self.left is not None:
            parts.append(f"{money(self.left, basis)} left")
        if self.unknown:
            how = (
                f"{self.unpriced} of them without any price"
                if self.unpriced
                else "counted at their maximum"
            )
            parts.append(f"{self.unknown} of unknown cost ({how})")
        if self.refused:
            parts.append(f"{self.refused} refused")
        return "; ".join(parts)


class Budget:
    """A spending cap (``cap``; None counts without capping) shared by clients.

    ``Client(budget=2.50)`` makes one; ``Client(budget=Budget(2.50))`` shares one between
    clients. In a notebook the session holds one: ``%aimo budget 2.50``.
    """

    def __init__(self, cap: float | None = None, *, allow_unpriced: bool = False) -> None:
        self._lock = threading.Lock()
        self._cap = check_cap(cap)
        self.allow_unpriced = allow_unpriced
        self._spent = NOTHING
        self._unknown_bound = NOTHING
        self._reserved = NOTHING
        self._in_flight = 0
        self._unknown = 0
        self._unpriced = 0
        self._refused = 0
        self.sent = 0
        """Requests let through, for tests and benchmarks."""
        self._token = f"{os.getpid()}-{next(_NUMBERS)}"
        _LIVE[self._token] = self

    # A budget is one live counter that requests share: a copy of a request (or of its
    # settings) must count against the same one, and an unpickled copy in this process is
    # that same budget. In another process (a dask worker) it becomes a fresh budget with
    # the same cap, since a counter cannot be shared across processes.
    def __copy__(self) -> Budget:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Budget:
        return self

    def __reduce__(self) -> tuple[object, tuple[str, float | None, bool]]:
        return _revive, (self._token, self._cap, self.allow_unpriced)

    def __repr__(self) -> str:
        cap = "no cap" if self._cap is None else f"cap={self._cap:g}"
        return f"Budget({cap}, sent={self.sent}, refused={self._refused})"

    @property
    def cap(self) -> float | None:
        return self._cap

    @cap.setter
    def cap(self, value: float | None) -> None:
        self._cap = check_cap(value)

    def state(self, basis: PriceBasis) -> BudgetState:
        with self._lock:
            return BudgetState(
                cap=self._cap,
                spent=(self._spent + self._unknown_bound).amount(basis),
                in_flight=self._reserved.amount(basis),
                requests_in_flight=self._in_flight,
                unknown=self._unknown,
                unpriced=self._unpriced,
                refused=self._refused,
                basis=basis,
            )

    def reserve(self, maximum: Maximum, basis: PriceBasis, model: str) -> Ticket:
        """Hold ``maximum`` for one request about to be sent, or raise ``BudgetError``."""
        with self._lock:
            cap = self._cap
            if cap is not None and maximum.cost is None and not self.allow_unpriced:
                self._refused += 1
                raise BudgetError(
                    f"Not sent: the budget ({money(cap, basis)}) cannot bound this request, "
                    f"because {maximum.why}",
                    hint=BOUND_HINT if maximum.unbounded else UNPRICED_HINT,
                )
            held = maximum.cost or NOTHING
            if cap is not None and maximum.cost is not None:
                committed = self._spent + self._unknown_bound
                total = (committed + self._reserved + held).amount(basis)
                if total > cap + 1e-12:
                    self._refused += 1
                    raise BudgetError(
                        self._over(cap, committed, held, maximum, basis, model),
                        hint=BOUND_HINT if maximum.by_context else RAISE_HINT,
                    )
            self._reserved = self._reserved + held
            self._in_flight += 1
            self.sent += 1
            return Ticket(self, held, priced=maximum.cost is not None)

    def _over(
        self,
        cap: float,
        committed: Listed,
        held: Listed,
        maximum: Maximum,
        basis: PriceBasis,
        model: str,
    ) -> str:
        bound = "its context allows" if maximum.by_context else "max_tokens"
        in_flight = (
            f" and {money(self._reserved.amount(basis), basis)} held by {self._in_flight} in flight"
            if self._in_flight
            else ""
        )
        return (
            f"Not sent: the budget of {money(cap, basis)} would be passed: "
            f"{money(committed.amount(basis), basis)} spent{in_flight}, and this request "
            f"to {model} could cost up to {money(held.amount(basis), basis)} "
            f"(about {maximum.prompt_tokens:,} prompt tokens and an answer of up to "
            f"{maximum.answer_tokens:,} tokens, as long as {bound})"
        )

    # What a Ticket reports ------------------------------------------------------
    def _close(self, held: Listed, spent: Listed | None, unknown: bool, priced: bool) -> None:
        with self._lock:
            self._reserved = self._reserved - held
            self._in_flight -= 1
            if spent is not None:
                self._spent = self._spent + spent
            if unknown:
                self._unknown += 1
                self._unknown_bound = self._unknown_bound + held
                if not priced:
                    self._unpriced += 1


class Ticket:
    """One request's hold on the budget; closed once, by exactly one of its methods.

    As a context manager it closes itself if the block ends without doing so: a request
    that failed (an ``AimoError``) is not charged; one stopped by anything else (Ctrl-C,
    a cancelled task, a stream closed by its reader) counts as unknown, at its maximum.
    """

    def __init__(
        self, budget: Budget | None, held: Listed = NOTHING, *, priced: bool = True
    ) -> None:
        """``budget`` None: a request no budget watches (every method does nothing)."""
        self._budget = budget
        self.held = held
        self.priced = priced
        self.closed = False

    def settle(self, cost: Listed | None) -> None:
        """The answer came: count its real cost (None: unknown, counted at its maximum)."""
        if self._close_once() and self._budget is not None:
            self._budget._close(self.held, cost, cost is None, self.priced)

    def release(self) -> None:
        """The request failed: nothing is charged."""
        if self._close_once() and self._budget is not None:
            self._budget._close(self.held, None, False, self.priced)

    def abandon(self) -> None:
        """The caller stopped the request: it may have been charged; the cost is unknown."""
        if self._close_once() and self._budget is not None:
            self._budget._close(self.held, None, True, self.priced)

    def _close_once(self) -> bool:
        if self.closed:
            return False
        self.closed = True
        return True

    def __enter__(self) -> Ticket:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None or issubclass(kind, AimoError):
            self.release()
        else:
            self.abandon()


def as_budget(value: Budget | float | None) -> Budget | None:
    """What a client's ``budget=`` means: a Budget to share, a cap for a new one, or none."""
    if value is None or isinstance(value, Budget):
        return value
    return Budget(check_cap(value))


_LIVE: weakref.WeakValueDictionary[str, Budget] = weakref.WeakValueDictionary()
_NUMBERS = itertools.count()


def _revive(token: str, cap: float | None, allow_unpriced: bool) -> Budget:
    """The budget a pickle names: the live one in this process, else a fresh one."""
    live = _LIVE.get(token)
    if live is not None:
        return live
    budget = Budget(cap, allow_unpriced=allow_unpriced)
    del _LIVE[budget._token]
    budget._token = token
    _LIVE[token] = budget
    return budget
