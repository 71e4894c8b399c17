"""An HTML picture of the selector, saved beside the live widget in its output.

Once widget state is gone (nbconvert, GitHub's viewer, a notebook saved without widget
state) a widget output is blank; frontends that cannot render the widget fall back to this
``text/html``. It shows what the panel showed: the count, the model list, the chosen
model's details and providers with their prices, and the default. Option labels are plain
text from the server and are escaped here; the other parts are the panel's own HTML,
already escaped by ``labels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from aimo_magic.widgets import labels

MAX_ROWS = 40
"""Most model rows in the snapshot; the live list scrolls, a saved page would not."""


@dataclass(frozen=True)
class PanelPicture:
    """What the panel shows, read from its parts."""

    status_html: str
    models: Sequence[str]
    selected_model: int | None
    details_html: str
    providers: Sequence[str]
    selected_provider: int | None
    default_html: str
    provider_heading: str = labels.PROVIDER_HEADING


def _items(labels: Sequence[str], selected: int | None, limit: int | None = None) -> str:
    shown = labels[:limit] if limit is not None else labels
    rows = [
        f"<li><b>{escape(label)}</b> ✓</li>" if i == selected else f"<li>{escape(label)}</li>"
        for i, label in enumerate(shown)
    ]
    if len(shown) < len(labels):
        rows.append(f"<li>… and {len(labels) - len(shown)} more</li>")
    return f"<ul>{''.join(rows)}</ul>" if rows else ""


def snapshot_html(picture: PanelPicture) -> str:
    parts = [
        "<div class='aimo-selector-snapshot'>",
        "<p><b>Model selector</b> (a saved picture: run the cell for the live panel)</p>",
        f"<p>{picture.status_html}</p>",
        _items(picture.models, picture.selected_model, MAX_ROWS),
    ]
    if picture.details_html:
        parts.append(f"<p>{picture.details_html}</p>")
    if picture.providers:
        parts.append(f"<p>{picture.provider_heading}</p>")
        parts.append(_items(picture.providers, picture.selected_provider))
    parts += [f"<p>{picture.default_html}</p>", "</div>"]
    return "".join(parts)
