"""Running one request and showing its answer: streamed as it arrives, or delivered whole.

An ``Exchange`` owns one live display (one pane). ``run`` sends the request and
returns the finished result; ``deliver`` shows a result obtained some other way
(an answer cache, say) exactly as if it had just arrived. Neither records
anything: that is the caller's choice (see ``magics/record.py``), for an interrupted
answer too (``partial_text``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.failures import AnswerInterrupted, fail

if TYPE_CHECKING:
    from aimo_magic.core.base import RetryEvent
    from aimo_magic.core.fallback import FellBack
    from aimo_magic.core.pricing import Listed
    from aimo_magic.core.types import ChatResult
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.request import AskRequest
    from aimo_magic.rendering.footer import FooterInfo
    from aimo_magic.rendering.live import LiveAnswer
    from aimo_magic.rendering.sinks import DisplaySink, TerminalSink

INTERRUPTED = "the answer was stopped; what arrived stays above, marked as interrupted."


def provenance(request: AskRequest, result: ChatResult | None) -> dict[str, Any]:
    """The notebook metadata of an answer's outputs: what was asked, what served it."""
    record: dict[str, Any] = {
        "model": result.model if result else request.model_id,
        "requested_model": request.model_id,
        "params": request.param_dict(),
        "thread": request.thread,
    }
    if result is not None:
        record["provider"] = result.provider
        record["usage"] = result.usage.as_dict() if result.usage else None
        record["finish_reason"] = result.finish_reason
        if result.route:
            record["route"] = result.route
        if result.cached_at is not None:
            record["cached_at"] = stored_when(result.cached_at, "seconds")
        if result.recorded_in is not None:
            record["recorded_in"] = result.recorded_in
    return {"aimo": record}


def stored_when(cached_at: float, timespec: str = "minutes") -> str:
    """When a cached answer was stored, in local time (ISO 8601)."""
    from datetime import datetime

    return datetime.fromtimestamp(cached_at).astimezone().isoformat(" ", timespec)


def cache_notes(result: ChatResult) -> list[str]:
    """The footer's word on a stored answer: where it came from (the answer cache, or
    the answer file replayed) and when, and that it was free."""
    if result.cached_at is None:
        return []
    when = stored_when(result.cached_at)[:16]
    if result.recorded_in is not None:
        return [f"recorded {when} ({result.recorded_in})", "no tokens charged"]
    return [f"from the cache (stored {when})", "no tokens charged"]


class Exchange:
    """One request's answer on screen, from the first token to the footer."""

    def __init__(
        self,
        ctx: AskContext,
        request: AskRequest,
        *,
        sink: DisplaySink | TerminalSink | None = None,
    ) -> None:
        from aimo_magic.rendering.live import LiveAnswer

        self.ctx = ctx
        self.request = request
        self.partial_text = ""
        """What arrived before an interrupt: the caller may keep it as a partial turn."""
        self.live: LiveAnswer = LiveAnswer(
            fmt=request.fmt,
            min_interval=1.0 / max(ctx.settings.render_rate, 0.5),
            metadata=provenance(request, None),
            sink=sink,
            code_language=ctx.code_language,
        )
        if request.fills or request.notes:  # above the answer, for the user only
            self.live.preface(
                [*request.notes, *(fill.summary() for fill in request.fills)],
                [fill.warning for fill in request.fills if fill.warning],
            )

    def on_retry(self, event: RetryEvent) -> None:
        self.live.reset(
            f"⟳ {event.reason}: retrying (attempt {event.attempt} of {event.max_retries})…"
        )

    def run(self) -> ChatResult:
        """Send the request, show the answer as it comes, and end with the footer.

        Failures end the cell in one line (the original exception under --debug);
        an interrupt keeps what arrived shown, marked as interrupted, and in
        ``partial_text`` for the caller to record.
        """
        from aimo_magic.core.errors import AimoError, IncompleteStreamError
        from aimo_magic.rendering.warmup import wait_until_warm, warm_up_in_background

        warm_up_in_background()
        self.show_images()
        try:
            result = self._receive(wait_until_warm)
        except KeyboardInterrupt:
            wait_until_warm()
            self._interrupted()
            raise AnswerInterrupted(INTERRUPTED) from None
        except AimoError as exc:
            wait_until_warm()
            partial = exc.partial_text if isinstance(exc, IncompleteStreamError) else ""
            if partial and not self.live.text:
                self.live.append(partial)
            self.live.finish(status="error")
            if self.request.debug:
                raise
            raise fail(self.ctx.settings, str(exc)) from None
        footer, cost = self.footer_info(result)
        # Counted before rendering: tokens are paid even if the answer misses its format.
        if result.cached_at is None:
            self.ctx.session.usage.record(result.model, result.usage, cost)
        else:
            replayed = int(result.recorded_in is not None)
            self.ctx.session.usage.record_hit(result.model, cost, replayed=replayed)
        self._finish(result, footer)
        return result

    def deliver(self, result: ChatResult, *, notes: Sequence[str] = ()) -> None:
        """Show a finished result as an answer, with ``notes`` in its footer (e.g. cached)."""
        self.show_images()
        self.live.append(result.text)
        footer, _ = self.footer_info(result)
        footer.notes.extend(notes)
        self._finish(result, footer)

    def show_images(self) -> None:
        """A thumbnail of each image the prompt sends, above the answer."""
        from aimo_magic.core.image_parts import image_parts

        self.live.show_images(image_parts(self.request.prompt))

    def on_fallback(self, moved: FellBack) -> None:
        """The request moves to its next provider or model: say so, and start over."""
        self.live.reset(moved.notice)

    def _receive(self, wait_until_warm: Any) -> ChatResult:
        """The answer: from the answer cache when the request allows it and has one
        stored (the client then replays it whole), else from the server, through the
        request's hops (its provider, then where a failure falls back: ``core.fallback``)."""
        from aimo_magic.core import fallback as runner

        request = self.request
        client = self.ctx.session.client(request.resolution, cache=request.cache)
        params = request.param_dict()
        if not request.stream:
            result = runner.chat(
                client,
                request.hops,
                request.message_list(),
                on_retry=self.on_retry,
                on_fallback=self.on_fallback,
                cache=request.cache,
                **params,
            )
            wait_until_warm()
            self.live.append(result.text)
            return result
        # restart=True: a stream that breaks after some text starts the answer over, on
        # its provider or the next; by then on_retry or on_fallback has cleared the
        # display and said why, so the in-band StreamRestart (or FellBack) is skipped.
        stream: runner.FallbackStream[Any] = runner.FallbackStream(
            client,
            request.hops,
            request.message_list(),
            on_retry=self.on_retry,
            on_fallback=self.on_fallback,
            restart=True,
            options={"cache": request.cache, **params},
        )
        with stream:
            deltas = iter(stream)
            first = next(deltas, "")
            wait_until_warm()
            for delta in itertools.chain([first], deltas):
                if isinstance(delta, str):
                    self.live.append(delta)
            assert stream.result is not None
            return stream.result

    def footer_info(self, result: ChatResult) -> tuple[FooterInfo, Listed | None]:
        """The footer, and the answer's cost by ``pricing.answer_cost``'s rule (the
        provider that actually answered), shown in the session's price unit."""
        from aimo_magic.core.catalogue import find_model
        from aimo_magic.core.image_parts import count_images
        from aimo_magic.core.pricing import answer_cost
        from aimo_magic.rendering.footer import FooterInfo

        request, session = self.request, self.ctx.session
        catalogue = session.cached_catalogue
        found = find_model(catalogue or (), result.model)
        model, offer = found if found else (request.model, request.offer)
        images = count_images(request.messages)
        cost = answer_cost(catalogue, request.model_id, result.model, result.usage, images=images)
        cached = result.cached_at is not None
        shown_cost = None if cached or cost is None else cost  # a cached answer charged nothing
        basis = session.price_basis
        return FooterInfo(
            model=model.name if model else result.model,
            provider=result.provider or (offer.name if offer else None),
            usage=result.usage,
            cost=shown_cost.amount(basis) if shown_cost is not None else None,
            cost_basis=basis,
            first_token_s=None if cached else result.timings.first_token,
            total_s=None if result.recorded_in is not None else result.timings.total,
            notes=[
                *([result.route] if result.route else []),
                *cache_notes(result),
                *(result.notes if request.debug else ()),
                *([f"{images} image{'s' if images != 1 else ''}"] if images else []),
            ],
        ), cost

    def _finish(self, result: ChatResult, footer: FooterInfo) -> None:
        try:
            self.live.finish(
                status="complete",
                footer=footer if self.ctx.settings.footer else None,
                metadata=provenance(self.request, result),
            )
        except ValueError as exc:  # the answer does not fit its format (bad JSON)
            if self.request.debug:
                raise
            raise fail(self.ctx.settings, str(exc)) from None

    def _interrupted(self) -> None:
        self.partial_text = self.live.text
        self.live.finish(status="interrupted", metadata=provenance(self.request, None))
