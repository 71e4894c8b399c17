"""Give a model a short name to use in %%aimo lines and %aimo use, or list them.

`%aimo alias fast openai/gpt-4o-mini` makes `%%aimo fast` ask that model. MODEL is
checked against the catalogue; NAME must be one word that is not itself a model id.
`%aimo alias` lists the aliases; `%aimo alias NAME` shows one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface

ALIAS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,39}")


def parser() -> CommandParser:
    p = CommandParser("alias", __doc__)
    p.add_argument("name", nargs="?", metavar="NAME", help="the short name")
    p.add_argument("model", nargs="?", metavar="MODEL", help="model id (or another alias)")
    return p


def check_alias_name(name: str) -> str:
    """The name if usable as an alias, else ValueError saying what is allowed."""
    if not ALIAS_NAME.fullmatch(name):
        raise ValueError(
            f"Alias name {name!r} is not usable: use one word of up to 40 letters, digits, "
            "'_', '.' or '-', starting with a letter (e.g. fast or gpt4)."
        )
    return name


def list_aliases(magics: MagicsSurface) -> None:
    from aimo_magic.magics.cmd._table import Table

    aliases = magics.session.aliases
    if not aliases:
        print("No aliases yet: `%aimo alias NAME MODEL` makes one.")
        return
    Table(
        headers=("Alias", "Model"),
        rows=[(name, target) for name, target in sorted(aliases.items())],
        notes=["Use an alias wherever a model id goes: %%aimo NAME, %aimo use NAME."],
    ).show()


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.catalogue import find_model
    from aimo_magic.magics.failures import fail

    session = magics.session
    if args.name is None:
        list_aliases(magics)
        return
    if args.model is None:
        target = session.aliases.get(args.name)
        if target is None:
            raise fail(magics, f"No alias {args.name!r}; `%aimo alias` lists them.")
        print(f"{args.name} → {target}")
        return
    with user_errors(magics):
        check_alias_name(args.name)
        check = session.resolve(args.model)
        target = check.model_id or args.model
        if find_model(session.cached_catalogue or (), args.name) is not None:
            raise ValueError(f"{args.name!r} is already a model id; pick another alias name.")
    previous = session.aliases.get(args.name)
    session.aliases[args.name] = target
    replaced = f" (was {previous})" if previous and previous != target else ""
    name = check.model.display_name if check.model else "not checked"
    if check.note:
        print(check.note)
    print(f"Alias {args.name} → {target} ({name}){replaced}.")
