"""Load conversations (and any aliases and default model) saved with %aimo save.

The file's threads replace this kernel's threads, or only same-named ones with
--merge. The whole file is checked first: a bad file changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    p = CommandParser("load", __doc__)
    p.add_argument("file", metavar="FILE", help="a file written by %%aimo save")
    p.add_argument("--merge", action="store_true", help="keep threads the file does not have")
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.cmd._sessionfile import read_extras
    from aimo_magic.magics.cmd._table import count

    store = magics.session.conversations
    with user_errors(magics):
        extras = read_extras(args.file)
        names = store.load(args.file, merge=args.merge)
    restored = []
    if extras is not None:
        aliases, model = extras
        magics.session.aliases.update(aliases)
        if aliases:
            restored.append(count(len(aliases), "alias", "aliases"))
        if model:
            magics.model = model
            restored.append(f"the default model {model}")
    threads = ", ".join(f"{name} ({count(len(store.thread(name)), 'turn')})" for name in names)
    also = f"; restored {' and '.join(restored)}" if restored else ""
    print(f"Loaded {count(len(names), 'thread')} from {args.file}: {threads or 'none'}{also}.")
