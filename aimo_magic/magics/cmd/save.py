"""Save this kernel's conversations, aliases and default model to a JSON file.

The file holds no API key; `%aimo load FILE` brings it all back after a kernel
restart or in another notebook. An existing FILE is replaced (atomically).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    p = CommandParser("save", __doc__)
    p.add_argument("file", metavar="FILE", help="where to write, e.g. chat.json")
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.cmd._sessionfile import write_session
    from aimo_magic.magics.cmd._table import count

    with user_errors(magics):
        written = write_session(magics, args.file)
    store = magics.session.conversations
    turns = sum(turns for _, turns in store.summary())
    aliases = count(len(magics.session.aliases), "alias", "aliases")
    model = f", default model {magics.model}" if magics.model else ""
    print(
        f"Saved {count(len(store), 'thread')} ({count(turns, 'turn')}), "
        f"{aliases}{model} to {written.resolve()} "
        f"(no API key in it). `%aimo load {args.file}` restores them."
    )
