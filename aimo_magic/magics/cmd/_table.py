"""Tables shown as HTML in notebooks and as aligned text in terminals.

Both forms go out in one bundle so each frontend picks the one it can show; every
cell is escaped because much of what lands in these tables came from a server.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

TABLE_STYLE = "border-collapse:collapse;text-align:left"
CELL_STYLE = "text-align:left;vertical-align:top;padding:2px 8px"


@dataclass
class Table:
    """Rows of text cells; ``notes`` are shown under the table in both forms.

    ``code_columns`` are shown as code in HTML (commands a user may type).
    """

    headers: Sequence[str]
    rows: Sequence[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    title: str = ""
    code_columns: frozenset[int] = frozenset()

    def to_html(self) -> str:
        def cells(tag: str, values: Sequence[str]) -> str:
            return "".join(
                f'<{tag} style="{CELL_STYLE}">{self._cell_html(tag, n, value)}</{tag}>'
                for n, value in enumerate(values)
            )

        head = f"<thead><tr>{cells('th', self.headers)}</tr></thead>"
        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        notes = "".join(f"<p><small>{html.escape(note)}</small></p>" for note in self.notes)
        table = f'<table class="aimo-table" style="{TABLE_STYLE}">'
        return f"{title}{table}{head}<tbody>{body}</tbody></table>{notes}"

    def _cell_html(self, tag: str, column: int, value: str) -> str:
        escaped = html.escape(value)
        return f"<code>{escaped}</code>" if tag == "td" and column in self.code_columns else escaped

    def to_text(self) -> str:
        return "\n".join(
            ([self.title, ""] if self.title else [])
            + text_grid(self.headers, self.rows)
            + (["", *self.notes] if self.notes else [])
        )

    def show(self) -> None:
        show_bundle(self.to_html(), self.to_text())


def count(number: int, noun: str, plural: str = "") -> str:
    """``1 turn``, ``2 turns``; ``plural`` for nouns that do not just take an s."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def text_grid(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, with a rule under the headers."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def show_bundle(html_text: str, plain_text: str) -> None:
    """Display HTML for notebooks with the plain text that terminals fall back to."""
    from IPython.display import display

    display({"text/html": html_text, "text/plain": plain_text}, raw=True)
