"""Several answers streaming side by side: one display whose panes grow independently.

In a notebook the whole grid is one display output, updated in place at most every
``min_interval`` seconds (so a saved notebook keeps the final grid, and a frontend gets
one message per update whatever the number of panes). Only the panes that changed since
the last update are rendered again, and within a pane only its unfrozen tail (as for a
single answer, see ``segments``). The update interval stretches with the size of the
grid so that the bytes sent per second stay bounded.

A terminal cannot redraw, so there the answers are printed one after the other, each
under its model's name: the first streams as it arrives while the others are held
back, then each of them is printed (and followed live if it is still arriving).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from aimo_magic.rendering.bundles import normalize_format
from aimo_magic.rendering.display_view import CarriageReturns
from aimo_magic.rendering.footer import FooterInfo, render_trailer
from aimo_magic.rendering.panes import grid_html, pane_html, plain_text, waiting_html
from aimo_magic.rendering.sinks import DisplayHandle, DisplaySink, TerminalSink, default_sink

if TYPE_CHECKING:
    from markdown_it.token import Token

PANE_FORMATS = ("markdown", "text")
WAITING = "waiting for the first token…"
# Characters of grid HTML per second of update traffic we allow.
_GRID_RATE = 200_000
_FREEZE_AT = 2048
_SPLIT_AT = 4096
_HIGHLIGHT_CACHE_SIZE = 64


class PaneText:
    """One pane's answer as sanitised HTML, re-rendering only what is still open.

    Complete blocks at the start are rendered once and kept (``segments.find_cut``);
    each render parses only the rest.
    """

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.restart()

    def restart(self, text: str = "") -> None:
        self._pending: list[str] = [text] if text else []
        self._normalize = CarriageReturns()
        self._source = ""
        self._frozen = 0
        self._carry = ""
        self._frozen_html: list[str] = []
        self._highlighted: dict[tuple[str, str | None], str] = {}

    @property
    def text(self) -> str:
        self._sync()
        return self._source

    def add(self, delta: str) -> None:
        self._pending.append(delta)

    def _sync(self) -> None:
        if self._pending:
            self._source += self._normalize("".join(self._pending))
            self._pending.clear()

    def html(self, *, final: bool) -> str:
        self._sync()
        if self.fmt != "markdown":
            return f"<pre>{escape(self._source, quote=False)}</pre>"
        from aimo_magic.rendering.markdown import parse
        from aimo_magic.rendering.segments import find_cut

        while tail := self._source[self._frozen :]:
            source = self._carry + tail
            tokens, env = parse(source)
            cut = None
            if not final:
                cut = find_cut(self._carry, tail, tokens, freeze_at=_FREEZE_AT, split_at=_SPLIT_AT)
            if cut is None:
                return "".join(self._frozen_html) + self._render(tokens, env, final=final)
            if cut.rest_token is None:  # split inside a block: the part gets its own parse
                tokens, env = parse(cut.source)
            else:
                tokens = tokens[: cut.rest_token]
            self._frozen_html.append(self._render(tokens, env, final=True))
            self._frozen += cut.consumed
            self._carry = cut.carry
        return "".join(self._frozen_html)

    def _render(self, tokens: list[Token], env: dict[str, Any], *, final: bool) -> str:
        from aimo_magic.rendering.markdown import render_tokens

        if len(self._highlighted) > _HIGHLIGHT_CACHE_SIZE:
            self._highlighted.clear()
        return render_tokens(tokens, env, streaming=not final, highlight_cache=self._highlighted)


@dataclass
class Pane:
    """What one pane shows: title, answer, a notice while waiting, and its trailer."""

    title: str
    text: PaneText
    notice: str | None = WAITING
    status: str = "streaming"
    trailer: dict[str, Any] | None = None
    html: str = ""
    dirty: bool = True

    def render(self) -> str:
        if self.dirty:
            final = self.status != "streaming"
            if self.notice is not None and not self.text.text:
                body = waiting_html(self.notice)
            else:
                body = self.text.html(final=final)
            trailer = self.trailer["text/html"] if self.trailer else ""
            self.html = pane_html(self.title, body, trailer, status=self.status)
            self.dirty = False
        return self.html

    def plain(self) -> str:
        text = self.text.text or (self.notice or "")
        trailer = str(self.trailer["text/plain"]) if self.trailer else ""
        return f"{text.rstrip()}\n{trailer}" if trailer else text


def _trailer(
    status: str, text: str, footer: FooterInfo | None, error_message: str | None
) -> dict[str, Any] | None:
    return render_trailer(
        status, footer=footer, error_message=error_message, has_text=bool(text.strip())
    )


class ComparePanes:
    """The panes as one display output, updated in place at a bounded rate."""

    def __init__(
        self,
        sink: DisplaySink,
        titles: Sequence[str],
        fmt: str = "markdown",
        *,
        min_interval: float = 0.1,
        metadata: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fmt = pane_format(fmt)
        self.panes = [Pane(title, PaneText(self.fmt)) for title in titles]
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.summary: str | None = None
        self._min_interval = min_interval
        self._clock = clock
        self._last_publish: float | None = None
        self._size = 0
        self._pending = False
        self._handle: DisplayHandle = sink.open(self._bundle(), self._metadata())

    # -- updates ----------------------------------------------------------------------

    def append(self, index: int, delta: str) -> None:
        if not delta:
            return
        pane = self.panes[index]
        pane.text.add(delta)
        pane.dirty = True
        self._pending = True
        self.tick()

    def reset(self, index: int, notice: str) -> None:
        """Forget a pane's text (its request is being retried) and show ``notice``."""
        pane = self.panes[index]
        pane.text.restart()
        pane.notice, pane.dirty, self._pending = notice, True, True
        self.tick()

    def finish_pane(
        self,
        index: int,
        status: str,
        text: str,
        *,
        footer: FooterInfo | None = None,
        error_message: str | None = None,
    ) -> None:
        """End one pane with the whole text that arrived, its status marker and footer."""
        pane = self.panes[index]
        if text != pane.text.text:
            pane.text.restart(text)
        pane.status, pane.notice = status, None
        pane.trailer = _trailer(status, text, footer, error_message)
        pane.dirty, self._pending = True, True
        self.tick()

    def tick(self) -> None:
        """Show what changed if the rate allows it now; call it when the streams are quiet."""
        now = self._clock()
        if self._last_publish is None or now - self._last_publish >= self._interval():
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Show what the rate limit held back, now."""
        if not self._pending:
            return
        self._last_publish = self._clock() if now is None else now
        self._pending = False
        self._handle.update(self._bundle(), self._metadata())

    def finish(self, summary: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        """The last render: every pane final, the summary line under them."""
        self.summary = summary or None
        self.metadata.update(metadata or {})
        for pane in self.panes:
            if pane.status == "streaming":
                pane.status, pane.notice, pane.dirty = "interrupted", None, True
                pane.trailer = _trailer("interrupted", pane.text.text, None, None)
        self._pending = True
        self.flush()

    # -- rendering --------------------------------------------------------------------

    def _interval(self) -> float:
        return max(self._min_interval, self._size / _GRID_RATE)

    def _bundle(self) -> dict[str, Any]:
        html = grid_html([pane.render() for pane in self.panes], self.summary)
        self._size = len(html)
        titles = [pane.title for pane in self.panes]
        return {
            "text/html": html,
            "text/plain": plain_text(titles, [pane.plain() for pane in self.panes], self.summary),
        }

    def _metadata(self) -> dict[str, Any]:
        own = self.metadata.get("aimo")
        record = dict(own) if isinstance(own, dict) else {}
        record.update(
            output="compare",
            panes=[{"title": p.title, "status": p.status} for p in self.panes],
        )
        return {**self.metadata, "aimo": record}


class TerminalPanes:
    """The answers one after the other on a text stream, each under its model's name."""

    def __init__(self, sink: TerminalSink, titles: Sequence[str]) -> None:
        self._sink = sink
        self.titles = list(titles)
        self._held: list[list[str]] = [[] for _ in self.titles]
        self._ends: list[str | None] = [None for _ in self.titles]
        self._finals: list[str | None] = [None for _ in self.titles]
        self._current = 0
        self._written = ""
        self._header(0)

    def _write(self, text: str) -> None:
        if text:
            self._sink.write(text)
            self._written += text

    def _header(self, index: int) -> None:
        if index < len(self.titles):
            prefix = "\n" if index else ""
            self._sink.write(f"{prefix}── {self.titles[index]} ──\n")
            self._written = ""

    def append(self, index: int, delta: str) -> None:
        if index == self._current:
            self._write(delta)
        else:
            self._held[index].append(delta)

    def reset(self, index: int, notice: str) -> None:
        if index == self._current:
            prefix = "" if not self._written or self._written.endswith("\n") else "\n"
            self._sink.write(f"{prefix}{self._sink.muted(f'[{notice}]')}\n")
            self._written = ""
        else:
            self._held[index].clear()

    def finish_pane(
        self,
        index: int,
        status: str,
        text: str,
        *,
        footer: FooterInfo | None = None,
        error_message: str | None = None,
    ) -> None:
        trailer = _trailer(status, text, footer, error_message)
        self._ends[index] = str(trailer["text/plain"]) if trailer else ""
        self._finals[index] = text
        while self._current < len(self.titles) and self._ends[self._current] is not None:
            self._close(self._current)
            self._current += 1
            self._header(self._current)
            if self._current < len(self.titles):
                self._write("".join(self._held[self._current]))
                self._held[self._current].clear()

    def _close(self, index: int) -> None:
        final = self._finals[index] or ""
        if final.startswith(self._written):
            self._write(final[len(self._written) :])
        if self._written and not self._written.endswith("\n"):
            self._sink.write("\n")
        if self._ends[index]:
            self._sink.write(self._sink.muted(str(self._ends[index])) + "\n")

    def tick(self) -> None:
        """Nothing waits: the current answer is written as it comes."""

    def flush(self, now: float | None = None) -> None:
        """Nothing waits: the current answer is written as it comes."""

    def finish(self, summary: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        for index in range(self._current, len(self.titles)):
            if self._ends[index] is None:
                text = "".join(self._held[index]) if index != self._current else self._written
                self.finish_pane(index, "interrupted", text)
        if summary:
            self._sink.write("\n" + self._sink.muted(summary) + "\n")


def pane_format(fmt: str) -> str:
    """The formats a pane can show; others are refused with one line."""
    name = normalize_format(fmt)
    if name not in PANE_FORMATS:
        raise ValueError(
            f"Compared answers are shown as {' or '.join(PANE_FORMATS)}, not {name}: "
            "use -f markdown or -f text."
        )
    return name


def compare_panes(
    titles: Sequence[str],
    fmt: str = "markdown",
    *,
    sink: DisplaySink | TerminalSink | None = None,
    min_interval: float = 0.1,
    metadata: dict[str, Any] | None = None,
) -> ComparePanes | TerminalPanes:
    """Panes in a notebook, answers one after the other in a terminal."""
    name = pane_format(fmt)
    chosen = sink if sink is not None else default_sink()
    if isinstance(chosen, TerminalSink):
        return TerminalPanes(chosen, titles)
    return ComparePanes(chosen, titles, name, min_interval=min_interval, metadata=metadata)
