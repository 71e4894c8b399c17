"""The last resort when no sanitiser is installed: text only, every character escaped.

Nothing from the input survives as markup: the HTML is reduced to its text (script
and style contents dropped, block ends as line breaks) and shown escaped inside a
``<pre>``. Formatting is lost, safety is not; ``%aimo config`` says this path is
active so nobody mistakes it for the real renderer.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from html.parser import HTMLParser

from aimo_magic.rendering import policy

NAME = "escape"
_BREAKS = frozenset({"br", "p", "div", "li", "tr", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in policy.CONTENT_DROPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in policy.CONTENT_DROPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def available() -> bool:
    return True


def version() -> str:
    return "built in"


def text_only(markup: str) -> str:
    """``markup`` as escaped plain text in a ``<pre>``: no element of it survives."""
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts).strip("\n")
    return f"<pre>{html.escape(text)}</pre>" if text else ""


def cleaners() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(rendered, untrusted) cleaning functions: the same text-only one for both."""
    return text_only, text_only
