"""``aimo_magic.evaluate``: one prompt template, several models, every row, scored.

``Evaluation(...)`` refuses what it can at once (the template against the rows, the
expected column, the scorer, the options); ``estimate()`` and ``run()`` resolve the
models (aliases, ``NAME@*``) and refuse the rest before the first request (no key, an
unknown model, ``max_cost`` without prices, a row too large for a model). The answers
are asked on the batch engine (``evaluation.lanes``); scoring happens afterwards, from
the answers kept, so ``rescore`` changes a scorer without asking again.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from aimo_magic.batching.answers import AnswerFormat
from aimo_magic.batching.api import check_options, listed_models, record_usage, retry_policy
from aimo_magic.batching.costs import PriceBook, answer_bound
from aimo_magic.batching.estimate import estimate as batch_estimate
from aimo_magic.batching.gate import BackoffGate
from aimo_magic.batching.outcome import (
    STOP_BUDGET,
    STOP_FATAL,
    STOP_INTERRUPTED,
    STOP_MAX_COST,
    Tally,
)
from aimo_magic.batching.progress import Progress, wanted
from aimo_magic.batching.rows import is_dask
from aimo_magic.batching.runner import run_blocking
from aimo_magic.batching.spending import Spending
from aimo_magic.batching.template import Template
from aimo_magic.core.errors import AimoError
from aimo_magic.core.pricing import UNKNOWN, PriceBasis, money
from aimo_magic.evaluation.cases import ByPosition, Cases
from aimo_magic.evaluation.estimate import EvaluationEstimate, ModelEstimate
from aimo_magic.evaluation.judge import (
    JUDGE_PARAMS,
    JUDGE_SCHEMA,
    JUDGE_TEMPLATE,
    Verdict,
    check_judge,
    judge_row,
    verdict_of,
)
from aimo_magic.evaluation.lanes import (
    Contender,
    Lane,
    Setup,
    engine_for,
    lane_engine,
    run_together,
    stops_everyone,
    stored_answers,
)
from aimo_magic.evaluation.scorers import NEEDS_EXPECTED, ScoreError, scorer_for
from aimo_magic.evaluation.tables import ANSWERED, FAILED, NOT_SENT, summarise, table_frame

if TYPE_CHECKING:
    from aimo_magic.batching.engine import Engine
    from aimo_magic.core.cache import AnswerCache
    from aimo_magic.core.resolution import Resolution
    from aimo_magic.core.types import ChatResult, Model
    from aimo_magic.evaluation.on_dask import PartitionEvaluation
    from aimo_magic.session import AimoSession

TEXT = AnswerFormat("text")
"""Answers are kept as the text that came: scorers read them (``json`` parses its own)."""
PairKey = tuple[int, int]
"""(lane, row position): one answer."""


class EvaluationError(AimoError):
    """An evaluation stopped by an error every request would meet (a key, a balance).

    The answers that came are kept: ``.table`` and ``.summary`` show them, and running
    again (once the cause is fixed) asks only the rest."""

    def __init__(self, detail: str, cause: AimoError) -> None:
        super().__init__(detail, hint=cause.hint)
        self.cause = cause


class EvaluationInterrupted(KeyboardInterrupt):
    """Ctrl-C or the stop button: requests in flight were cancelled, answers kept."""


class Evaluation:
    """One prompt template asked of every row by several models, and the answers scored.

    See ``aimo_magic.evaluate`` for the arguments. ``estimate()`` sends nothing;
    ``run()`` asks what is not answered yet and returns ``summary``; afterwards
    ``table``, ``summary``, ``plot()`` and ``best()`` read the answers, and ``report``
    is the last run's one-line account.
    """

    def __init__(
        self,
        template: str,
        data: Any,
        *,
        models: str | Iterable[str],
        expected: Any = None,
        score: Any = None,
        judge: str | None = None,
        rubric: str | None = None,
        repeats: int = 1,
        schema: Any = None,
        choices: Sequence[str] | None = None,
        system: str | None = None,
        max_cost: float | None = None,
        concurrency: int = 16,
        cache: Any = True,
        stream: bool = True,
        progress: bool | None = None,
        seed: int = 0,
        route: str | None = None,
        max_price: float | None = None,
        resolutions: Sequence[Resolution] | None = None,
        **params: Any,
    ) -> None:
        from aimo_magic.core.resolution import split_models

        check_options(concurrency, "keep", max_cost)
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"repeats must be a whole number of 1 or more, not {repeats!r}.")
        check_judge(judge, rubric, score, score_given=score is not None)
        self.models = split_models(models) if resolutions is None else []
        if resolutions is None and not self.models:
            raise ValueError("models= names no model; give one or more ids or aliases.")
        self.template = Template(template)
        self.request_format = AnswerFormat("text", schema)
        self.params = self.request_format.params(params)
        self.expected = expected
        self.judge, self.rubric = judge, rubric
        self.repeats = repeats
        self.schema = schema
        self.choices = choices
        self.system = system
        self.max_cost = max_cost
        self.concurrency = concurrency
        self.cache = cache
        self.stream = stream
        self.progress = progress
        self.seed = seed
        if route is not None or max_price is not None:
            from aimo_magic.core.routing import check_max_price, check_route

            route = check_route(route) if route is not None else None
            max_price = check_max_price(max_price) if max_price is not None else None
        self.route, self.max_price = route, max_price
        self._resolutions = list(resolutions) if resolutions is not None else None
        self._data = data
        self._dask = is_dask(data)
        self._score = score if score is not None else "exact"
        if self._dask:
            from aimo_magic.evaluation.on_dask import check_dask_evaluation

            check_dask_evaluation(data, self.template, expected, max_cost)
            self.cases: Cases | None = None
        else:
            self.cases = Cases(data, self.template, expected)
        self._scorer = self._make_scorer(self._score)
        self._contenders: list[Contender] | None = None
        self._judge: Contender | None = None
        self._catalogue: list[Model] = []
        self._basis: PriceBasis = UNKNOWN
        """How listed prices are read (``core.pricing``): every cost shown is in it."""
        self._lanes: list[Lane] = []
        self._verdicts: dict[PairKey, Verdict | str] = {}
        self._judge_results: dict[PairKey, ChatResult] = {}
        self._judge_errors: dict[PairKey, str] = {}
        self._spending = Spending(max_cost)
        self._fatal: AimoError | None = None
        self._table: Any = None
        self._dask_table: Any = None
        self.elapsed: float | None = None
        self.stopped: str | None = None
        self.report = ""
        self.announce = True
        """Print ``report`` after a run (a front end that shows it itself turns it off)."""

    def __repr__(self) -> str:
        size = "dask" if self.cases is None else f"{len(self.cases):,} rows"
        models = self.models or [r.model_id or "" for r in self._resolutions or ()]
        return f"Evaluation({self.template.text!r}, {size}, models={models!r})"

    # Scoring ------------------------------------------------------------------------
    def _make_scorer(self, score: Any) -> Any:
        name = score.partition(":")[0] if isinstance(score, str) else None
        if self.judge is None and name in NEEDS_EXPECTED and self.expected is None:
            raise ScoreError(
                f"score={score!r} compares each answer with the expected one: give expected= "
                "(a column, a callable row -> value, or a list), or another scorer."
            )
        values: Callable[[], list[Any]] | None
        if self.cases is not None:
            values = self.cases.expected_values
        else:
            from aimo_magic.evaluation.on_dask import expected_values

            values = expected_values(self._data, self.expected)
        return scorer_for(score, schema=self.schema, choices=self.choices, expected_values=values)

    def rescore(self, score: Any) -> Any:
        """Score the answers kept with another scorer (nothing is asked); returns ``summary``."""
        if self.judge is not None:
            raise ValueError("This evaluation's scores are its judge's; make a new one to rescore.")
        self._scorer = self._make_scorer(score)
        self._score = score
        self._table = None
        return self.summary

    # Where the requests go ------------------------------------------------------------
    def _session(self) -> AimoSession | None:
        from aimo_magic.session import current_session

        return current_session()

    def _resolve(self) -> list[Contender]:
        """The contenders (aliases applied, ``NAME@*`` expanded, each id checked), once."""
        if self._contenders is not None:
            return self._contenders
        from aimo_magic.core.catalogue import readable_id
        from aimo_magic.core.pricing import price_basis
        from aimo_magic.core.resolution import Choices, resolve, resolve_many

        session = self._session()
        given = Choices(route=self.route, max_price=self.max_price)
        wheres = [
            self._routed(w) for w in self._resolutions or resolve_many(self.models, session, given)
        ]
        listed = listed_models(wheres[0])
        basis = price_basis(wheres[0].settings.price_unit, listed)
        total = len(self.cases) * self.repeats if self.cases is not None else 0

        def contender(where: Resolution, label: str | None = None) -> Contender:
            model_id = where.model_id or ""
            pinned = where.offer.name if where.offer is not None else None
            return Contender(
                where,
                label or readable_id(listed, model_id),
                pinned,
                PriceBook(listed, model_id, basis),
                Tally(total, basis=basis),
            )

        contenders = [contender(where) for where in wheres]
        labels = [c.label for c in contenders]
        if len(set(labels)) < len(labels):  # two ids that read the same: keep the ids
            contenders = [contender(w, w.model_id or "") for w in wheres]
        if self.judge is not None:
            judged = resolve(Choices(model=self.judge), session)
            self._judge = contender(judged, f"judge {readable_id(listed, judged.model_id or '')}")
        self._catalogue = listed
        self._basis = basis
        self._contenders = contenders
        if self.cases is not None:
            size = len(self.cases)
            self._lanes = [
                Lane.empty(c, repeat, size) for c in contenders for repeat in range(self.repeats)
            ]
        return contenders

    def _routed(self, where: Resolution) -> Resolution:
        """A routing name with ``route=`` or ``max_price=``: the provider the route picks
        for this evaluation's requests (sized by its first row), pinned for every row, so
        that its summary row says which provider was measured."""
        if not where.routes:
            return where
        prompt = self.cases.prompt(0) if self.cases is not None and len(self.cases) else ""
        return where.routed(_messages(self.system, prompt), self.params)

    @property
    def labels(self) -> list[str]:
        """The models' names in the summary, in the order given (after ``estimate``/``run``)."""
        return [c.label for c in self._contenders or ()]

    # Estimate -----------------------------------------------------------------------
    def estimate(self) -> EvaluationEstimate:
        """Requests, prompt tokens and a cost range per model (and the judge); reads the
        model list and the answer cache, sends no chat request."""
        from aimo_magic.core.tokens import estimate_prompt_tokens

        contenders = self._resolve()
        if self._dask:
            from aimo_magic.evaluation.on_dask import dask_estimate

            return dask_estimate(
                self._data,
                self.template,
                contenders,
                job=self._partition_job(contenders),
                judge=self._judge,
                params=self.params,
                max_cost=self.max_cost,
            )
        cases = self.cases
        assert cases is not None
        bound = answer_bound(self.params)
        known = self._known_answers()
        tokens = [
            estimate_prompt_tokens(_messages(self.system, cases.prompt(p)))
            for p in range(len(cases))
        ]
        parts = []
        pending: list[tuple[int, int]] = []
        for c in contenders:
            lanes = [(i, lane) for i, lane in enumerate(self._lanes) if lane.contender is c]
            todo = [(i, p) for i, lane in lanes for p in lane.waiting() if (i, p) not in known]
            answered = len(lanes) * len(cases) - len(todo)
            pending += [(i, p) for i, lane in lanes for p in range(len(cases))]
            sent = sum(tokens[p] for _, p in todo)
            parts.append(
                ModelEstimate(
                    c.label,
                    len(todo),
                    answered,
                    batch_estimate(c.model_id, len(todo), sent, c.prices, bound),
                )
            )
        return EvaluationEstimate(tuple(parts), self._judge_estimate(pending), self.max_cost)

    def _known_answers(self) -> set[PairKey]:
        """The (lane, row) answers the cache holds already, looked up without sending."""
        from aimo_magic.batching.stored import open_store

        where = self._resolve()[0].where
        store, owned = open_store(self.cache, where, self._session())
        if store is None:
            return set()
        try:
            setup = self._setup(store, BackoffGate(1))
            assert self.cases is not None
            cases = self.cases
            known: set[PairKey] = set()
            for index, lane in enumerate(self._lanes):
                stored = stored_answers(setup, lane.contender.where, self.params, lane.repeat)
                if stored is None:
                    continue
                hits, _ = stored.lookup_now(
                    lane.waiting(), lambda p: _messages(self.system, cases.prompt(p))
                )
                known.update((index, p) for p in hits)
            return known
        finally:
            if owned:
                store.close()

    def _judge_estimate(self, pairs: list[tuple[int, int]]) -> ModelEstimate | None:
        """The judge's part: one request per answer it has no verdict on, each answer
        taken as long as the answers may be (``max_tokens``, else the default bound)."""
        from aimo_magic.batching.costs import DEFAULT_ANSWER_TOKENS
        from aimo_magic.core.tokens import estimate_prompt_tokens

        judge, cases = self._judge, self.cases
        if judge is None or cases is None:
            return None
        todo = [pair for pair in pairs if not isinstance(self._verdicts.get(pair), Verdict)]
        answer = answer_bound(self.params) or DEFAULT_ANSWER_TOKENS
        template = Template(JUDGE_TEMPLATE)
        sent = 0
        for _, p in todo:
            fields = judge_row(self.rubric or "", cases.prompt(p), "", cases.expected(p))
            sent += estimate_prompt_tokens(_messages(None, template.fill(fields))) + answer
        bound = answer_bound(JUDGE_PARAMS)
        return ModelEstimate(
            judge.label,
            len(todo),
            len(pairs) - len(todo),
            batch_estimate(judge.model_id, len(todo), sent, judge.prices, bound),
        )

    # Run ----------------------------------------------------------------------------
    def run(self) -> Any:
        """Ask every row of every model that has no answer yet, then judge; returns ``summary``.

        A live bar per model shows the progress. Ctrl-C stops it (``EvaluationInterrupted``)
        keeping every answer that came; running again asks only the rest.
        """
        if self._dask:
            from aimo_magic.evaluation.on_dask import run_on_dask

            started = time.perf_counter()
            self._dask_table = run_on_dask(self._data, self._partition_job(self._resolve()))
            self.elapsed = time.perf_counter() - started
            self._table = None
            return self.summary
        contenders = self._resolve()
        where = contenders[0].where
        self._refuse_before_sending(contenders)
        from aimo_magic.batching.stored import open_store

        session = self._session()
        store, owned = open_store(self.cache, where, session)
        started = time.perf_counter()
        self.stopped = None
        stop_detail = ""
        try:
            setup = self._setup(store, BackoffGate(self.concurrency))
            runs = self._answer_runs(setup)
            stop_detail = self._drive(
                runs, [Progress(c.tally, self._bars(), c.label) for c in contenders]
            )
            if self.judge is not None and self.stopped is None:
                stop_detail = self._run_judge(setup)
        finally:
            if owned and store is not None:
                store.close()
            self._table = None
            self.elapsed = time.perf_counter() - started
            self._conclude(session, stop_detail)
        return self.summary

    def _partition_job(self, contenders: list[Contender]) -> PartitionEvaluation:
        """What each dask partition runs: this evaluation's options and resolved model ids,
        never its client or key."""
        from aimo_magic.batching.api import cache_location
        from aimo_magic.evaluation.on_dask import PartitionEvaluation
        from aimo_magic.evaluation.scorers import Choice

        params = dict(self.params)
        if self.schema is not None:
            params.pop("response_format", None)  # each partition's evaluation adds it again
        scorer = self._scorer
        return PartitionEvaluation(
            make=type(self),
            template=self.template.text,
            models=tuple(c.model_id for c in contenders),
            expected=self.expected,
            score=self._score if self.judge is None else None,
            judge=self._judge.model_id if self._judge is not None else None,
            rubric=self.rubric,
            repeats=self.repeats,
            schema=self.schema,
            choices=scorer.options if isinstance(scorer, Choice) else None,
            system=self.system,
            concurrency=self.concurrency,
            cache=cache_location(self.cache),
            stream=self.stream,
            seed=self.seed,
            params=params,
        )

    def _bars(self) -> bool:
        return wanted(self.progress)

    def _refuse_before_sending(self, contenders: list[Contender]) -> None:
        from aimo_magic.batching.fit import refuse_rows_too_large

        contenders[0].where.require_key()
        priced = contenders + ([self._judge] if self._judge is not None else [])
        unpriced = [c.label for c in priced if not c.prices.known]
        if self.max_cost is not None and unpriced:
            raise ValueError(
                f"max_cost needs prices, and the catalogue lists none for {', '.join(unpriced)}; "
                "drop max_cost or leave those models out (`%aimo models` lists prices)."
            )
        assert self.cases is not None
        for c in contenders:
            waiting = sorted(
                {p for lane in self._lanes if lane.contender is c for p in lane.waiting()}
            )
            refuse_rows_too_large(
                self.cases.rows, self.system, c.where.model, self._catalogue, waiting
            )

    def _setup(self, store: AnswerCache | None, gate: BackoffGate) -> Setup:
        where = self._resolve()[0].where
        return Setup(
            system=self.system,
            params=self.params,
            concurrency=self.concurrency,
            stream=self.stream,
            policy=retry_policy(where),
            gate=gate,
            spending=self._spending,
            store=store,
            session=self._session(),
        )

    def _answer_runs(self, setup: Setup) -> list[tuple[Engine, list[int]]]:
        assert self.cases is not None
        rows = ByPosition(self.cases.rows)
        for c in self._contenders or ():
            c.tally.failed = 0
            c.tally.by_model = {}
        return [(lane_engine(lane, rows, setup, TEXT), lane.waiting()) for lane in self._lanes]

    def _drive(self, runs: list[tuple[Engine, list[int]]], bars: list[Progress]) -> str:
        """Run the engines together; returns why they stopped (and sets ``stopped``)."""
        from aimo_magic.core.clients import new_async_client

        where = self._resolve()[0].where

        async def drive() -> None:
            # Retries are the engine's (shared backoff for 429s), so the client makes one try.
            client = new_async_client(where.settings, max_retries=0, catalogue=where.catalogue)
            try:
                await run_together(runs, client)
            finally:
                await client.aclose()

        def tick() -> None:
            for bar in bars:
                bar.update()

        try:
            run_blocking(drive, tick)
        except KeyboardInterrupt:
            self.stopped = STOP_INTERRUPTED
            raise
        finally:
            for bar in bars:
                bar.close()
        return self._stop_of([engine for engine, _ in runs])

    def _stop_of(self, engines: list[Engine]) -> str:
        fatal = next((e for e in engines if e.stop == STOP_FATAL and stops_everyone(e.fatal)), None)
        if fatal is not None:
            self.stopped = STOP_FATAL
            self._fatal = fatal.fatal
            return fatal.stop_detail
        capped = next((e for e in engines if e.stop == STOP_MAX_COST), None)
        if capped is not None:
            self.stopped = STOP_MAX_COST
            return capped.stop_detail
        return ""

    def _run_judge(self, setup: Setup) -> str:
        """Ask the judge about every answer it has no verdict on (one more engine run)."""
        from aimo_magic.batching.rows import Rows

        judge, cases = self._judge, self.cases
        assert judge is not None and cases is not None and self.rubric is not None
        pairs = [
            (index, p)
            for index, lane in enumerate(self._lanes)
            for p, value in enumerate(lane.values)
            if value is not None and not isinstance(self._verdicts.get((index, p)), Verdict)
        ]
        if not pairs:
            return ""
        rows = Rows(
            [
                judge_row(self.rubric, cases.prompt(p), self._lanes[i].values[p], cases.expected(p))
                for i, p in pairs
            ]
        )
        rows.bind(Template(JUDGE_TEMPLATE))
        answer = AnswerFormat("json", JUDGE_SCHEMA)
        params = answer.params(JUDGE_PARAMS)
        values: list[Any] = [None] * len(pairs)
        results: list[Any] = [None] * len(pairs)
        errors: list[Any] = []
        judge.tally = Tally(len(pairs), basis=self._basis)
        engine = engine_for(
            judge,
            ByPosition(rows),
            setup,
            answer=answer,
            params=params,
            outputs=(values, results, errors),
        )
        try:
            detail = self._drive(
                [(engine, list(range(len(pairs))))],
                [Progress(judge.tally, self._bars(), judge.label)],
            )
        finally:
            failed = {int(e.index): e for e in errors}
            for position, pair in enumerate(pairs):
                self._judge_errors.pop(pair, None)
                if values[position] is not None:
                    verdict = verdict_of(values[position])
                    self._judge_results[pair] = results[position]
                    if isinstance(verdict, Verdict):
                        self._verdicts[pair] = verdict
                    else:
                        self._judge_errors[pair] = verdict
                elif position in failed:
                    self._judge_errors[pair] = (
                        f"{failed[position].error}: {failed[position].message}"
                    )
        return detail

    def _conclude(self, session: AimoSession | None, stop_detail: str) -> None:
        """Usage into ``%aimo usage``, the one-line report, and an error that stopped all."""
        parts = list(self._contenders or ()) + ([self._judge] if self._judge else [])
        if session is not None:
            for c in parts:
                record_usage(session.usage, c.tally)
        self.report = self._report_line(stop_detail)
        if self.stopped == STOP_INTERRUPTED:
            raise EvaluationInterrupted(self.report)
        fatal = self._fatal
        if self.stopped == STOP_FATAL and fatal is not None:
            self._fatal = None
            raise EvaluationError(self.report, fatal) from fatal
        complete = self.stopped is None and not any(lane.errors for lane in self._lanes)
        if self.announce and (not complete or self._bars()):
            print(self.report, file=sys.stdout, flush=True)

    def _report_line(self, stop_detail: str) -> str:
        contenders = self._contenders or []
        total = sum(c.tally.total for c in contenders)
        answered = sum(c.tally.answered for c in contenders)
        cached = sum(c.tally.cached for c in contenders)
        failed = sum(len(lane.errors) for lane in self._lanes)
        size = len(self.cases) if self.cases is not None else 0
        shape = f"{size:,} rows × {len(contenders)} models" + (
            f" × {self.repeats} repeats" if self.repeats > 1 else ""
        )
        parts = [f"{answered:,} of {total:,} answers ({shape})"]
        if cached:
            parts[0] += f", {cached:,} from the cache"
        if failed:
            parts.append(f"{failed:,} failed")
        missing = total - answered - failed
        if missing:
            why = {
                STOP_MAX_COST: f"stopped at max_cost ({stop_detail})",
                STOP_BUDGET: f"stopped at the budget ({stop_detail})",
                STOP_FATAL: f"stopped: {stop_detail}",
                STOP_INTERRUPTED: "interrupted",
            }.get(self.stopped or "", "not sent")
            parts.append(f"{missing:,} not sent, {why}; run it again to resume them")
        if self._judge is not None:
            verdicts = sum(isinstance(v, Verdict) for v in self._verdicts.values())
            parts.append(f"{verdicts:,} verdicts from {self._judge.label.removeprefix('judge ')}")
        spent = self._spending.spent.amount(self._basis)
        if spent:
            parts.append(f"≈{money(spent, self._basis)} spent")
        if self.elapsed is not None:
            parts.append(f"{self.elapsed:.1f} s")
        return "; ".join(parts) + "."

    # Results ------------------------------------------------------------------------
    @property
    def table(self) -> Any:
        """One row per answer: the data row, the model, the answer and its score, status and
        error, cost, tokens, seconds to the first token and in all, provider, cache."""
        if self._table is None:
            self._table = self._dask_scored() if self._dask else self._build_table()
        return self._table

    def _build_table(self) -> Any:
        cases = self.cases
        assert cases is not None
        self._resolve()
        judged = self.judge is not None
        records = []
        for index, lane in enumerate(self._lanes):
            failures = lane.failures()
            c = lane.contender
            for p in range(len(cases)):
                records.append(self._record(index, lane, c, p, failures.get(p), cases, judged))
        return table_frame(records, judged)

    def _record(
        self, index: int, lane: Lane, c: Contender, p: int, failure: Any, cases: Cases, judged: bool
    ) -> dict[str, Any]:
        value, result = lane.values[p], lane.results[p]
        expected = cases.expected(p)
        status = ANSWERED if value is not None else FAILED if failure is not None else NOT_SENT
        record: dict[str, Any] = {
            "row": cases.label(p),
            "model": c.label,
            "repeat": lane.repeat,
            "answer": value,
            "expected": expected,
            "status": status,
            "error": f"{failure.error}: {failure.message}" if failure is not None else None,
            "provider": c.provider,
        }
        record["score"] = self._score_of(index, p, value, expected, cases, status, c.label)
        if result is not None:
            usage = result.usage
            cost = c.prices.spent(result.model, usage)
            record |= {
                "cost": math.nan if cost is None else c.prices.shown(cost),
                "prompt_tokens": usage.prompt_tokens if usage else None,
                "completion_tokens": usage.completion_tokens if usage else None,
                "tokens": usage.prompt_tokens + usage.completion_tokens if usage else None,
                "first_token": result.timings.first_token,
                "latency": result.timings.total,
                "provider": result.provider or c.provider,
                "served_model": result.model,
                "cached": result.cached_at is not None,
            }
        if judged:
            record |= self._judge_record((index, p))
        return record

    def _score_of(
        self, index: int, p: int, value: Any, expected: Any, cases: Cases, status: str, label: str
    ) -> float:
        if status == FAILED:
            return 0.0
        if status == NOT_SENT:
            return math.nan
        if self.judge is not None:
            verdict = self._verdicts.get((index, p))
            return verdict.score if isinstance(verdict, Verdict) else math.nan
        try:
            return float(self._scorer(value, expected, cases.row(p)))
        except ScoreError as exc:
            raise ScoreError(f"row {cases.label(p)!r} of {label}: {exc}") from None
        except Exception as exc:
            raise ScoreError(
                f"score={self._score!r} failed on row {cases.label(p)!r} of {label} "
                f"({type(exc).__name__}: {exc}); the answers are kept: fix it and call "
                "ev.rescore(...)."
            ) from exc

    def _judge_record(self, pair: PairKey) -> dict[str, Any]:
        judge = self._judge
        assert judge is not None
        verdict = self._verdicts.get(pair)
        error = self._judge_errors.get(pair)
        result = self._judge_results.get(pair)
        cost: float | None = math.nan
        if result is not None:
            spent = judge.prices.spent(result.model, result.usage)
            cost = None if spent is None else judge.prices.shown(spent)
        elif error is not None:
            cost = 0.0  # a judge request that failed, counted as every batch counts one
        return {
            "judge_reason": verdict.reason if isinstance(verdict, Verdict) else None,
            "judge_cost": math.nan if cost is None else cost,
            "judge_error": error,
        }

    def _dask_scored(self) -> Any:
        if self._dask_table is None:
            raise ValueError(
                "Nothing has run yet: call .run() (and .estimate() first for the cost)."
            )
        return self._dask_table

    @property
    def summary(self) -> Any:
        """One row per model (per provider for ``NAME@*``), sorted by score then cost; see
        ``evaluation.tables`` for what each column means."""
        table = self.table
        contenders = self._contenders or []
        return summarise(
            table,
            [c.label for c in contenders],
            model_ids={c.label: c.model_id for c in contenders},
            providers={c.label: c.provider for c in contenders},
            seed=self.seed,
            repeats=self.repeats,
            judged=self.judge is not None,
        )

    @property
    def judge_cost(self) -> float | None:
        """What the judge's verdicts cost in all (None without a judge; NaN when unpriced)."""
        if self.judge is None:
            return None
        summary = self.summary
        return float(summary["judge_cost"].sum(min_count=1)) if len(summary) else 0.0

    def best(self, min_score: float = 0.9) -> str | None:
        """The cheapest model (per row) whose mean score reaches ``min_score``: its id, as
        ``model=`` takes it; None when none does."""
        summary = self.summary
        fit = summary[(summary["score"] >= min_score) & summary["cost_per_row"].notna()]
        if fit.empty:
            return None
        chosen = fit.sort_values(["cost_per_row", "score"], ascending=[True, False], kind="stable")
        return str(chosen["model"].iloc[0])

    def plot(self, ax: Any = None) -> Any:
        """Cost per row against score, with the 95% intervals and the frontier (matplotlib,
        imported only now); returns the figure."""
        from aimo_magic.evaluation.plot import plot_summary

        return plot_summary(self.summary, ax=ax, unit=self._basis.currency)


def _messages(system: str | None, prompt: str) -> list[dict[str, Any]]:
    from aimo_magic.batching.rows import messages_for

    return messages_for(system, prompt)


def evaluate(
    template: str, data: Any, *, models: str | Iterable[str], **options: Any
) -> Evaluation:
    """Ask ``template`` of every row of ``data`` by every model of ``models``, and score it.

    ``models``: ids or aliases, a list or a comma-separated string; ``NAME@*`` is every
    provider of NAME (each gets its own summary row). ``expected``: a column, a callable
    ``row -> value``, or a list. ``score``: ``exact`` (the default), ``contains``,
    ``regex:PATTERN``, ``number[:TOL]``, ``json`` (against ``schema=``), ``choice[:A,B]``
    (options also from ``choices=``, else the expected values), or a callable
    ``(answer, expected, row) -> float | bool``. ``judge="MODEL"`` with ``rubric="..."``
    scores with a model instead. ``repeats=N`` asks each row N times (agreement in the
    summary). ``max_cost`` bounds every model's spend together, checked before each
    request; ``concurrency`` bounds every model's requests together; ``cache`` (on by
    default) makes a re-run send nothing. ``stream`` (on) measures the time to the first
    token. ``seed`` seeds the bootstrap. Other keywords are API parameters
    (``temperature=0``, ``max_tokens=20``). ``route`` (``cheapest``, ``fastest``) and
    ``max_price`` pick one provider of each routing name for all its rows (``NAME@*``
    measures every provider instead).

    Returns an unrun :class:`Evaluation`: ``.estimate()`` first, then ``.run()``.
    """
    return Evaluation(template, data, models=models, **options)
