"""One card per function call, shown above the answer while the model uses tools.

A card shows the function's name, its arguments as the model writes them, its status
(writing, waiting for approval, running, done, failed, declined, refused, not run),
the time it took and a preview of its result; ``<details>`` folds it without any
script, so a saved notebook keeps the cards as plain HTML. Everything a model wrote
(names, arguments, results) is escaped and passed through the sanitiser: it shows as
text and can never act on the page. In a terminal each call is a plain line instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aimo_magic.rendering.sinks import DisplayHandle, DisplaySink, TerminalSink
from aimo_magic.rendering.theme import themed

PREVIEW_CHARS = 90
SHOWN_CHARS = 4_000
STATUS_WORDS = {
    "pending": "writing arguments…",
    "waiting": "waiting for approval",
    "running": "running…",
    "done": "done",
    "failed": "failed",
    "declined": "declined",
    "refused": "refused",
    "not run": "not run",
}
_OPEN_STATUSES = ("pending", "waiting", "running")
_GREY = themed("color", "--jp-ui-font-color2", "#888")
_COLOURS = {
    "done": themed("color", "--jp-success-color1", "#388e3c"),
    "failed": themed("color", "--jp-error-color1", "#d32f2f"),
    "refused": themed("color", "--jp-error-color1", "#d32f2f"),
    "waiting": themed("color", "--jp-warn-color0", "#b35c00"),
    "declined": themed("color", "--jp-warn-color0", "#b35c00"),
}
_CARD = (
    f"{themed('border-left', '--jp-border-color1', '#bbb', '3px solid')}; "
    "padding: 2px 8px; margin: 4px 0; font-size: 0.9em"
)
_PRE = "margin: 2px 0 4px 0; padding: 4px; white-space: pre-wrap; word-break: break-word"


def inert(text: str) -> str:
    """Model-written text as a block that shows the text and can do nothing else."""
    from aimo_magic.rendering.sanitize import clean_untrusted

    return clean_untrusted(f"<pre>{escape(text, quote=False)}</pre>").replace(
        "<pre>", f'<pre style="{_PRE}">', 1
    )


def one_line(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pretty_arguments(raw: str) -> str:
    """The arguments indented when they are JSON, else as written."""
    try:
        return json.dumps(json.loads(raw), indent=1, ensure_ascii=False)
    except ValueError:
        return raw


@dataclass
class Card:
    """What is known of one call so far."""

    name: str = ""
    pieces: list[str] = field(default_factory=list)
    status: str = "pending"
    result: str = ""
    seconds: float | None = None

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)

    def html(self) -> str:
        colour = _COLOURS.get(self.status, _GREY)
        seconds = f" · {self.seconds:.2f} s" if self.seconds is not None else ""
        preview = f" — {escape(one_line(self.result))}" if self.result else ""
        summary = (
            f"<summary><b>⚙ {escape(self.name or '…')}</b> "
            f'<span style="{colour}">{escape(STATUS_WORDS.get(self.status, self.status))}'
            f"</span>{seconds}"
            f'<span style="{_GREY}">{preview}</span></summary>'
        )
        body = [f'<div style="{_GREY}">arguments</div>', inert(pretty_arguments(self.arguments))]
        if self.result:
            shown = self.result[:SHOWN_CHARS] + ("…" if len(self.result) > SHOWN_CHARS else "")
            body += [f'<div style="{_GREY}">result</div>', inert(shown)]
        opened = " open" if self.status in _OPEN_STATUSES else ""
        return f'<div style="{_CARD}"><details{opened}>{summary}{"".join(body)}</details></div>'

    def text(self) -> str:
        seconds = f" ({self.seconds:.2f} s)" if self.seconds is not None else ""
        result = f": {one_line(self.result)}" if self.result else ""
        word = STATUS_WORDS.get(self.status, self.status)
        return f"⚙ {self.name}({one_line(self.arguments)}) → {word}{seconds}{result}"


class ToolCards:
    """The cards of one cell: one output above the answer, updated in place.

    Pieces of arguments refresh it at most every ``min_interval``; a change of status
    at once. ``open`` reserves the output before the answer's first text so the cards
    stay above it. In a terminal, a line per call when it settles or waits.
    """

    def __init__(
        self,
        sink: DisplaySink | TerminalSink,
        *,
        metadata: dict[str, Any] | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._metadata = {"aimo": {**(metadata or {}), "output": "tools"}}
        self._min_interval = min_interval
        self._clock = clock
        self._cards: dict[tuple[int, int], Card] = {}
        self._notes: list[tuple[int, str]] = []
        self._handle: DisplayHandle | None = None
        self._last: float | None = None
        self._stale = False

    @property
    def terminal(self) -> bool:
        return isinstance(self._sink, TerminalSink)

    @property
    def cards(self) -> list[Card]:
        return [self._cards[key] for key in sorted(self._cards)]

    def open(self) -> None:
        if not self.terminal and self._handle is None:
            assert not isinstance(self._sink, TerminalSink)
            self._handle = self._sink.open({"text/plain": ""}, self._metadata)

    def _card(self, step: int, index: int) -> Card:
        return self._cards.setdefault((step, index), Card())

    def written(self, step: int, index: int, name: str | None, piece: str) -> None:
        card = self._card(step, index)
        if name and not card.name:
            card.name = name
        if piece:
            card.pieces.append(piece)
        self._refresh(urgent=False)

    def changed(
        self,
        step: int,
        index: int,
        *,
        name: str,
        arguments: str,
        status: str,
        result: str = "",
        seconds: float | None = None,
    ) -> None:
        card = self._card(step, index)
        card.name, card.pieces = name, [arguments]
        card.status, card.result, card.seconds = status, result, seconds
        if self.terminal:
            if status not in ("pending", "running"):
                assert isinstance(self._sink, TerminalSink)
                self._sink.write(self._sink.muted(card.text()) + "\n")
            return
        self._refresh(urgent=True)

    def note(self, step: int, text: str) -> None:
        """What the model wrote beside its calls in a step (before the final answer)."""
        if text.strip():
            self._notes.append((step, text))
            self._refresh(urgent=True)

    def forget_step(self, step: int) -> None:
        """The step's stream started over: its calls will be written again."""
        for key in [key for key in self._cards if key[0] == step]:
            del self._cards[key]
        self._refresh(urgent=True)

    def finish(self) -> None:
        """The last render, with every piece that was held back."""
        if self._stale or self._cards or self._notes:
            self._refresh(urgent=True)

    def bundle(self) -> dict[str, Any]:
        parts: list[tuple[tuple[int, int], str, str]] = [
            ((step, index), card.html(), card.text()) for (step, index), card in self._cards.items()
        ]
        parts += [
            ((step, -1), f'<div style="{_GREY}">{inert(text)}</div>', text)
            for step, text in self._notes
        ]
        parts.sort(key=lambda part: part[0])
        count = len(self._cards)
        heading = f"{count} function call{'s' if count != 1 else ''}"
        html = f'<div style="{_GREY}">{heading}</div>' + "".join(p[1] for p in parts)
        plain = "\n".join([heading, *(p[2] for p in parts)])
        return {"text/html": html, "text/plain": plain}

    def _refresh(self, *, urgent: bool) -> None:
        if self.terminal:
            return
        now = self._clock()
        if not urgent and self._last is not None and now - self._last < self._min_interval:
            self._stale = True
            return
        self._last, self._stale = now, False
        bundle = self.bundle()
        if self._handle is None:
            assert not isinstance(self._sink, TerminalSink)
            self._handle = self._sink.open(bundle, self._metadata)
        else:
            self._handle.update(bundle, self._metadata)
