"""Running a comparison and showing it: every model at once, one pane each.

The streams run in the core's ``Comparison`` (its own event loop, in a worker thread);
this thread turns its events into pane updates, so rendering stays on the kernel's main
thread and Ctrl-C arrives here, where it stops every stream and keeps what arrived.
Then the results are kept: usage counted per answer, ``-o`` as a dict from model id to
text, and the ``--keep`` answer (complete, or partial if interrupted) as the turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.failures import AnswerInterrupted, fail, interrupts_held, user_errors

if TYPE_CHECKING:
    from aimo_magic.conversation import Content
    from aimo_magic.core.comparison import ComparedAnswer, Comparison
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.cell_options import CellOptions
    from aimo_magic.magics.compare import CompareRequest, Contender
    from aimo_magic.rendering.compare_view import ComparePanes, TerminalPanes
    from aimo_magic.rendering.footer import FooterInfo
    from aimo_magic.rendering.sinks import DisplaySink, TerminalSink

INTERRUPTED = "the comparison was stopped; what arrived stays above, marked as interrupted."
ALL_FAILED = "Every compared model failed; each pane above says why."


def stored(answer: ComparedAnswer) -> bool:
    """Whether the answer came from the answer cache or an answer file (so was free)."""
    return answer.result is not None and answer.result.cached_at is not None


def charged(answer: ComparedAnswer) -> float | None:
    """What the answer cost: its estimate when asked live, none when it was stored."""
    return None if stored(answer) else answer.cost


def footer_for(contender: Contender, answer: ComparedAnswer, basis: PriceBasis) -> FooterInfo:
    """A pane's footer: model, provider, tokens, cost, first-token and total time; for
    a stored answer, where it came from instead of a cost."""
    from aimo_magic.magics.exchange import cache_notes
    from aimo_magic.rendering.footer import FooterInfo

    timings = answer.timings
    cost = charged(answer)
    return FooterInfo(
        model=contender.model.name if contender.model else contender.id,
        provider=answer.provider,
        usage=answer.usage,
        cost=cost,
        cost_basis=basis,
        first_token_s=timings.first_token if timings and not stored(answer) else None,
        total_s=timings.total if timings and not stored(answer) else None,
        notes=cache_notes(answer.result) if answer.result is not None else [],
    )


def summary(
    contenders: tuple[Contender, ...], answers: dict[str, ComparedAnswer], basis: PriceBasis
) -> str:
    """The line under the panes: cheapest first, then fastest first."""
    from aimo_magic.rendering.panes import Standing, summary_text

    standings = []
    for contender in contenders:
        answer = answers.get(contender.id)
        timings = answer.timings if answer else None
        standings.append(
            Standing(
                contender.title,
                answer is not None and answer.ok,
                cost=charged(answer) if answer else None,
                total_s=timings.total if timings else None,
            )
        )
    return summary_text(standings, basis=basis)


def answer_record(answer: ComparedAnswer) -> dict[str, Any]:
    """What the notebook's metadata keeps about one answer: provenance, not text."""
    return {
        "status": answer.status,
        "model": answer.served_model or answer.model,
        "provider": answer.provider,
        "usage": answer.usage.as_dict() if answer.usage else None,
        "finish_reason": answer.finish_reason,
        "error": answer.error,
    }


class CompareExchange:
    """One comparison on screen, from the first token of any model to the summary."""

    def __init__(
        self,
        ctx: AskContext,
        request: CompareRequest,
        *,
        sink: DisplaySink | TerminalSink | None = None,
    ) -> None:
        self.ctx = ctx
        self.request = request
        self.sink = sink
        self._finished: set[int] = set()
        self._basis: PriceBasis = ctx.session.price_basis

    def provenance(self, answers: dict[str, ComparedAnswer] | None = None) -> dict[str, Any]:
        first = self.request.first
        record: dict[str, Any] = {
            "models": self.request.ids,
            "params": first.param_dict(),
            "thread": first.thread if self.request.keep else None,
            "kept": self.request.keep,
        }
        if answers is not None:
            record["answers"] = {m: answer_record(a) for m, a in answers.items()}
        return {"aimo": record}

    def run(self) -> dict[str, str]:
        """Ask every model, show the answers as they come, keep what the options say.

        Returns (and stores under ``-o``) a dict from model id to answer text.
        """
        from aimo_magic.core.comparison import Comparison
        from aimo_magic.rendering.compare_view import compare_panes
        from aimo_magic.rendering.warmup import warm_up_in_background

        ctx, request = self.ctx, self.request
        first = request.first
        first.resolution.require_key()
        comparison = Comparison(
            first.message_list(),
            request.ids,
            first.param_dict(),
            catalogue=first.resolution.catalogue,
            stream=first.stream,
            settings=first.resolution.settings,
        )
        self._basis = comparison.basis
        warm_up_in_background()
        view = compare_panes(
            [c.title for c in request.contenders],
            first.fmt,
            sink=self.sink,
            min_interval=1.0 / max(ctx.settings.render_rate, 0.5),
            metadata=self.provenance(),
        )
        try:
            self._show(view, comparison)
        except KeyboardInterrupt:
            with interrupts_held():  # a second Ctrl-C must not cut the stop short
                answers = comparison.cancel()
                self._end(view, answers, interrupted=True)
            raise AnswerInterrupted(INTERRUPTED) from None
        answers = comparison.ordered()
        self._end(view, answers, interrupted=False)
        if not any(a.ok for a in answers.values()):
            raise fail(ctx.settings, ALL_FAILED)
        return {m: a.text for m, a in answers.items()}

    def _show(self, view: ComparePanes | TerminalPanes, comparison: Comparison) -> None:
        from aimo_magic.core.comparison import Delta, Finished, Retrying
        from aimo_magic.rendering.warmup import wait_until_warm

        warm = False
        for event in comparison.events(tick=0.05):
            if event is None:
                view.tick()
                continue
            if not warm:  # pygments' lazy loading is not thread-safe: render after it
                wait_until_warm()
                warm = True
            if isinstance(event, Delta):
                view.append(event.index, event.text)
            elif isinstance(event, Retrying):
                view.reset(event.index, event.notice)
            elif isinstance(event, Finished):
                self._finish_pane(view, event.index, event.answer)

    def _finish_pane(
        self, view: ComparePanes | TerminalPanes, index: int, answer: ComparedAnswer
    ) -> None:
        self._finished.add(index)
        contender = self.request.contenders[index]
        footer = footer_for(contender, answer, self._basis) if self.ctx.settings.footer else None
        view.finish_pane(
            index, answer.status, answer.text, footer=footer, error_message=answer.error
        )

    def _end(
        self,
        view: ComparePanes | TerminalPanes,
        answers: dict[str, ComparedAnswer],
        *,
        interrupted: bool,
    ) -> None:
        """Finish every pane, the summary, then keep the results (also when interrupted)."""
        from aimo_magic.rendering.warmup import wait_until_warm

        wait_until_warm()
        if interrupted:
            for index, contender in enumerate(self.request.contenders):
                if index not in self._finished:
                    self._finish_pane(view, index, answers[contender.id])
        ranking = summary(self.request.contenders, answers, self._basis)
        view.finish(ranking, self.provenance(answers))
        self._keep(answers)

    def _keep(self, answers: dict[str, ComparedAnswer]) -> None:
        from aimo_magic.magics.record import record_turn

        ctx = self.ctx
        for answer in answers.values():
            if answer.ok:
                served = answer.served_model or answer.model
                if stored(answer):
                    assert answer.result is not None
                    replayed = int(answer.result.recorded_in is not None)
                    ctx.session.usage.record_hit(served, answer.listed_cost, replayed=replayed)
                else:
                    ctx.session.usage.record(served, answer.usage, answer.listed_cost)
        kept = self.request.kept()
        if kept is not None:
            answer = answers[kept.model_id]
            store = ctx.session.conversations
            if answer.ok:
                record_turn(store, kept, answer.text, answer.result, partial=False)
            elif answer.status == "interrupted" and answer.text:
                record_turn(store, kept, answer.text, None, partial=True)
            else:
                print(f"Nothing kept in the thread: {kept.model_id} gave no answer.")
        out = self.request.first.out
        if out and ctx.shell is not None:
            ctx.shell.user_ns[out] = {m: a.text for m, a in answers.items()}


def compare_cell(
    ctx: AskContext,
    options: CellOptions,
    prompt: Content,
    *,
    namespace: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Build the comparison (failing in one line), run it, keep what it says to keep."""
    from aimo_magic.magics.compare import build_compare

    try:
        with user_errors(ctx.settings, debug=options.debug):
            request = build_compare(ctx, options, prompt, namespace=namespace)
    except KeyboardInterrupt:  # e.g. while the catalogue was being fetched
        raise AnswerInterrupted("stopped before anything was sent.") from None
    from aimo_magic.core.base import IN_BROWSER

    if IN_BROWSER:
        return one_after_another(ctx, request)
    return CompareExchange(ctx, request).run()


def one_after_another(ctx: AskContext, request: CompareRequest) -> dict[str, str]:
    """Pyodide (JupyterLite) has no threads for streams side by side: each model
    answers in turn, in an output of its own under its name, kept as a comparison is."""
    from IPython.core.error import UsageError

    from aimo_magic.magics.exchange import Exchange
    from aimo_magic.magics.failures import CellFailed
    from aimo_magic.magics.record import keep_partial, record_turn

    print("In the browser the models answer one after another, not side by side.")
    texts: dict[str, str] = {}
    for contender, asked in zip(request.contenders, request.requests, strict=True):
        print(f"── {contender.title}")
        exchange = Exchange(ctx, asked)
        try:
            result = exchange.run()
        except AnswerInterrupted:
            keep_partial(ctx, asked, exchange.partial_text)
            raise
        except (CellFailed, UsageError) as exc:
            print(f"{contender.title}: {exc}")
            texts[contender.id] = ""
            continue
        texts[contender.id] = result.text
        if asked.model_id == request.keep:
            record_turn(ctx.session.conversations, asked, result.text, result, partial=False)
    if not any(texts.values()):
        raise fail(ctx.settings, ALL_FAILED)
    out = request.first.out
    if out and ctx.shell is not None:
        ctx.shell.user_ns[out] = texts
    return texts
