"""One prompt to several models at once: concurrent streams, one result per model.

The streams are asyncio tasks on an event loop of their own, in a worker thread. That
works the same from plain Python and inside a Jupyter kernel (whose own loop already
runs in the main thread, so ``asyncio.run`` is not available there). The calling thread
receives what happens as events through a queue, in order: that is where a display is
updated, and where Ctrl-C arrives. ``cancel`` then stops every stream at once, even one
waiting for its next token, and keeps the text that had arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aimo_magic.core.catalogue import find_model
from aimo_magic.core.errors import AimoError, IncompleteStreamError
from aimo_magic.core.pricing import Listed, PriceBasis, answer_cost, price_basis
from aimo_magic.core.types import ChatResult, Model, Timings, Usage
from aimo_magic.core.workers import start_worker

if TYPE_CHECKING:
    from aimo_magic.core.async_client import AsyncClient
    from aimo_magic.core.base import RetryEvent
    from aimo_magic.core.config import Settings
    from aimo_magic.core.protocol import Messages

CANCEL_GRACE_S = 5.0
POLL_S = 0.1
Status = Literal["complete", "error", "interrupted"]


@dataclass(frozen=True)
class ComparedAnswer:
    """What one model said in a comparison, whole, partial or failed.

    ``model`` is the id that was asked; ``served_model`` the one that answered (a routing
    name is served by one provider's ``provider_pubkey:model_name``). ``error`` is a
    one-line message when ``status`` is ``"error"``; ``text`` then holds whatever arrived.
    ``cost`` is tokens times the serving provider's listed prices, when both are known,
    in ``cost_unit`` (``USD``, or ``listed price units`` when the prices' unit is not
    known: ``price_unit``); ``listed_cost`` is the same before any unit is applied.
    """

    model: str
    text: str
    status: Status
    usage: Usage | None = None
    timings: Timings | None = None
    provider: str | None = None
    served_model: str | None = None
    finish_reason: str | None = None
    cost: float | None = None
    error: str | None = None
    result: ChatResult | None = field(default=None, repr=False, compare=False)
    cost_unit: str | None = None
    listed_cost: Listed | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "complete"


@dataclass(frozen=True)
class Delta:
    """Text that arrived for the model at ``index``."""

    index: int
    text: str


@dataclass(frozen=True)
class Retrying:
    """The model at ``index`` is being asked again: forget its text so far."""

    index: int
    notice: str


@dataclass(frozen=True)
class Finished:
    """The model at ``index`` is done, one way or another."""

    index: int
    answer: ComparedAnswer


Event = Delta | Retrying | Finished


class CompareInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``compare()``: every stream was stopped; ``answers`` keeps what arrived."""

    def __init__(self, answers: dict[str, ComparedAnswer]) -> None:
        super().__init__("the comparison was stopped; .answers keeps what arrived")
        self.answers = answers


@dataclass
class _Progress:
    """One model's text and first-token time as seen by its task (for partial answers)."""

    parts: list[str] = field(default_factory=list)
    first_token: float | None = None


class Comparison:
    """Several answers streamed at once; the caller's thread reads ``events()``.

    ``settings`` (a resolution's, see ``core.resolution``) or else ``client_options``
    (``api_key``, ``base_url``, ``timeout``, ``max_retries``) say where the requests go.
    ``catalogue`` names providers and prices answers.
    """

    def __init__(
        self,
        messages: str | Messages,
        models: Sequence[str],
        params: dict[str, Any] | None = None,
        *,
        catalogue: Sequence[Model] | None = None,
        stream: bool = True,
        settings: Settings | None = None,
        **client_options: Any,
    ) -> None:
        if not models:
            raise ValueError("Name at least one model to compare.")
        self.messages = messages
        self.models = list(models)
        self.params = dict(params or {})
        self.catalogue = list(catalogue) if catalogue is not None else None
        self.stream = stream
        if settings is None:
            from aimo_magic.core.config import Settings

            settings = Settings.resolve(**client_options)
        self.settings = settings
        self.basis: PriceBasis = price_basis(settings.price_unit, self.catalogue)
        """How listed prices are read: the unit of every answer's ``cost``."""
        self.answers: dict[str, ComparedAnswer] = {}
        self._events: queue.SimpleQueue[Event | BaseException | None] = queue.SimpleQueue()
        self._progress = [_Progress() for _ in self.models]
        self._started = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._cancelled = False
        self._done = False

    # -- the caller's side -----------------------------------------------------------

    def start(self) -> Comparison:
        """Send every request now (in the worker thread); returns at once."""
        if self._thread is None:
            self._started = time.perf_counter()
            main = self._main()
            self._thread = threading.Thread(
                target=asyncio.run, args=(main,), name="aimo-compare", daemon=True
            )
            try:
                start_worker(self._thread, "Comparing models")
            except AimoError:
                main.close()
                raise
        return self

    def events(self, tick: float | None = None) -> Iterator[Event | None]:
        """What happens, in order, until every model has finished.

        With ``tick``, ``None`` is yielded whenever nothing happened for that many
        seconds, so a display can show text it held back.
        """
        self.start()
        # Waits are short even without a tick: Ctrl-C is only seen between them.
        wait = tick if tick is not None else POLL_S
        while not self._done:
            try:
                event = self._events.get(timeout=wait)
            except queue.Empty:
                if tick is not None:
                    yield None
                continue
            if event is None:
                self._done = True
                self._join(CANCEL_GRACE_S)
                return
            if isinstance(event, BaseException):
                self._done = True
                raise event
            if isinstance(event, Finished):
                self.answers[event.answer.model] = event.answer
            yield event

    def run(self) -> dict[str, ComparedAnswer]:
        """Wait for every answer; on Ctrl-C stop them all and raise ``CompareInterrupted``."""
        try:
            for _ in self.events():
                pass
        except KeyboardInterrupt:
            raise CompareInterrupted(self.cancel()) from None
        return self.ordered()

    def cancel(self, grace: float = CANCEL_GRACE_S) -> dict[str, ComparedAnswer]:
        """Stop every stream still running; their text so far becomes partial answers."""
        self._cancelled = True  # seen by a worker that has not made its tasks yet
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile: nothing runs
                loop.call_soon_threadsafe(self._cancel_tasks)
        self._join(grace)
        self._drain()
        for index, model in enumerate(self.models):
            if model not in self.answers:
                self.answers[model] = self._partial(index, "interrupted")
        self._done = True
        return self.ordered()

    def ordered(self) -> dict[str, ComparedAnswer]:
        """The answers in the order the models were given."""
        return {m: self.answers[m] for m in self.models if m in self.answers}

    def _join(self, timeout: float) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _drain(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, Finished):
                self.answers[event.answer.model] = event.answer

    # -- the worker's side -----------------------------------------------------------

    def _post(self, event: Event | BaseException | None) -> None:
        self._events.put(event)

    def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _main(self) -> None:
        from aimo_magic.core.clients import new_async_client

        self._loop = asyncio.get_running_loop()
        try:
            async with new_async_client(self.settings, catalogue=self.catalogue) as client:
                self._tasks = [
                    asyncio.create_task(self._ask(client, index))
                    for index in range(len(self.models))
                ]
                if self._cancelled:
                    self._cancel_tasks()
                await asyncio.gather(*self._tasks, return_exceptions=True)
        except BaseException as exc:  # reported to the caller's thread, never lost here
            self._post(exc)
        finally:
            self._post(None)

    async def _ask(self, client: AsyncClient, index: int) -> None:
        model = self.models[index]
        try:
            result = await self._answer(client, index)
        except asyncio.CancelledError:
            answer = self._partial(index, "interrupted")
        except AimoError as exc:
            if isinstance(exc, IncompleteStreamError) and exc.partial_text:
                self._progress[index].parts[:] = [exc.partial_text]
            answer = self._partial(index, "error", str(exc))
        except Exception as exc:  # one model's surprise must not end the others
            answer = self._partial(index, "error", f"{type(exc).__name__}: {exc}")
        else:
            answer = self._complete(model, result)
        self._post(Finished(index, answer))

    async def _answer(self, client: AsyncClient, index: int) -> ChatResult:
        model, progress = self.models[index], self._progress[index]

        def on_retry(event: RetryEvent) -> None:
            progress.parts.clear()
            progress.first_token = None
            self._post(
                Retrying(
                    index,
                    f"⟳ {event.reason}: retrying (attempt {event.attempt} of {event.max_retries})…",
                )
            )

        if not self.stream:
            result = await client.chat(self.messages, model=model, on_retry=on_retry, **self.params)
            self._delta(index, progress, result.text)
            return result
        # A stream that breaks after some text starts over: on_retry has cleared the pane
        # and said why by the time its StreamRestart arrives, so that is skipped.
        async with client.stream(
            self.messages, model=model, on_retry=on_retry, restart=True, **self.params
        ) as stream:
            async for delta in stream:
                if isinstance(delta, str):
                    self._delta(index, progress, delta)
            assert stream.result is not None
            return stream.result

    def _delta(self, index: int, progress: _Progress, text: str) -> None:
        if not text:
            return
        if progress.first_token is None:
            progress.first_token = time.perf_counter() - self._started
        progress.parts.append(text)
        self._post(Delta(index, text))

    # -- answers ---------------------------------------------------------------------

    def _complete(self, model: str, result: ChatResult) -> ComparedAnswer:
        from aimo_magic.core.image_parts import count_images

        offer = None
        found = find_model(self.catalogue or (), result.model)
        if found is not None:
            offer = found[1]
        messages = self.messages
        images = count_images(messages) if isinstance(messages, list) else 0
        cost = answer_cost(self.catalogue, model, result.model, result.usage, images=images)
        return ComparedAnswer(
            model=model,
            text=result.text,
            status="complete",
            usage=result.usage,
            timings=result.timings,
            provider=result.provider or (offer.name if offer else None),
            served_model=result.model,
            finish_reason=result.finish_reason,
            cost=cost.amount(self.basis) if cost is not None else None,
            result=result,
            cost_unit=self.basis.currency if cost is not None else None,
            listed_cost=cost,
        )

    def _partial(self, index: int, status: Status, error: str | None = None) -> ComparedAnswer:
        progress = self._progress[index]
        timings = Timings(progress.first_token, time.perf_counter() - self._started)
        offer = None
        found = find_model(self.catalogue or (), self.models[index])
        if found is not None:
            offer = found[1]
        return ComparedAnswer(
            model=self.models[index],
            text="".join(progress.parts),
            status=status,
            timings=timings,
            provider=offer.name if offer else None,
            error=error,
        )


def compare(
    prompt_or_messages: str | Messages,
    models: str | Iterable[str],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    stream: bool = True,
    route: str | None = None,
    max_price: float | None = None,
    price_unit: str | None = None,
    **params: Any,
) -> dict[str, ComparedAnswer]:
    """Ask several models the same thing at once and wait for every answer.

    ``models`` is a list or a comma-separated string; ``NAME@*`` stands for every
    provider of NAME. Any OpenAI chat parameter passes through in ``params``. Returns a
    dict from model id to :class:`ComparedAnswer` (text, usage, timings, provider, cost,
    error) in the order given. Images for a model the catalogue lists as text only, or a
    prompt larger than a model's listed context, raise ``DoesNotFit`` (a ValueError)
    before anything is sent. A model that fails does not stop the others: its answer
    has ``status == "error"`` and the one-line ``error``. Ctrl-C stops every stream and
    raises :class:`CompareInterrupted`, whose ``answers`` keep what had arrived.
    ``route`` (``"cheapest"``, ``"fastest"``) and ``max_price`` choose each model's
    provider for this prompt (``core.routing``); the answers are then keyed by the
    ``provider_pubkey:model`` id each was sent as, as ``NAME@*`` ones are.

    >>> answers = compare("Name a river.", "openai/gpt-4o,DeepSeek-V3-1")  # doctest: +SKIP
    >>> {model: a.text[:20] for model, a in answers.items()}               # doctest: +SKIP
    """
    from aimo_magic.core.notebooks import current_session
    from aimo_magic.core.resolution import Choices, resolve_many

    # The server decides about each model (an unknown one is that model's error answer).
    given = Choices(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        check_models=False,
        route=route,
        max_price=max_price,
        price_unit=price_unit,
    )
    destinations = resolve_many(models, current_session(), given)
    if any(where.routes for where in destinations):
        from aimo_magic.core.protocol import normalise_messages

        messages = normalise_messages(prompt_or_messages)
        destinations = [where.routed(messages, params) for where in destinations]
    try:
        catalogue: list[Model] | None = destinations[0].models()
    except AimoError:
        catalogue = None  # provider names and costs are then unknown, nothing worse
    ids = [where.model_id or "" for where in destinations]
    if catalogue is not None:  # images or a prompt some model cannot take: refused here
        from aimo_magic.core.model_fit import refuse_what_does_not_fit
        from aimo_magic.core.protocol import normalise_messages

        entries = [found[0] if (found := find_model(catalogue, i)) else None for i in ids]
        refuse_what_does_not_fit(entries, normalise_messages(prompt_or_messages), catalogue)
    return Comparison(
        prompt_or_messages,
        ids,
        params,
        catalogue=catalogue,
        stream=stream,
        settings=destinations[0].settings,
    ).run()
