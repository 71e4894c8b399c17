"""List the models on the network, with providers, ids, prices and context.

The list is fetched once per session and kept; --refresh fetches it again. SEARCH
keeps the models whose row contains every word given (case-insensitive), e.g.
`%aimo models gpt image` or `%aimo models free`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.core.errors import AimoError
    from aimo_magic.magics.cmd._host import MagicsSurface

USE_ANYWAY = (
    "You can still use a model by its id: `%%aimo MODEL` or `%aimo use MODEL` "
    "(sent unchecked; the server decides)."
)


def no_list(error: AimoError) -> str | None:
    """The line for a server that has no model list, or None for other failures."""
    from aimo_magic.core.model_check import NO_LIST_STATUSES

    if error.status not in NO_LIST_STATUSES:
        return None
    return (
        f"This server lists no models (its model list answered HTTP {error.status}). {USE_ANYWAY}"
    )


def parser() -> CommandParser:
    p = CommandParser("models", __doc__)
    p.add_argument("search", nargs="*", metavar="SEARCH", help="words that must all match")
    p.add_argument("--refresh", action="store_true", help="fetch the list again")
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.catalogue import DEFAULT_MARK
    from aimo_magic.core.errors import AimoError
    from aimo_magic.core.pricing import price_basis
    from aimo_magic.magics.cmd._models_table import (
        catalogue_html,
        catalogue_text,
        matches,
        price_note,
    )
    from aimo_magic.magics.cmd._table import show_bundle

    session = magics.session
    with user_errors(magics):
        try:
            models = session.catalogue(refresh=args.refresh)
        except AimoError as exc:
            line = no_list(exc)
            if line is None:
                raise
            print(line)
            return
    if not models:
        print(f"The server lists no models; check the base URL with `%aimo config`. {USE_ANYWAY}")
        return
    basis = price_basis(session.configured.price_unit, models)
    shown = [m for m in models if matches(m, args.search, basis)]
    if not shown:
        words = " ".join(args.search)
        print(
            f"No model matches {words!r} among {len(models)} models; "
            "try fewer or shorter words, or `%aimo models` for all of them."
        )
        return
    default = session.default_model_id
    what = f" matching {' '.join(args.search)!r}" if args.search else ""
    summary = f"{len(shown)} of {len(models)} models{what}."
    if default and any(default in m.ids for m in shown):
        summary += f" {DEFAULT_MARK}marks the default model ({default})."
    notes = [summary, price_note(basis), "Use one with `%aimo use MODEL` or `%%aimo MODEL`."]
    html_notes = "".join(f"<p><small>{html.escape(note)}</small></p>" for note in notes)
    show_bundle(
        catalogue_html(shown, default, basis) + html_notes,
        "\n".join([catalogue_text(shown, default, basis), "", *notes]),
    )
