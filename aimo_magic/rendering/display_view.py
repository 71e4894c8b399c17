"""A live answer as display outputs updated in place, re-rendering only its tail.

For markdown the answer is a run of consecutive outputs: once ``segments``
finds a prefix whose blocks are complete, it is rendered one last time into
the current output, which is never touched again, and a new output takes the
rest. So the cost of an update (parse, render, bytes on the wire) follows the
unfrozen tail, not the whole answer. Formats that only make sense whole
re-render everything, at an interval that stretches with the length so their
cost per second stays flat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from aimo_magic.rendering.bundles import Bundle, FormatError, render_bundle, text_bundle
from aimo_magic.rendering.footer import Trailer, render_notice
from aimo_magic.rendering.sinks import DisplayHandle, DisplaySink
from aimo_magic.rendering.timer import Cancel, Scheduler

if TYPE_CHECKING:
    from markdown_it.token import Token

    from aimo_magic.rendering.segments import Cut

EMPTY_BUNDLE: Bundle = {"text/plain": ""}
# Whole-text formats: characters per second of update traffic we allow.
_WHOLE_TEXT_RATE = 200_000
_HIGHLIGHT_CACHE_SIZE = 64

# (output kind, part number or None) -> the metadata of one display.
MetadataFactory = Callable[[str, "int | None"], dict[str, Any]]


class CarriageReturns:
    """Turns CR and CRLF into LF across chunk boundaries, as markdown-it would."""

    def __init__(self) -> None:
        self._after_cr = False

    def __call__(self, chunk: str) -> str:
        if self._after_cr and chunk.startswith("\n"):
            chunk = chunk[1:]
        self._after_cr = chunk.endswith("\r")
        if "\r" in chunk:
            chunk = chunk.replace("\r\n", "\n").replace("\r", "\n")
        return chunk


class DisplayView:
    """The answer as display outputs that are updated in place.

    Text that arrives sooner than ``min_interval`` after the last update is held back;
    ``scheduler`` (if given) flushes it once the interval is over, so a model that pauses
    still has what it sent on screen within ``min_interval``. That flush runs on another
    thread, so every entry point holds one lock.
    """

    def __init__(
        self,
        sink: DisplaySink,
        fmt: str,
        metadata: MetadataFactory,
        *,
        min_interval: float,
        clock: Callable[[], float],
        freeze_at: int,
        split_at: int,
        code_language: str | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._scheduler = scheduler
        self._cancel_timer: Cancel | None = None
        self._finished = False
        self._sink = sink
        self._fmt = fmt
        self._code_language = code_language
        self._metadata = metadata
        self._min_interval = min_interval
        self._clock = clock
        self._freeze_at = freeze_at
        self._split_at = split_at
        self._handles: list[DisplayHandle] = []
        self.format_error: FormatError | None = None
        self._start()

    def _start(self) -> None:
        self._used = 0  # handles holding this attempt's outputs
        self._open = False  # whether handles[_used - 1] is the unfrozen tail
        self._pending: list[str] = []
        self._normalize = CarriageReturns()
        self._source = ""
        self._frozen = 0
        self._carry = ""
        self._last_publish: float | None = None
        self._last_segment: Bundle | None = None
        self._highlighted: dict[tuple[str, str | None], str] = {}

    # -- plumbing ---------------------------------------------------------------------

    def _show(self, bundle: Bundle) -> None:
        if self._open:
            self._handles[self._used - 1].update(bundle, self._metadata("answer", self._used - 1))
            return
        self._open = True
        self._used += 1
        metadata = self._metadata("answer", self._used - 1)
        if self._used <= len(self._handles):
            self._handles[self._used - 1].update(bundle, metadata)
        else:
            self._handles.append(self._sink.open(bundle, metadata))

    def _html(self, tokens: list[Token], env: dict[str, Any], *, streaming: bool) -> str:
        from aimo_magic.rendering.markdown import render_tokens

        if len(self._highlighted) > _HIGHLIGHT_CACHE_SIZE:
            self._highlighted.clear()
        return render_tokens(tokens, env, streaming=streaming, highlight_cache=self._highlighted)

    def _sync(self) -> None:
        if self._pending:
            self._source += self._normalize("".join(self._pending))
            self._pending.clear()

    def _interval(self) -> float:
        if self._fmt == "markdown":
            return self._min_interval
        return max(self._min_interval, len(self._source) / _WHOLE_TEXT_RATE)

    # -- publishing -------------------------------------------------------------------

    def preface(
        self,
        bundle: Bundle,
        output: str = "preface",
        extra_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """An output of its own, opened before the answer's so it shows above it;
        retries and resets never touch it."""
        self._sink.open(bundle, {**self._metadata(output, None), **(extra_metadata or {})})

    def _wait(self, now: float) -> float:
        """Seconds until the rate allows the next update (0 or less: now)."""
        if self._last_publish is None:
            return 0.0
        return self._last_publish + self._interval() - now

    def append(self, delta: str) -> None:
        with self._lock:
            self._pending.append(delta)
            now = self._clock()
            wait = self._wait(now)
            if wait <= 0:
                self.flush(now)
            else:
                self._schedule(wait)

    def flush(self, now: float | None = None) -> None:
        with self._lock:
            if not self._pending:
                return
            self._last_publish = self._clock() if now is None else now
            self._sync()
            if self._fmt == "markdown":
                self._publish_markdown(final=False)
            else:
                self._show(self._whole_bundle(final=False))

    # -- the timer for held-back text -------------------------------------------------

    def _schedule(self, wait: float) -> None:
        if self._scheduler is not None and self._cancel_timer is None:
            self._cancel_timer = self._scheduler(wait, self._on_timer)

    def _cancel(self) -> None:
        cancel, self._cancel_timer = self._cancel_timer, None
        if cancel is not None:
            cancel()

    def _on_timer(self) -> None:
        """On the timer thread: show what is held back, or wait on if an update came since."""
        with self._lock:
            self._cancel_timer = None
            if self._finished or not self._pending:
                return
            wait = self._wait(self._clock())
            if wait > 0:
                self._schedule(wait)
                return
            with suppress(Exception):  # nowhere to report it; the final render shows all
                self.flush()

    def _freeze(self, cut: Cut, tail: str, html: str) -> None:
        bundle = {
            "text/html": html,
            "text/markdown": cut.source,
            "text/plain": tail[: cut.consumed],
        }
        self._show(bundle)
        self._open = False
        self._last_segment = bundle
        self._frozen += cut.consumed
        self._carry = cut.carry

    def _publish_markdown(self, *, final: bool) -> None:
        """Freeze what is complete, then show the rest, from one parse per update."""
        from aimo_magic.rendering.markdown import parse
        from aimo_magic.rendering.segments import find_cut

        while tail := self._source[self._frozen :]:
            source = self._carry + tail
            tokens, env = parse(source)
            cut = None
            if not final:
                cut = find_cut(
                    self._carry, tail, tokens, freeze_at=self._freeze_at, split_at=self._split_at
                )
            if cut is None:
                bundle = {"text/html": self._html(tokens, env, streaming=not final)}
                if final:
                    # The source rides only on final renders: updates carry two
                    # copies of the tail (html, plain), not three.
                    bundle["text/markdown"] = source
                bundle["text/plain"] = tail
                self._show(bundle)
                return
            if cut.rest_token is None:  # split inside a block: the parts need parses of their own
                frozen_tokens, frozen_env = parse(cut.source)
                self._freeze(cut, tail, self._html(frozen_tokens, frozen_env, streaming=False))
                continue
            self._freeze(cut, tail, self._html(tokens[: cut.rest_token], env, streaming=False))
            rest = self._source[self._frozen :]
            self._show(
                {
                    "text/html": self._html(tokens[cut.rest_token :], env, streaming=True),
                    "text/plain": rest,
                }
            )
            return
        if final and self._used and self._last_segment is not None:
            # Nothing after the last frozen part: put the final metadata on it.
            self._open = True
            self._show(self._last_segment)

    def _whole_bundle(self, *, final: bool, complete: bool = False) -> Bundle:
        if not final and self._fmt in ("code", "math"):
            return text_bundle(self._source)
        try:
            return render_bundle(
                self._source,
                self._fmt,
                final=final and complete,
                code_language=self._code_language,
            )
        except FormatError as exc:
            self.format_error = exc
            return text_bundle(self._source)

    # -- lifecycle --------------------------------------------------------------------

    def reset(self, notice: str) -> None:
        with self._lock:
            self._cancel()
            self._reset(notice)

    def _reset(self, notice: str) -> None:
        notice_bundle = render_notice(notice)
        metadata = self._metadata("notice", 0)
        if not self._handles:
            self._handles.append(self._sink.open(notice_bundle, metadata))
        else:
            empty = self._metadata("empty", None)
            for index, handle in enumerate(self._handles):
                handle.update(
                    notice_bundle if index == 0 else EMPTY_BUNDLE, metadata if index == 0 else empty
                )
        self._start()

    def finish(self, trailer: Trailer, *, complete: bool) -> None:
        with self._lock:
            self._finished = True
            self._cancel()
            self._finish(trailer, complete=complete)

    def _finish(self, trailer: Trailer, *, complete: bool) -> None:
        self._sync()
        if self._fmt == "markdown":
            self._publish_markdown(final=True)
        elif self._source or self._open:
            self._show(self._whole_bundle(final=True, complete=complete))
        self._open = False
        if self._used == 0 and self._handles:  # a retry notice that nothing replaced
            self._handles[0].update(EMPTY_BUNDLE, self._metadata("empty", None))
        bundle = trailer(bool(self._source.strip()), self.format_error)
        if bundle is not None:
            metadata = self._metadata("footer", None)
            if self._used < len(self._handles):  # reuse an output a reset emptied
                self._handles[self._used].update(bundle, metadata)
                self._used += 1
            else:
                self._handles.append(self._sink.open(bundle, metadata))
