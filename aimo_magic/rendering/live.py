"""A model's answer shown while it is generated, ending in one complete final render.

Updates are rate-bounded (``min_interval``) rather than per token, and for
markdown their cost does not grow with the answer: the answer is a run of
consecutive outputs, each rendered one last time and frozen once its blocks
are complete (see ``segments``), so only the unfrozen tail is re-rendered and
re-sent. Formats that only make sense whole re-render everything, at an
interval that stretches with the length so their cost per second stays flat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aimo_magic.rendering.bundles import (
    Bundle,
    FormatError,
    normalize_format,
    render_bundle,
    text_bundle,
)
from aimo_magic.rendering.footer import FooterInfo, render_notice, render_trailer, status_text
from aimo_magic.rendering.sinks import DisplayHandle, DisplaySink, TerminalSink, default_sink

if TYPE_CHECKING:
    from markdown_it.token import Token

    from aimo_magic.rendering.segments import Cut

METADATA_KEY = "aimo"
EMPTY_BUNDLE: Bundle = {"text/plain": ""}
# Whole-text formats: characters per second of update traffic we allow.
_WHOLE_TEXT_RATE = 200_000
_HIGHLIGHT_CACHE_SIZE = 64

MetadataFactory = Callable[[str, "int | None"], dict[str, Any]]


def output_metadata(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The caller's metadata with our fields under ``"aimo"``.

    A caller's own ``{"aimo": {...}}`` record is extended; any other dict is
    put under ``"aimo"`` whole.
    """
    own = base.get(METADATA_KEY)
    if isinstance(own, dict):
        return {**base, METADATA_KEY: {**own, **fields}}
    return {METADATA_KEY: {**base, **fields}}


class _CarriageReturns:
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


class _DisplayView:
    """The answer as display outputs that are updated in place."""

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
    ) -> None:
        self._sink = sink
        self._fmt = fmt
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
        self._normalize = _CarriageReturns()
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

    def append(self, delta: str) -> None:
        self._pending.append(delta)
        now = self._clock()
        if self._last_publish is None or now - self._last_publish >= self._interval():
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if not self._pending:
            return
        self._last_publish = self._clock() if now is None else now
        self._sync()
        if self._fmt == "markdown":
            self._publish_markdown(final=False)
        else:
            self._show(self._whole_bundle(final=False))

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

    def _whole_bundle(self, *, final: bool) -> Bundle:
        if not final and self._fmt in ("code", "math"):
            return text_bundle(self._source)
        try:
            return render_bundle(self._source, self._fmt, final=final)
        except FormatError as exc:
            self.format_error = exc
            return text_bundle(self._source)

    # -- lifecycle --------------------------------------------------------------------

    def reset(self, notice: str) -> None:
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

    def finish(self, trailer: Callable[[bool, FormatError | None], Bundle | None]) -> None:
        self._sync()
        if self._fmt == "markdown":
            self._publish_markdown(final=True)
        elif self._source or self._open:
            self._show(self._whole_bundle(final=True))
        self._open = False
        bundle = trailer(bool(self._source.strip()), self.format_error)
        if bundle is None:
            return
        metadata = self._metadata("footer", None)
        if self._used < len(self._handles):  # reuse an output a reset emptied
            self._handles[self._used].update(bundle, metadata)
            self._used += 1
        else:
            self._handles.append(self._sink.open(bundle, metadata))


class _TerminalView:
    """The answer as raw text on a stream; the trailer as plain lines."""

    def __init__(self, sink: TerminalSink, fmt: str) -> None:
        self._sink = sink
        self._fmt = fmt
        self._text: list[str] = []
        self._at_line_start = True
        self.format_error: FormatError | None = None

    def _write(self, text: str) -> None:
        if text:
            self._sink.write(text)
            self._at_line_start = text.endswith("\n")

    def append(self, delta: str) -> None:
        self._text.append(delta)
        self._write(delta)

    def flush(self) -> None:
        """Nothing waits: every delta was written as it came."""

    def reset(self, notice: str) -> None:
        prefix = "" if self._at_line_start else "\n"
        self._write(f"{prefix}{self._sink.muted(f'[{notice}]')}\n")
        self._text.clear()

    def finish(self, trailer: Callable[[bool, FormatError | None], Bundle | None]) -> None:
        text = "".join(self._text)
        if self._fmt == "json" and text.strip():
            try:
                render_bundle(text, "json", final=True)
            except FormatError as exc:
                self.format_error = exc
        bundle = trailer(bool(text.strip()), self.format_error)
        if not self._at_line_start:
            self._write("\n")
        if bundle is not None:
            self._write(self._sink.muted(str(bundle["text/plain"])) + "\n")


class LiveAnswer:
    """Shows an answer while it streams; ``finish`` always leaves one complete render.

    ``sink=None`` picks IPython display handles inside a Jupyter kernel and raw
    text on stdout elsewhere. ``metadata`` goes into every output's metadata
    under ``"aimo"``; the ``metadata`` given to ``finish`` is merged in for the
    final render and the footer. ``clock`` exists so tests need no real time.
    """

    def __init__(
        self,
        fmt: str = "markdown",
        *,
        min_interval: float = 0.1,
        sink: DisplaySink | TerminalSink | None = None,
        metadata: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        freeze_at: int = 2048,
        split_at: int = 4096,
    ) -> None:
        self.fmt = normalize_format(fmt)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.status: str | None = None
        self._chunks: list[str] = []
        chosen = sink if sink is not None else default_sink()
        self._view: _DisplayView | _TerminalView
        if isinstance(chosen, TerminalSink):
            self._view = _TerminalView(chosen, self.fmt)
        else:
            self._view = _DisplayView(
                chosen,
                self.fmt,
                self._output_metadata,
                min_interval=min_interval,
                clock=clock,
                freeze_at=freeze_at,
                split_at=split_at,
            )

    def _output_metadata(self, output: str, part: int | None) -> dict[str, Any]:
        fields: dict[str, Any] = {"output": output}
        if part is not None:
            fields["part"] = part
        if self.status is not None:
            fields["status"] = self.status
        return output_metadata(self.metadata, **fields)

    @property
    def text(self) -> str:
        """Everything appended since the start or the last ``reset``."""
        if len(self._chunks) > 1:
            self._chunks[:] = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    @property
    def finished(self) -> bool:
        return self.status is not None

    @property
    def format_error(self) -> FormatError | None:
        """Set by ``finish`` when the answer did not fit the format (e.g. invalid JSON)."""
        return self._view.format_error

    def _check_open(self, action: str) -> None:
        if self.status is not None:
            raise RuntimeError(f"LiveAnswer.{action}() after finish(): start a new LiveAnswer.")

    def append(self, delta: str) -> None:
        """Add streamed text; the display is refreshed at most every ``min_interval``."""
        self._check_open("append")
        if delta:
            self._chunks.append(delta)
            self._view.append(delta)

    def flush(self) -> None:
        """Show text held back by the rate limit now, e.g. when the stream has stalled."""
        self._check_open("flush")
        self._view.flush()

    def reset(self, notice: str) -> None:
        """Forget the text so far (the request is being retried) and show ``notice``."""
        self._check_open("reset")
        self._chunks.clear()
        self._view.reset(notice)

    def finish(
        self,
        status: str = "complete",
        *,
        footer: FooterInfo | None = None,
        error_message: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Render the whole answer one last time, then the status marker and footer.

        An answer that does not fit its format (json that does not parse) is
        still shown, as text with a marker, and then ``FormatError`` is raised
        so the caller can report it in one line.
        """
        self._check_open("finish")
        status_text(status, None, has_text=False)  # validates the status before any output
        self.status = status
        self.metadata.update(metadata or {})

        def trailer(has_text: bool, format_error: FormatError | None) -> Bundle | None:
            extra = (str(format_error),) if format_error is not None else ()
            return render_trailer(
                status,
                footer=footer,
                error_message=error_message,
                has_text=has_text,
                extra_errors=extra,
            )

        self._view.finish(trailer)
        if self._view.format_error is not None:
            raise self._view.format_error

    def __enter__(self) -> LiveAnswer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Finish an answer the block left open: interrupted, errored or complete."""
        if self.status is not None:
            return
        if exc_type is None:
            self.finish("complete")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("interrupted")
        else:
            self.finish("error", error_message=str(exc).splitlines()[0] if str(exc) else None)
