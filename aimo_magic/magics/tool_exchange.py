"""A cell whose model may call functions: the loop of ``core/tool_loop.py`` on screen.

The cards (``rendering/tool_cards.py``) sit above the answer in the cell's display,
one per call as the model writes it; the final answer streams below them as any
answer does, and the footer sums tokens, cost and time over every step and counts the
calls. Like ``Exchange`` it records nothing: the caller keeps the result and its
``steps`` (or, after an interrupt, ``partial_text`` and ``partial_steps``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from aimo_magic.core.tool_loop import LoopEvents
from aimo_magic.magics.exchange import INTERRUPTED, Exchange
from aimo_magic.magics.failures import AnswerInterrupted, fail

if TYPE_CHECKING:
    from aimo_magic.core.retry import StreamRestart
    from aimo_magic.core.tool_loop import CallRecord, ToolsResult
    from aimo_magic.core.types import ChatResult
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.request import AskRequest
    from aimo_magic.rendering.footer import FooterInfo
    from aimo_magic.rendering.live import LiveAnswer
    from aimo_magic.rendering.sinks import DisplaySink, TerminalSink
    from aimo_magic.rendering.tool_cards import ToolCards


class CellEvents(LoopEvents):
    """The loop's progress, told to the cards and the live answer."""

    def __init__(self, cards: ToolCards, live: LiveAnswer, wait_until_warm: Any) -> None:
        self.cards = cards
        self.live = live
        self._wait_until_warm = wait_until_warm
        self._warm = False
        self._step = 0

    def _ready(self) -> None:
        if not self._warm:  # the first render waits for the renderer's warm-up
            self._wait_until_warm()
            self._warm = True

    def text(self, delta: str) -> None:
        self._ready()
        self.live.append(delta)

    def restarted(self, restart: StreamRestart) -> None:
        from aimo_magic.core.fallback import FellBack

        if isinstance(restart, FellBack):
            self.live.reset(restart.notice)
        else:
            self.live.reset("⟳ the answer broke off: starting this step again…")
        self.cards.forget_step(self._step)

    def step_started(self, step: int) -> None:
        self._step = step

    def call_written(
        self, step: int, index: int, call_id: str | None, name: str | None, piece: str
    ) -> None:
        self._ready()
        self.cards.written(step, index, name, piece)

    def call_changed(self, record: CallRecord) -> None:
        self.cards.changed(
            record.step,
            record.index,
            name=record.call.name,
            arguments=record.call.arguments,
            status=record.status,
            result=record.result,
            seconds=record.seconds,
        )

    def step_finished(self, step: int, result: ChatResult) -> None:
        """Words the model wrote beside its calls move into the cards: the answer
        below them is only the final one."""
        if result.tool_calls and self.live.text.strip():
            text = self.live.text
            if not self.cards.terminal:
                self.live.reset("")
            self.cards.note(step, text)


class ToolExchange(Exchange):
    """One cell's tool loop on screen, from the first call to the footer."""

    def __init__(
        self,
        ctx: AskContext,
        request: AskRequest,
        *,
        sink: DisplaySink | TerminalSink | None = None,
    ) -> None:
        from aimo_magic.rendering.sinks import default_sink
        from aimo_magic.rendering.tool_cards import ToolCards

        chosen = sink if sink is not None else default_sink()
        super().__init__(ctx, request, sink=chosen)
        self.cards = ToolCards(
            chosen,
            metadata={"model": request.model_id, "thread": request.thread},
            min_interval=1.0 / max(ctx.settings.render_rate, 0.5),
        )
        self.partial_steps: tuple[dict[str, Any], ...] = ()
        self.tools_result: ToolsResult | None = None

    def run(self) -> ChatResult:
        """Run the loop, show it, end with the footer; the final step's result.

        ``tools_result`` then holds every step and call. Failures end the cell in one
        line; an interrupt keeps what arrived (``partial_text``, ``partial_steps``).
        """
        from aimo_magic.core.errors import AimoError, IncompleteStreamError
        from aimo_magic.core.tool_loop import ToolLoop, ToolLoopInterrupted
        from aimo_magic.magics.approval import approver
        from aimo_magic.rendering.warmup import wait_until_warm, warm_up_in_background

        warm_up_in_background()
        self.show_images()
        self.cards.open()
        request = self.request
        loop = ToolLoop(
            request.tools,
            approve=approver(self.ctx.shell, request.approve_all),
            max_steps=request.max_steps,
            events=CellEvents(self.cards, self.live, wait_until_warm),
        )
        client: Any = self.ctx.session.client(request.resolution, cache=request.cache)
        if len(request.hops) > 1:  # a failure moves the loop to the next provider or model
            from aimo_magic.core.fallback import StickyHops

            client = StickyHops(client, request.hops, on_fallback=self.on_fallback)
        try:
            done = loop.run(
                client,
                request.message_list(),
                model=request.model_id,
                stream=request.stream,
                on_retry=self.on_retry,
                cache=request.cache,
                **request.param_dict(),
            )
        except ToolLoopInterrupted as exc:
            wait_until_warm()
            self.cards.finish()
            self._count(exc.partial.steps)
            self.partial_steps = exc.partial.messages
            self._interrupted()
            raise AnswerInterrupted(INTERRUPTED) from None
        except AimoError as exc:
            wait_until_warm()
            self.cards.finish()
            partial = exc.partial_text if isinstance(exc, IncompleteStreamError) else ""
            if partial and not self.live.text:
                self.live.append(partial)
            self.live.finish(status="error")
            if request.debug:
                raise
            raise fail(self.ctx.settings, str(exc)) from None
        wait_until_warm()
        self._say_who_could_approve(done)
        self.cards.finish()
        self.tools_result = done
        self._count(done.steps)
        final = self._final(done)
        self._finish(final, self.loop_footer(done))
        return final

    def _say_who_could_approve(self, done: ToolsResult) -> None:
        """Calls refused because nobody could be asked: one line under the cards saying
        how to let them run."""
        from aimo_magic.core.tool_loop import NEEDS_APPROVAL

        names = sorted(
            {r.call.name for r in done.calls if r.result == NEEDS_APPROVAL.format(name=r.call.name)}
        )
        if names:
            self.cards.note(
                len(done.steps),
                f"{', '.join(names)} {'needs' if len(names) == 1 else 'need'} approval and "
                "nobody can answer a prompt here: run the cell with --approve all to let "
                f"{'its' if len(names) == 1 else 'their'} calls run.",
            )

    def _count(self, steps: tuple[ChatResult, ...]) -> None:
        """Each step into the session's usage, as it was paid (a cached one is free)."""
        for step in steps:
            _, cost = self.footer_info(step)
            if step.cached_at is None:
                self.ctx.session.usage.record(step.model, step.usage, cost)
            else:
                replayed = int(step.recorded_in is not None)
                self.ctx.session.usage.record_hit(step.model, cost, replayed=replayed)

    @staticmethod
    def _final(done: ToolsResult) -> ChatResult:
        """The last step's result with the loop's text (empty when it stopped early)."""
        assert done.result is not None
        return dataclasses.replace(done.result, text=done.text)

    def loop_footer(self, done: ToolsResult) -> FooterInfo:
        """The footer of the last step, with tokens, cost and time over every step."""
        from aimo_magic.core.types import Timings

        final = self._final(done)
        live = [step for step in done.steps if step.cached_at is None]
        costs = [self.footer_info(step)[1] for step in live]
        total = dataclasses.replace(
            final,
            usage=done.usage,
            timings=Timings(first_token=None, total=done.seconds),
            cached_at=None if live else final.cached_at,
        )
        footer, _ = self.footer_info(total)
        known = [cost for cost in costs if cost is not None]
        # Money is data: unknown for one live step means unknown in total, never zero.
        basis = self.ctx.session.price_basis
        whole = live and len(known) == len(costs)
        footer.cost = sum(cost.amount(basis) for cost in known) if whole else None
        footer.cost_basis = basis
        footer.first_token_s = None
        count = len(done.calls)
        steps = len(done.steps)
        footer.notes.append(
            f"{count} call{'s' if count != 1 else ''} in {steps} step{'s' if steps != 1 else ''}"
        )
        if live and len(live) < steps:
            footer.notes.append(f"{steps - len(live)} of {steps} steps from the cache")
        if done.stopped == "max_steps":
            footer.notes.append(f"stopped at the step limit ({steps}); raise --max-steps")
        return footer
