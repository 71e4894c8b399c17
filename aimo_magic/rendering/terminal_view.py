"""A live answer as raw text on a stream, for a terminal or plain Python."""

from __future__ import annotations

from aimo_magic.rendering.bundles import Bundle, FormatError, render_bundle
from aimo_magic.rendering.footer import Trailer
from aimo_magic.rendering.sinks import TerminalSink


class TerminalView:
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

    def preface(self, bundle: Bundle) -> None:
        self._write(str(bundle["text/plain"]) + "\n")

    def append(self, delta: str) -> None:
        self._text.append(delta)
        self._write(delta)

    def flush(self) -> None:
        """Nothing waits: every delta was written as it came."""

    def reset(self, notice: str) -> None:
        prefix = "" if self._at_line_start else "\n"
        self._write(f"{prefix}{self._sink.muted(f'[{notice}]')}\n")
        self._text.clear()

    def finish(self, trailer: Trailer, *, complete: bool) -> None:
        text = "".join(self._text)
        if complete and self._fmt == "json" and text.strip():
            try:
                render_bundle(text, "json", final=True)
            except FormatError as exc:
                self.format_error = exc
        bundle = trailer(bool(text.strip()), self.format_error)
        if not self._at_line_start:
            self._write("\n")
        if bundle is not None:
            self._write(self._sink.muted(str(bundle["text/plain"])) + "\n")
