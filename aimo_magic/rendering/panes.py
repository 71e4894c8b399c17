"""Answers side by side: the HTML of a grid of panes and the summary line under it.

Only the frame is ours: each pane's answer arrives here as HTML the sanitiser has
already cleaned, and every other text that came from outside (model ids, provider
names, error messages) is escaped. The grid is a CSS grid of as many columns as panes,
at most four; a column never gets narrower than ``MIN_PANE_WIDTH``, so on a narrow page
panes wrap onto more rows, as do a fifth pane and beyond. Everything is inline styles
the sanitiser of an untrusted notebook keeps (see ``theme``): a saved comparison opened
by someone else still stands side by side, framed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from aimo_magic.rendering.footer import format_cost, format_seconds

if TYPE_CHECKING:
    from aimo_magic.core.pricing import PriceBasis
from aimo_magic.rendering.theme import themed

MAX_COLUMNS = 4
MIN_PANE_WIDTH = "16em"
GAP = "0.8em"
PLAIN_RULE = "──"

_GRID = (
    "display: grid; gap: {gap}; align-items: start; "
    "grid-template-columns: repeat(auto-fill, minmax(max({min}, calc(100% / {n} - {gap})), 1fr))"
)
_BORDER = "--jp-border-color2", "#ddd"
_GREY = themed("color", "--jp-ui-font-color2", "#888")
_PANE = (
    f"{themed('border', *_BORDER, prefix='1px solid')}; border-radius: 4px; "
    "padding: 0.2em 0.8em 0.4em; min-width: 0; overflow-x: auto"
)
_TITLE = (
    f"font-weight: bold; {themed('border-bottom', *_BORDER, prefix='1px solid')}; "
    "padding-bottom: 0.2em; margin-bottom: 0.3em; overflow-wrap: anywhere"
)
_MUTED = f"{_GREY}; font-size: 0.85em; margin-top: 0.4em"
_WAITING = f"{_GREY}; font-style: italic"


def columns_for(panes: int) -> int:
    """Columns on a wide page: one per pane up to ``MAX_COLUMNS``."""
    return max(1, min(panes, MAX_COLUMNS))


def waiting_html(message: str) -> str:
    """A muted line shown in a pane before its first text (or while it is retried)."""
    return f'<div style="{_WAITING}">{escape(message, quote=False)}</div>'


def pane_html(title: str, body_html: str, trailer_html: str, *, status: str) -> str:
    """One pane: its title, the (already sanitised) answer and its trailer."""
    return (
        f'<div class="aimo-pane" data-status="{escape(status)}" style="{_PANE}">'
        f'<div class="aimo-pane-title" style="{_TITLE}">{escape(title, quote=False)}</div>'
        f'<div class="aimo-pane-body">{body_html}</div>{trailer_html}</div>'
    )


def grid_html(panes: Sequence[str], summary: str | None = None) -> str:
    """The panes in a responsive grid, and the summary line under them if there is one."""
    style = _GRID.format(gap=GAP, min=MIN_PANE_WIDTH, n=columns_for(len(panes)))
    html = f'<div class="aimo-compare" style="{style}">{"".join(panes)}</div>'
    if summary:
        html += f'<div class="aimo-compare-summary" style="{_MUTED}">{escape(summary)}</div>'
    return html


@dataclass(frozen=True)
class Standing:
    """What the summary ranks for one pane; a pane that failed is ranked nowhere."""

    label: str
    ok: bool
    cost: float | None = None
    total_s: float | None = None


def ranking(shown: Sequence[tuple[str, str]]) -> str:
    """Labels with their figures in order, ``<`` between them, or ``=`` where the figures
    read the same: an order the shown figures cannot tell apart is not claimed."""
    text = ""
    for index, (label, figure) in enumerate(shown):
        if index:
            text += " = " if figure == shown[index - 1][1] else " < "
        text += f"{label} {figure}"
    return text


def summary_text(
    standings: Sequence[Standing],
    cost_unit: str | None = None,
    *,
    basis: PriceBasis | None = None,
) -> str:
    """One line ranking the answers by estimated cost and by total time.

    e.g. ``Cheapest: b ≈$0.0012 < a ≈$0.0031 · Fastest: a 1.2 s < b 2.3 s · Failed: c``;
    costs are written in ``basis`` (``core.pricing``), else with ``cost_unit`` named.
    """
    done = [s for s in standings if s.ok]
    parts: list[str] = []
    costs = sorted(
        ((s.label, s.cost) for s in done if s.cost is not None and math.isfinite(s.cost)),
        key=lambda item: item[1],
    )
    if costs and basis is not None and basis.dollars:
        from aimo_magic.core.pricing import money

        parts.append("Cheapest: " + ranking([(label, f"≈{money(c, basis)}") for label, c in costs]))
    elif costs:
        unit = cost_unit or (basis.currency if basis is not None else None)
        named = f" ({unit})" if unit else ""
        parts.append(
            "Cheapest: " + ranking([(label, f"≈{format_cost(c)}") for label, c in costs]) + named
        )
    times = sorted(  # a replayed answer recorded without its timings is not ranked
        ((s.label, s.total_s) for s in done if s.total_s is not None and math.isfinite(s.total_s)),
        key=lambda item: item[1],
    )
    if times:
        parts.append("Fastest: " + ranking([(label, format_seconds(t)) for label, t in times]))
    failed = [s.label for s in standings if not s.ok]
    if failed:
        parts.append("Not ranked (no complete answer): " + ", ".join(failed))
    return " · ".join(parts)


def plain_text(titles: Sequence[str], bodies: Sequence[str], summary: str | None = None) -> str:
    """The same content as text: each answer under its model's name, one after the other."""
    blocks = [
        f"{PLAIN_RULE} {title} {PLAIN_RULE}\n{body}".rstrip()
        for title, body in zip(titles, bodies, strict=True)
    ]
    if summary:
        blocks.append(summary)
    return "\n\n".join(blocks)
