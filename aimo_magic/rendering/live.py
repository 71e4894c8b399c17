"""A model's answer shown while it is generated, ending in one complete final render.

Updates are rate-bounded (``min_interval``) rather than per token, and their
cost does not grow with the answer (see ``display_view``). In a terminal the
text is streamed as it comes instead (``terminal_view``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from aimo_magic.rendering.bundles import Bundle, FormatError, normalize_format
from aimo_magic.rendering.display_view import DisplayView
from aimo_magic.rendering.footer import FooterInfo, render_preface, render_trailer, status_text
from aimo_magic.rendering.sinks import DisplaySink, TerminalSink, default_sink
from aimo_magic.rendering.terminal_view import TerminalView

METADATA_KEY = "aimo"


def output_metadata(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The caller's metadata with our fields under ``"aimo"``.

    A caller's own ``{"aimo": {...}}`` record is extended; any other dict is
    put under ``"aimo"`` whole.
    """
    own = base.get(METADATA_KEY)
    if isinstance(own, dict):
        return {**base, METADATA_KEY: {**own, **fields}}
    return {METADATA_KEY: {**base, **fields}}


class LiveAnswer:
    """Shows an answer while it streams; ``finish`` always leaves one complete render.

    ``sink=None`` picks IPython display handles inside a Jupyter kernel and raw
    text on stdout elsewhere. ``metadata`` goes into every output's metadata
    under ``"aimo"``; the ``metadata`` given to ``finish`` is merged in for the
    final render and the footer. ``clock`` exists so tests need no real time.
    ``code_language`` is the block ``fmt="code"`` shows when there are several.
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
        code_language: str | None = None,
    ) -> None:
        self.fmt = normalize_format(fmt)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.status: str | None = None
        self._chunks: list[str] = []
        chosen = sink if sink is not None else default_sink()
        self._view: DisplayView | TerminalView
        if isinstance(chosen, TerminalSink):
            self._view = TerminalView(chosen, self.fmt)
        else:
            self._view = DisplayView(
                chosen,
                self.fmt,
                self._output_metadata,
                min_interval=min_interval,
                clock=clock,
                freeze_at=freeze_at,
                split_at=split_at,
                code_language=code_language,
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

    def preface(self, lines: Sequence[str], warnings: Sequence[str] = ()) -> None:
        """Show small notes above the answer; call before the first ``append``.

        In a notebook they are an output of their own (metadata ``output: preface``);
        in a terminal, plain lines.
        """
        self._check_open("preface")
        if lines or warnings:
            self._view.preface(render_preface(lines, warnings))

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

        self._view.finish(trailer, complete=status == "complete")
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
