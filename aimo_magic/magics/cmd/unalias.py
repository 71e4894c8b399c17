"""Forget an alias made with %aimo alias.

The default model is kept even if it was chosen through the alias, since
`%aimo use` stores the id the alias stood for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    p = CommandParser("unalias", __doc__)
    p.add_argument("name", metavar="NAME", help="the alias to forget")
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.failures import fail

    aliases = magics.session.aliases
    if args.name not in aliases:
        known = ", ".join(sorted(aliases)) or "none yet"
        raise fail(magics, f"No alias {args.name!r} (aliases: {known}); nothing changed.")
    target = aliases.pop(args.name)
    print(f"Forgot alias {args.name} (it stood for {target}).")
