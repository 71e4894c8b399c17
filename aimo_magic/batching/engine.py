"""The batch engine: every row's request on one AsyncClient, ``concurrency`` at a time.

A fixed pool of workers takes row positions in order, so memory does not grow with
the rows (no task per row) and at most ``concurrency`` requests are in flight. Results
are written by position, so they come back in input order whatever order they finish.

Failures are sorted three ways. Transient ones (5xx, broken connections) are retried
by the client's rules (its ``RetryPolicy``); a 429 pauses the whole batch through the
shared :class:`BackoffGate`. A row that still fails is recorded and the batch goes on.
An error that would fail every row (bad key, no balance, unknown model) stops the batch
at once and cancels what is in flight.

Several engines can run as one (an evaluation: one engine per model, on one client):
they share the ``gate`` (so ``concurrency`` and a 429's pause hold for all of them) and
the ``spending`` (so ``max_cost`` bounds them together).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aimo_magic.batching.answers import AnswerFormat, AnswerFormatError
from aimo_magic.batching.costs import DEFAULT_ANSWER_TOKENS, PriceBook, answer_bound
from aimo_magic.batching.gate import BackoffGate
from aimo_magic.batching.outcome import (
    STOP_BUDGET,
    STOP_FATAL,
    STOP_MAX_COST,
    RowError,
    ServedCount,
    Tally,
)
from aimo_magic.batching.positions import RowQueue
from aimo_magic.batching.provider_lanes import ProviderLanes
from aimo_magic.batching.rows import messages_for
from aimo_magic.batching.spending import Spending
from aimo_magic.core.budget import BudgetError
from aimo_magic.core.errors import (
    AimoError,
    AuthenticationError,
    MissingKeyError,
    NotFoundError,
    PaymentError,
    RateLimitError,
)
from aimo_magic.core.pricing import NOTHING, Listed
from aimo_magic.core.provider_log import KEEP
from aimo_magic.core.retry import RetryPolicy, is_retryable
from aimo_magic.core.tokens import estimate_prompt_tokens
from aimo_magic.core.types import ChatResult

if TYPE_CHECKING:
    from aimo_magic.batching.stored import QueuedRow, StoredAnswers

FATAL = (AuthenticationError, PaymentError, NotFoundError, MissingKeyError)
"""Errors no retry and no other row can fix: the batch stops at the first."""
RATE_LIMIT_RETRIES = 10
"""A rate-limited row is tried this many times more: the waits are shared, so a row only
uses a try when it is the one probing whether the limit has lifted."""


class ChatClient(Protocol):
    async def chat(self, messages: Any, *, model: str | None = None, **params: Any) -> Any: ...

    def stream(self, messages: Any, *, model: str | None = None, **params: Any) -> Any: ...


class RowPrompts(Protocol):
    """What the engine needs of the rows (``batching.rows.Rows`` is one)."""

    def prompt(self, position: int) -> str: ...

    def label(self, position: int) -> Any: ...


def error_words(error: BaseException) -> str:
    """An error's own words without the hint: rows failing alike group into one line."""
    if isinstance(error, AimoError):
        status = f" (HTTP {error.status})" if error.status else ""
        return f"{error.detail}{status}"
    return " ".join(str(error).split()) or type(error).__name__


def is_fatal(error: AimoError) -> bool:
    return isinstance(error, FATAL)


class Engine:
    """One run over the rows; ``values``, ``errors`` and ``tally`` are read as it goes."""

    def __init__(
        self,
        rows: RowPrompts,
        *,
        model: str,
        system: str | None,
        answer: AnswerFormat,
        params: dict[str, Any],
        concurrency: int,
        policy: RetryPolicy,
        prices: PriceBook | None,
        max_cost: float | None,
        tally: Tally,
        values: list[Any],
        errors: list[RowError],
        stored: StoredAnswers | None = None,
        gate: BackoffGate | None = None,
        spending: Spending | None = None,
        results: list[Any] | None = None,
        stream: bool = False,
        lanes: ProviderLanes | None = None,
        served: list[str | None] | None = None,
    ) -> None:
        """``gate`` and ``spending`` are shared with other engines of the same run (else
        this engine's own: ``concurrency`` and ``max_cost``); ``results`` receives each
        answered row's ``ChatResult`` by position; ``stream`` asks for streamed answers,
        so that their time to first token is measured. ``lanes`` spreads the rows over
        providers, each with its own window and backoff (``batching.provider_lanes``:
        ``gate`` is then not used); ``served`` receives the id that answered each row."""
        self._client: ChatClient | None = None
        self._rows = rows
        self._model = model
        self._system = system
        self._answer = answer
        self._params = params
        self._concurrency = max(1, concurrency)
        self._policy = policy
        self._rate_limit_retries = RATE_LIMIT_RETRIES if policy.max_retries else 0
        self._prices = prices
        self._spending = spending if spending is not None else Spending(max_cost)
        self._answer_bound = answer_bound(params)
        self._gate = gate if gate is not None else BackoffGate(self._concurrency)
        self._stored = stored
        self._results = results
        self._stream = stream
        self.lanes = lanes
        self._served = served
        self.recent: dict[str, deque[ChatResult]] = {}
        """The last live answers of each served id (what ``core.provider_log`` measures)."""
        self._workers: list[asyncio.Task[None]] = []
        self._queue: RowQueue | None = None
        self.tally = tally
        self.values = values
        self.errors = errors
        self.stop: str | None = None
        self.stop_detail = ""
        self.fatal: AimoError | None = None

    async def run(self, client: ChatClient, positions: Sequence[int]) -> None:
        """Ask the rows at ``positions``; returns when all are done or the batch stopped.

        Rows with a stored answer are answered from it without a request; live answers
        are stored as they come, and whatever is still pending is written at the end,
        however the run ends.
        """
        self._client = client
        width = self.lanes.capacity if self.lanes is not None else self._concurrency
        queue = RowQueue(positions, self._stored, self._messages, self._answered, 4 * width)
        self._queue = queue
        count = min(width, max(len(positions), 1))
        self._workers = [asyncio.create_task(self._worker(queue)) for _ in range(count)]
        if queue.needs_filling:
            self._workers.append(asyncio.create_task(queue.fill()))
        try:
            outcomes = await asyncio.gather(*self._workers, return_exceptions=True)
        except asyncio.CancelledError:
            for worker in self._workers:
                worker.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            await self._flush()
            raise
        await self._flush()
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome

    async def _flush(self) -> None:
        if self._stored is not None:
            await self._stored.flush()

    async def _worker(self, queue: RowQueue) -> None:
        while self.stop is None:
            row = await queue.next()
            if row is None:
                return
            await self._row(row)

    def _messages(self, position: int) -> list[dict[str, Any]]:
        return messages_for(self._system, self._rows.prompt(position))

    async def _row(self, row: QueuedRow) -> None:
        """Send one row; its messages are the ones its cache lookup made, if it had one."""
        position = row.position
        try:
            messages = row.messages if row.messages is not None else self._messages(position)
        except Exception as exc:  # a format spec that does not fit this row's value
            self._failed(position, type(exc).__name__, error_words(exc))
            return
        reserve = self._reserve(messages)
        if reserve is None:
            return
        spending = self._spending
        spending.reserved += reserve
        try:
            result = await self._ask(messages)
        except BudgetError as error:  # nothing was sent; the row waits for a run with room
            self._stop_at_budget(error)
            return
        except AimoError as error:
            if is_fatal(error):
                self.abort(error)
            else:
                self._failed(position, type(error).__name__, error_words(error))
            return
        finally:
            spending.reserved -= reserve
        # An answer that does not parse is not stored: running the batch again asks anew.
        if self._answered(position, result) and self._stored is not None:
            await self._stored.remember(messages, result, row.key)

    def _reserve(self, messages: list[dict[str, Any]]) -> Listed | None:
        """The row's guessed cost, or None (and the batch stops) if it would pass max_cost."""
        spending = self._spending
        if spending.limit is None or self._prices is None:
            return NOTHING
        tally = self.tally
        answer = self._answer_bound
        if answer is None:
            paid = tally.answered - tally.cached
            answer = round(tally.completion_tokens / paid) if paid else DEFAULT_ANSWER_TOKENS
        guess = self._prices.guess(estimate_prompt_tokens(messages), answer)
        if spending.would_pass(guess, self._prices.basis):
            if self.stop is None:
                self.stop = STOP_MAX_COST
                self.stop_detail = spending.detail(self._prices.basis)
            return None
        return guess

    def _stop_at_budget(self, error: BudgetError) -> None:
        """The session's budget refused a row: send no more (the rows in flight finish)."""
        if self.stop is None:
            self.stop, self.stop_detail = STOP_BUDGET, error_words(error)

    async def _ask(self, messages: list[dict[str, Any]]) -> ChatResult:
        """One row's answer, retried by the client's rules; 429s wait at the shared gate."""
        if self.lanes is not None:
            return await self._ask_spread(self.lanes, messages)
        gate, tally = self._gate, self.tally
        transient = rate_limited = 0
        while True:
            await gate.acquire()
            tally.in_flight += 1
            tally.sent += 1
            succeeded = False
            try:
                assert self._client is not None
                result = await self._send(self._client, messages, self._model)
                succeeded = True
                return result
            except BudgetError:
                tally.sent -= 1  # refused before sending
                raise
            except AimoError as error:
                if is_fatal(error) or not is_retryable(error):
                    raise
                if isinstance(error, RateLimitError) and error.status == 429:
                    if rate_limited >= self._rate_limit_retries:
                        raise
                    rate_limited += 1
                    gate.rate_limited(self._policy.delay(rate_limited, error.retry_headers))
                    delay = 0.0
                else:
                    if transient >= self._policy.max_retries:
                        raise
                    transient += 1
                    delay = self._policy.delay(transient, error.retry_headers)
            finally:
                tally.in_flight -= 1
                gate.release(succeeded)
            if delay:
                await asyncio.sleep(delay)

    async def _ask_spread(self, lanes: ProviderLanes, messages: list[dict[str, Any]]) -> ChatResult:
        """``_ask`` over providers: each try goes to the preferred provider with room; a
        429 pauses only the provider that gave it, and the row tries again wherever there
        is room (a failed try costs nothing: AiMo charges answers only)."""
        tally = self.tally
        transient = rate_limited = 0
        while True:
            lane = await lanes.acquire()
            tally.in_flight += 1
            tally.sent += 1
            succeeded = False
            try:
                assert self._client is not None
                client = lane.client if lane.client is not None else self._client
                result = await self._send(client, messages, lane.model_id)
                succeeded = True
                return result
            except BudgetError:
                tally.sent -= 1
                raise
            except AimoError as error:
                if is_fatal(error) or not is_retryable(error):
                    raise
                delay = 0.0
                if isinstance(error, RateLimitError) and error.status == 429:
                    if rate_limited >= self._rate_limit_retries * len(lanes.lanes):
                        raise
                    rate_limited += 1
                    lanes.rate_limited(lane, self._policy.delay(1, error.retry_headers))
                else:
                    if transient >= self._policy.max_retries:
                        raise
                    transient += 1
                    delay = self._policy.delay(transient, error.retry_headers)
            finally:
                tally.in_flight -= 1
                lanes.release(lane, succeeded)
            if delay:
                await asyncio.sleep(delay)

    async def _send(
        self, client: ChatClient, messages: list[dict[str, Any]], model: str
    ) -> ChatResult:
        if not self._stream:
            answer: ChatResult = await client.chat(messages, model=model, **self._params)
            return answer
        async with client.stream(messages, model=model, **self._params) as stream:
            streamed: ChatResult = await stream.until_done()
            return streamed

    def _answered(self, position: int, result: ChatResult) -> bool:
        """Count the answer and keep its value; False when it does not parse (a row error)."""
        tally = self.tally
        hit = result.cached_at is not None
        if hit:
            tally.cached += 1
            tally.recorded += result.recorded_in is not None
        self._count(result, hit)
        try:
            value = self._answer.parse(result.text)
        except AnswerFormatError as exc:
            self._failed(position, type(exc).__name__, str(exc))
            return False
        self.values[position] = value
        if self._results is not None:
            self._results[position] = result
        if self._served is not None:
            self._served[position] = result.model
        if not hit:
            recent = self.recent.get(result.model)
            if recent is None:
                recent = self.recent[result.model] = deque(maxlen=KEEP)
            recent.append(result)
        tally.answered += 1
        return True

    def _count(self, result: ChatResult, hit: bool) -> None:
        """Tokens and cost of a live answer; for a cache hit, only what it saved."""
        tally, usage = self.tally, result.usage
        cost = self._prices.spent(result.model, usage) if self._prices else None
        row = tally.by_model.setdefault(result.model, ServedCount())
        if hit:
            row.hits += 1
            row.replayed += result.recorded_in is not None
            row.saved += cost or NOTHING
            return
        if usage is not None:
            tally.prompt_tokens += usage.prompt_tokens
            tally.completion_tokens += usage.completion_tokens
            row.prompt_tokens += usage.prompt_tokens
            row.completion_tokens += usage.completion_tokens
        if cost is None:
            tally.cost_known = False
        else:
            tally.cost += cost
            self._spending.spent += cost
            row.cost += cost
        row.calls += 1

    def _failed(self, position: int, kind: str, message: str) -> None:
        self.errors.append(RowError(self._rows.label(position), kind, message))
        self.tally.failed += 1

    def abort(self, error: AimoError) -> None:
        """Stop everything: no more rows, and the requests in flight are cancelled (also
        called by whoever runs several engines together, when one meets such an error)."""
        if self.stop is None or self.stop == STOP_MAX_COST:
            self.stop, self.fatal, self.stop_detail = STOP_FATAL, error, error_words(error)
        current = asyncio.current_task()
        for worker in self._workers:
            if worker is not current:
                worker.cancel()
