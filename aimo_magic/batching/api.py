"""``aimo_magic.batch`` and ``aimo_magic.Batch``: one template asked of every row.

Everything that can be refused is refused in the constructor or before the first
request (a placeholder naming no field, a bad option, no key, an unknown model,
``max_cost`` without prices), so a mistake never costs 5,000 requests.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimo_magic.batching.answers import AnswerFormat, union_columns
from aimo_magic.batching.costs import PriceBook, answer_bound, total_prompt_tokens
from aimo_magic.batching.engine import Engine
from aimo_magic.batching.estimate import Estimate, estimate
from aimo_magic.batching.outcome import (
    STOP_FATAL,
    STOP_INTERRUPTED,
    BatchError,
    BatchInterrupted,
    RowError,
    ServedCount,
    Tally,
    summary_line,
)
from aimo_magic.batching.progress import Progress, wanted
from aimo_magic.batching.rows import Rows, is_dask, messages_for
from aimo_magic.batching.runner import run_blocking
from aimo_magic.batching.template import Template
from aimo_magic.core.errors import AimoError
from aimo_magic.core.resolution import WILDCARD
from aimo_magic.core.types import Usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aimo_magic.batching.provider_lanes import ProviderLanes
    from aimo_magic.batching.stored import StoredAnswers
    from aimo_magic.core.cache import AnswerCache
    from aimo_magic.core.resolution import Resolution
    from aimo_magic.core.types import Model
    from aimo_magic.core.usage import UsageLedger
    from aimo_magic.session import AimoSession

ON_ERROR = ("keep", "raise")


def check_options(concurrency: Any, on_error: Any, max_cost: Any) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number of 1 or more, not {concurrency!r}.")
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'keep' or 'raise', not {on_error!r}.")
    if max_cost is not None and (
        isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)) or max_cost < 0
    ):
        raise ValueError(f"max_cost must be a number of 0 or more (or None), not {max_cost!r}.")


class Batch:
    """A prompt template asked of every row of ``data``, concurrently, resumably.

    ``Batch(template, data, *, model=None, system=None, concurrency=16, format="text",
    schema=None, on_error="keep", max_cost=None, cache=True, progress=None,
    client=None, resolution=None, price_unit=None, **params)``; ``params`` are API parameters
    (``temperature=0.2``, ``max_tokens=200``...). Where the requests go is resolved by
    ``core.resolution``: from ``model=`` and ``client=``, then the notebook's session,
    then the environment; a front end that resolved it already passes ``resolution=``
    (then ``model=`` and ``client=`` are not used). ``price_unit`` says how listed prices
    are read (``core.pricing``; default: the session's, else inferred); ``max_cost``, the
    estimate and ``.cost`` are in that unit. ``.estimate()`` sends nothing;
    ``.run()`` returns the values shaped like ``data``; afterwards ``.errors``,
    ``.usage``, ``.cost``, ``.elapsed`` and ``.summary`` describe the run. Running it
    again sends only the rows that have no value yet.
    """

    def __init__(
        self,
        template: str,
        data: Any,
        *,
        model: str | None = None,
        system: str | None = None,
        concurrency: int = 16,
        format: str = "text",
        schema: Any = None,
        on_error: str = "keep",
        max_cost: float | None = None,
        cache: Any = True,
        progress: bool | None = None,
        client: Any = None,
        resolution: Resolution | None = None,
        price_unit: str | None = None,
        providers: str | Sequence[str] | None = None,
        route: str | None = None,
        **params: Any,
    ) -> None:
        check_options(concurrency, on_error, max_cost)
        if route is not None:
            from aimo_magic.core.routing import check_route

            check_route(route)
        if model is not None and model.endswith(WILDCARD):
            model, providers = model[: -len(WILDCARD)], providers or SPREAD_ALL
        self.providers = _provider_names(providers)
        self.route = route
        if price_unit is not None:
            from aimo_magic.core.pricing import check_price_unit

            price_unit = check_price_unit(price_unit)
        self.price_unit = price_unit
        self.template = Template(template)
        self.answer = AnswerFormat(format, schema)
        self.model = resolution.model_id if resolution is not None else model
        self._resolution = resolution
        self.system = system
        self.concurrency = concurrency
        self.on_error = on_error
        self.max_cost = max_cost
        self.cache = cache
        self.progress = progress
        self.params = self.answer.params(params)
        self._client = client
        self._data = data
        self._dask = is_dask(data)
        if self._dask:
            from aimo_magic.batching.on_dask import check_dask

            check_dask(data, self.template, self.answer, client=client, max_cost=max_cost)
            self.rows: Rows | None = None
            total = 0
        else:
            self.rows = Rows(data)
            self.rows.bind(self.template)
            total = len(self.rows)
        self._values: list[Any] = [None] * total
        self.tally = Tally(total)
        self.values: Any = None
        self.errors: list[RowError] = []
        self.elapsed: float | None = None
        self.summary = ""
        self.stopped: str | None = None
        self._served: list[str | None] = [None] * total
        self.by_provider: dict[str, ServedCount] = {}
        """After a run: its live answers and cache hits per provider (``model · provider``)."""
        self._catalogue: list[Model] = []
        self._owned_store: AnswerCache | None = None
        self.announce = True
        """Print the summary line after a run (a front end that shows it itself turns it off)."""

    def __repr__(self) -> str:
        size = "dask" if self._dask else f"{self.tally.total:,} rows"
        return f"Batch({self.template.text!r}, {size}, model={self.model!r})"

    # After a run --------------------------------------------------------------
    @property
    def usage(self) -> Usage:
        t = self.tally
        return Usage(t.prompt_tokens, t.completion_tokens, t.prompt_tokens + t.completion_tokens)

    @property
    def cost(self) -> float | None:
        """Estimated spend at the listed prices, in ``cost_unit`` (None when unknown)."""
        return self.tally.shown_cost if self.tally.cost_known else None

    @property
    def usage_by_provider(self) -> dict[str, Usage]:
        """The last run's live tokens per provider that answered (``model · provider``)."""
        return {
            name: Usage(c.prompt_tokens, c.completion_tokens, c.prompt_tokens + c.completion_tokens)
            for name, c in self.by_provider.items()
            if c.calls
        }

    @property
    def cost_by_provider(self) -> dict[str, float | None]:
        """The last run's spend per provider, in ``cost_unit`` (None when unknown)."""
        known = self.tally.cost_known
        basis = self.tally.basis
        return {
            name: c.cost.amount(basis) if known else None
            for name, c in self.by_provider.items()
            if c.calls
        }

    @property
    def details(self) -> Any:
        """One entry per row: its label, the id that answered it (``provider`` names the
        provider for a pinned id), whether it came from the cache, and its error; a
        pandas DataFrame on the data's index for pandas data, else a list of dicts."""
        from aimo_magic.batching.details import row_details

        assert self.rows is not None
        return row_details(self.rows, self._served, self._values, self.errors, self._catalogue)

    @property
    def cost_unit(self) -> str:
        """What ``cost`` is counted in: ``USD``, or ``listed price units`` when the
        prices' unit is not known (``price_unit``)."""
        return self.tally.basis.currency

    # Estimate -----------------------------------------------------------------
    def estimate(self) -> Estimate:
        """Rows, prompt tokens and a cost range; reads the model list, sends no chat request."""
        where, _ = self._destination()
        model = where.model_id or ""
        prices = price_book(where, model)
        if self._dask:
            from aimo_magic.batching.on_dask import count_prompt_tokens

            count, tokens = count_prompt_tokens(self._data, self.template, self.system)
        else:
            rows = self.rows
            assert rows is not None
            count, tokens = len(rows), total_prompt_tokens(rows, self.system)
        return estimate(model, count, tokens, prices, answer_bound(self.params))

    def _destination(self) -> tuple[Resolution, AimoSession | None]:
        """Where the rows go, and the notebook session whose usage and cache they share
        (none with an explicit ``client=``, whose settings are used as they are)."""
        from aimo_magic.core.resolution import Choices, resolve
        from aimo_magic.session import current_session

        session = None if self._client is not None else current_session()
        if self._resolution is not None:
            return self._resolution, session
        given = Choices(model=self.model, price_unit=self.price_unit, route=self.route)
        return resolve(given, session, client=self._client), session

    # Run ------------------------------------------------------------------------
    def run(self) -> Any:
        """Ask every row that has no value yet; returns the values shaped like the input.

        For dask data this returns the lazy result: nothing is sent until it is computed.
        """
        if self._dask:
            from aimo_magic.batching.on_dask import lazy_result

            return lazy_result(self._data, self.answer, self._partition_job())
        run = self._prepare()
        progress = Progress(self.tally, wanted(self.progress))
        started = time.perf_counter()
        try:
            run_blocking(lambda: self._drive(run), progress.update)
        except KeyboardInterrupt:
            run.engine.stop = run.engine.stop or STOP_INTERRUPTED
            progress.close()
            self._finish(run, started)
            raise BatchInterrupted(self.summary, self.values) from None
        except BaseException:
            progress.close()
            raise
        progress.close()
        return self._conclude(run, started)

    async def arun(self) -> Any:
        """``run()`` for async code: the engine runs on the caller's event loop."""
        import asyncio

        if self._dask:
            return self.run()
        run = self._prepare()
        progress = Progress(self.tally, wanted(self.progress))
        started = time.perf_counter()
        ticker = asyncio.create_task(_tick(progress))
        try:
            await self._drive(run)
        except asyncio.CancelledError:
            run.engine.stop = run.engine.stop or STOP_INTERRUPTED
            self._finish(run, started)
            raise
        finally:
            ticker.cancel()
            progress.close()
        return self._conclude(run, started)

    def _partition_job(self) -> PartitionJob:
        """What each dask partition runs: this batch's options, never its client or key.

        The model is resolved here (argument, session default, alias, AIMO_MODEL) when
        it can be; otherwise each worker's AIMO_MODEL decides.
        """
        from aimo_magic.core.resolution import Choices, resolve
        from aimo_magic.session import current_session

        try:
            where = resolve(Choices(model=self.model), current_session(), for_request=False)
            model: str | None = where.model_id
        except AimoError:
            model = None
        params = dict(self.params)
        if self.answer.schema is not None:
            params.pop("response_format", None)  # each partition's Batch adds it again
        return PartitionJob(
            template=self.template.text,
            model=model,
            system=self.system,
            concurrency=self.concurrency,
            schema=self.answer.model_class or self.answer.schema,
            json=self.answer.json,
            on_error=self.on_error,
            cache=cache_location(self.cache),
            params=params,
            providers=self.providers,
            route=self.route,
        )

    def _prepare(self) -> _Run:
        """Everything refused before sending: no key, unknown model, max_cost without
        prices, a row larger than the model's listed context."""
        from aimo_magic.batching.fit import refuse_rows_too_large

        where, session = self._destination()
        model = where.model_id or ""
        where.require_key()
        listed = listed_models(where)
        prices = price_book(where, model, listed)
        if self.max_cost is not None and not prices.known:
            raise ValueError(
                f"max_cost needs prices, and the catalogue lists none for {model!r}; "
                "drop max_cost or pick a model with listed prices (`%aimo models`)."
            )
        assert self.rows is not None
        waiting = [i for i, value in enumerate(self._values) if value is None]
        refuse_rows_too_large(self.rows, self.system, where.model, listed, waiting)
        self.errors = []
        tally = self.tally
        tally.failed = 0
        tally.by_model = {}
        tally.basis = prices.basis
        self.stopped = None
        self._catalogue = listed
        lanes = self._lanes(where, listed, waiting)
        if lanes is None and where.routes and waiting:
            sample = messages_for(self.system, self.rows.prompt(waiting[0]))
            model = where.routed(sample, self.params).model_id or model
        engine = Engine(
            self.rows,
            stored=self._stored(where, session),
            lanes=lanes,
            served=self._served,
            model=model,
            system=self.system,
            answer=self.answer,
            params=self.params,
            concurrency=self.concurrency,
            policy=retry_policy(where),
            prices=prices,
            max_cost=self.max_cost,
            tally=tally,
            values=self._values,
            errors=self.errors,
        )
        return _Run(engine, where, session)

    def _lanes(
        self, where: Resolution, listed: list[Model], waiting: list[int]
    ) -> ProviderLanes | None:
        """The providers the rows spread over (``providers=``, ``model="NAME@*"``), in the
        route's order of preference; None for a batch on one model id."""
        if self.providers is None:
            return None
        from aimo_magic.batching.provider_lanes import ProviderLanes
        from aimo_magic.core.catalogue import readable_id

        ids = spread_ids(where, listed, self.providers)
        route = self.route or where.route
        if route != "auto" and waiting:
            ids = _in_route_order(where, listed, ids, route, self._sample(waiting[0]))
        named = [(i, readable_id(listed, i)) for i in ids]
        return ProviderLanes.of(named, self.concurrency, fill_in_order=route != "auto")

    def _sample(self, position: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        assert self.rows is not None
        return messages_for(self.system, self.rows.prompt(position)), self.params

    def _stored(self, where: Resolution, session: AimoSession | None) -> StoredAnswers | None:
        """The answer cache's part in this run (None with ``cache=False``)."""
        from aimo_magic.batching.stored import StoredAnswers, open_store, report_unusable

        store, owned = open_store(self.cache, where, session)
        self._owned_store = store if owned else None
        if store is None:
            return None
        return StoredAnswers(
            store,
            base_url=where.settings.base_url,
            model=where.model_id or "",
            params=self.params,
            api_key=where.settings.api_key,
            on_unusable=lambda exc: report_unusable(exc, session),
        )

    async def _drive(self, run: _Run) -> None:
        from aimo_magic.core.clients import new_async_client

        positions = [i for i, value in enumerate(self._values) if value is None]
        # Retries are the engine's (shared backoff for 429s), so the client makes one try.
        client = new_async_client(run.where.settings, max_retries=0, catalogue=run.where.catalogue)
        # A spread batch gives each provider a client of its own: a connection pool the
        # size of its window, which httpcore scans on every request (one pool of all the
        # windows together costs that much more per request).
        spread = run.engine.lanes.lanes if run.engine.lanes is not None else []
        for lane in spread:
            lane.client = new_async_client(
                run.where.settings, max_retries=0, catalogue=run.where.catalogue
            )
        try:
            await run.engine.run(client, positions)
        finally:
            await client.aclose()
            for lane in spread:
                if lane.client is not None:
                    await lane.client.aclose()
                    lane.client = None
            if self._owned_store is not None:
                self._owned_store.close()
                self._owned_store = None

    def _finish(self, run: _Run, started: float) -> None:
        """Shape the values, write the summary, and give the usage to ``%aimo usage``."""
        engine = run.engine
        self.elapsed = time.perf_counter() - started
        self.stopped = engine.stop
        assert self.rows is not None
        values = self._values
        columns = self.answer.columns or (union_columns(values) if self.answer.json else None)
        self.values = self.rows.shape(values, columns, self.answer.dtypes)
        self.summary = summary_line(
            self.tally, self.errors, engine.stop, engine.stop_detail, self.elapsed
        )
        from aimo_magic.core.catalogue import readable_id

        self.by_provider = {
            readable_id(self._catalogue, served): count
            for served, count in self.tally.by_model.items()
        }
        if self.cache is not False and self.cache is not None:  # cache=False keeps nothing
            place = cache_location(self.cache)
            measure_answers(run.where, self._catalogue, engine, place)
        engine.recent.clear()
        if run.session is not None:
            record_usage(run.session.usage, self.tally)

    def _conclude(self, run: _Run, started: float) -> Any:
        engine = run.engine
        self._finish(run, started)
        fatal = engine.stop == STOP_FATAL and engine.fatal is not None
        raising = fatal or (self.errors and self.on_error == "raise")
        complete = not self.errors and engine.stop is None
        if self.announce and not raising and (not complete or wanted(self.progress)):
            print(self.summary, file=sys.stdout, flush=True)
        if fatal and engine.fatal is not None:
            raise BatchError(
                self.summary, values=self.values, errors=self.errors, cause=engine.fatal
            ) from engine.fatal
        if self.errors and self.on_error == "raise":
            raise BatchError(self.summary, values=self.values, errors=self.errors)
        return self.values


@dataclass(frozen=True)
class _Run:
    """One run's engine, where its requests go, and the session that counts them."""

    engine: Engine
    where: Resolution
    session: AimoSession | None


def measure_answers(
    where: Resolution, catalogue: list[Model], engine: Engine, place: Any = True
) -> None:
    """The run's last answers of each provider into the measurements ``route="fastest"``
    and ``%aimo providers`` read (``core.provider_log``), kept with the answer cache (so
    not for a batch with ``cache=False``): ``place`` is the store's file or folder, True
    for the session's or the default one."""
    from aimo_magic.core.provider_log import answer_outcome, log_at

    recent = [result for results in engine.recent.values() for result in results]
    if recent:
        outcomes = (answer_outcome(result, catalogue) for result in recent)
        directory = where.cache_dir if place is True else place
        log_at(directory).record(where.settings.base_url, outcomes)
    engine.recent.clear()


SPREAD_ALL = "*"
"""``providers="*"``: every provider of the batch's model (as ``model="NAME@*"``)."""


def _provider_names(providers: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if providers is None:
        return None
    if isinstance(providers, str):
        providers = [p for p in providers.split(",")]
    names = tuple(str(p).strip() for p in providers if str(p).strip())
    if not names:
        raise ValueError("providers must name at least one provider (or '*' for every one).")
    return names


def spread_ids(where: Resolution, listed: list[Model], names: Sequence[str]) -> list[str]:
    """The ``provider_pubkey:model`` ids of the providers named (their names, ids, or
    ``*`` for all) among those serving the batch's model; refuses one that does not."""
    from aimo_magic.core.catalogue import find_model
    from aimo_magic.core.errors import NotFoundError

    model_id = where.model_id or ""
    found = find_model(listed, model_id)
    if found is None or not found[0].providers:
        raise NotFoundError(
            f"{model_id!r} lists no providers here, so its rows cannot be spread over them",
            hint="See `%aimo models` (or Client.models()) for the models and their providers.",
        )
    offers = found[0].providers
    if SPREAD_ALL in names:
        return [o.id for o in offers]
    chosen: list[str] = []
    for name in names:
        match = [o.id for o in offers if name in (o.name, o.id, o.provider_id)]
        if not match:
            listed_names = ", ".join(o.name for o in offers)
            raise ValueError(
                f"providers: {name!r} does not serve {model_id} (its providers: {listed_names})."
            )
        chosen.extend(i for i in match if i not in chosen)
    return chosen


def _in_route_order(
    where: Resolution,
    listed: list[Model],
    ids: list[str],
    route: str,
    sample: tuple[list[dict[str, Any]], dict[str, Any]],
) -> list[str]:
    """``ids`` in the route's order for a row like the first: cheapest first, or fastest
    measured first (``core.routing``)."""
    from aimo_magic.core.pricing import price_basis
    from aimo_magic.core.provider_log import log_at
    from aimo_magic.core.routing import RequestSize, plan_route

    hops = plan_route(
        where.model_id or "",
        listed,
        RequestSize.of(*sample),
        route=route,
        fallback=[],
        measured=log_at(where.cache_dir) if route == "fastest" else None,
        base_url=where.settings.base_url,
        basis=price_basis(where.settings.price_unit, listed),
    )
    order = [hop.model_id for hop in hops if hop.model_id in ids]
    return order + [i for i in ids if i not in order]


def price_book(where: Resolution, model: str, models: list[Model] | None = None) -> PriceBook:
    """The batch model's prices, read in the resolution's ``price_unit`` (inferred from
    this same model list when ``auto``); ``models`` is the list if read already."""
    from aimo_magic.core.pricing import price_basis

    if models is None:
        models = listed_models(where)
    return PriceBook(models, model, price_basis(where.settings.price_unit, models))


def listed_models(where: Resolution) -> list[Model]:
    """The model list, for prices. A server that lists no models (no ``/v1/models``, or
    one that fails) gets the batch anyway, unchecked and without prices; one that cannot
    be reached at all is an error, since every row would fail the same way."""
    from aimo_magic.core.errors import APIConnectionError

    try:
        return where.models()
    except APIConnectionError:
        raise
    except AimoError:
        return []


@dataclass(frozen=True)
class PartitionJob:
    """One dask partition's batch: picklable, and holding nothing secret."""

    template: str
    model: str | None
    system: str | None
    concurrency: int
    schema: Any
    json: bool
    on_error: str
    cache: Any
    params: dict[str, Any] = field(default_factory=dict)
    providers: tuple[str, ...] | None = None
    route: str | None = None

    def __call__(self, part: Any) -> Any:
        """Each partition spreads its rows as the whole would (``providers``, ``route``)."""
        return Batch(
            self.template,
            part,
            model=self.model,
            providers=self.providers,
            route=self.route,
            system=self.system,
            concurrency=self.concurrency,
            format="json" if self.json else "text",
            schema=self.schema,
            on_error=self.on_error,
            cache=self.cache,
            progress=False,
            **self.params,
        ).run()


def record_usage(ledger: UsageLedger, tally: Tally) -> None:
    """This run's answers and cache hits into the session's ``%aimo usage`` (and its
    ``by_model`` emptied, so that a later run counts only its own)."""
    known = tally.cost_known
    for model, count in tally.by_model.items():
        if count.calls:
            prompt, completion = count.prompt_tokens, count.completion_tokens
            used = Usage(prompt, completion, prompt + completion)
            ledger.record(model, used, count.cost if known else None, calls=count.calls)
        if count.hits:
            saved = count.saved if known else None
            ledger.record_hit(model, saved, hits=count.hits, replayed=count.replayed)
    tally.by_model = {}


def retry_policy(where: Resolution) -> Any:
    from aimo_magic.core.retry import RetryPolicy

    settings = where.settings
    return RetryPolicy(max_retries=settings.max_retries, max_wait=settings.max_retry_wait)


async def _tick(progress: Progress) -> None:
    import asyncio

    while True:
        await asyncio.sleep(0.2)
        progress.update()


def batch(template: str, data: Any, **options: Any) -> Any:
    """Ask ``template`` of every row of ``data``; the values come back shaped like ``data``.

    The same arguments as :class:`Batch`; this is ``Batch(template, data, ...).run()``.
    A list gives a list, a pandas Series or DataFrame a Series on the same index (a
    DataFrame of fields with ``format="json"`` or a ``schema``), a dask collection a
    lazy one.
    """
    return Batch(template, data, **options).run()


def cache_location(cache: Any) -> Any:
    """What of ``cache`` may travel to dask workers: a flag or a path, never an object."""
    if isinstance(cache, (bool, str, Path)) or cache is None:
        return cache
    path = getattr(cache, "path", None)
    return str(path) if path is not None else bool(cache)
