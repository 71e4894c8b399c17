"""The muted line under an answer (model, provider, tokens, cost, timings) and status notes.

Kept out of the answer's own bundle so ``text/markdown`` stays exactly what the
model wrote; the caller shows it as a separate output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from aimo_magic.core.types import Usage
from aimo_magic.rendering.theme import themed

if TYPE_CHECKING:
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.rendering.bundles import FormatError

Bundle = dict[str, Any]
Status = Literal["complete", "interrupted", "error", "partial"]
STATUSES: tuple[str, ...] = ("complete", "interrupted", "error", "partial")
# Given whether the answer has text and its format error, the output shown after it.
Trailer = Callable[[bool, "FormatError | None"], "Bundle | None"]

# Theme variables where the frontend has them (JupyterLab), plain colours elsewhere and
# in untrusted notebooks (see ``theme``).
_GREY = themed("color", "--jp-ui-font-color2", "#888")
_ORANGE = themed("color", "--jp-warn-color0", "#b35c00")
_RED = themed("color", "--jp-error-color1", "#d32f2f")
_MUTED = f"{_GREY}; font-size: 0.85em; margin-top: 0.2em"
_WARN = f"{_ORANGE}; font-weight: bold; margin-top: 0.3em"
_ERROR = f"{_RED}; font-weight: bold; margin-top: 0.3em"
_WARN_SMALL = f"{_ORANGE}; font-size: 0.85em"
_NOTICE = f"{_GREY}; font-style: italic"


@dataclass
class FooterInfo:
    """What the footer line says about one answer; every field but ``model`` is optional."""

    model: str
    provider: str | None = None
    usage: Usage | None = None
    cost: float | None = None
    cost_unit: str | None = None
    cost_basis: PriceBasis | None = None
    """How ``cost`` was read (``core.pricing``): shown as ``$0.0012`` in dollars, else
    with its listed units named; without it, ``cost_unit`` names the unit."""
    first_token_s: float | None = None
    total_s: float | None = None
    notes: list[str] = field(default_factory=list)


def format_cost(cost: float) -> str:
    """Two significant digits however small the price (0.0012, 0.000034, 2.5)."""
    from aimo_magic.core.pricing import two_digits

    return two_digits(cost)


def format_seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 1 else f"{value:.1f} s"


def footer_text(info: FooterInfo) -> str:
    """One line, e.g. ``openai/gpt-4o · via akash · 120 → 350 tokens · ≈0.0012 (unit) ·
    first token 0.31 s · 2.4 s``.

    Parts the caller does not know are left out rather than shown as blanks.
    """
    parts = [info.model]
    if info.provider:
        parts.append(f"via {info.provider}")
    if info.usage is not None:
        parts.append(f"{info.usage.prompt_tokens} → {info.usage.completion_tokens} tokens")
    if info.cost is not None and info.cost_basis is not None:
        from aimo_magic.core.pricing import money

        parts.append(f"≈{money(info.cost, info.cost_basis)}")
    elif info.cost is not None:
        unit = f" ({info.cost_unit})" if info.cost_unit else ""
        parts.append(f"≈{format_cost(info.cost)}{unit}")
    if info.first_token_s is not None:
        parts.append(f"first token {format_seconds(info.first_token_s)}")
    if info.total_s is not None:
        parts.append(format_seconds(info.total_s))
    parts.extend(note for note in info.notes if note)
    return " · ".join(parts)


def _div(style: str, text: str) -> str:
    return f'<div style="{style}">{escape(text, quote=False)}</div>'


def render_footer(info: FooterInfo) -> Bundle:
    """The footer as its own bundle: one muted HTML line and the same line as plain text."""
    line = footer_text(info)
    return {"text/html": _div(_MUTED, line), "text/plain": line}


def status_text(status: str, error_message: str | None, *, has_text: bool) -> str | None:
    """The marker line for an answer that did not complete, or None when it did."""
    if status not in STATUSES:
        raise ValueError(f"Unknown answer status {status!r}: use one of {', '.join(STATUSES)}.")
    detail = f": {error_message}" if error_message else ""
    if status == "interrupted":
        return f"■ Interrupted{detail} — " + ("partial answer" if has_text else "no answer")
    if status == "partial":
        return f"⚠ Partial answer{detail} — the response ended early"
    if status == "error":
        tail = " (partial answer above)" if has_text else ""
        return f"✖ Error{detail or (' — the answer stopped' if has_text else ' — no answer')}{tail}"
    return None


def render_trailer(
    status: str,
    *,
    footer: FooterInfo | None = None,
    error_message: str | None = None,
    has_text: bool = True,
    extra_errors: tuple[str, ...] = (),
) -> Bundle | None:
    """The status marker(s) and the footer as one output, or None when there is nothing to say."""
    html: list[str] = []
    plain: list[str] = []
    marker = status_text(status, error_message, has_text=has_text)
    if marker is not None:
        html.append(_div(_ERROR if status == "error" else _WARN, marker))
        plain.append(marker)
    for line in extra_errors:
        html.append(_div(_ERROR, f"✖ {line}"))
        plain.append(f"✖ {line}")
    if footer is not None:
        line = footer_text(footer)
        html.append(_div(_MUTED, line))
        plain.append(line)
    if not plain:
        return None
    return {"text/html": "".join(html), "text/plain": "\n".join(plain)}


def render_preface(lines: Sequence[str], warnings: Sequence[str] = ()) -> Bundle:
    """Small notes shown above an answer (what the prompt's placeholders became)."""
    html = [_div(_MUTED, line) for line in lines]
    html.extend(_div(_WARN_SMALL, f"⚠ {line}") for line in warnings)
    plain = [*lines, *(f"⚠ {line}" for line in warnings)]
    return {"text/html": "".join(html), "text/plain": "\n".join(plain)}


def render_notice(message: str) -> Bundle:
    """A transient muted note shown in place of an answer (e.g. while retrying)."""
    return {"text/html": _div(_NOTICE, message), "text/plain": message}
