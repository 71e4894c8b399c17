"""Forget a thread's turns (keeping its system prompt), or every thread's with --all.

THREAD defaults to the one %%aimo uses without -c. The next %%aimo cell in that
thread starts with no history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    p = CommandParser("reset", __doc__)
    p.add_argument("thread", nargs="?", metavar="THREAD")
    p.add_argument("--all", action="store_true", help="forget the turns of every thread")
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.conversation import DEFAULT_THREAD
    from aimo_magic.magics.cmd._table import count
    from aimo_magic.magics.cmd._threads import existing_thread
    from aimo_magic.magics.failures import fail

    store = magics.session.conversations
    if args.all:
        if args.thread:
            raise fail(magics, "Give THREAD or --all, not both; nothing was reset.")
        dropped = store.reset_all()
        print(f"Forgot {count(dropped, 'turn')} across {count(len(store), 'thread')}.")
        return
    name = args.thread or DEFAULT_THREAD
    with user_errors(magics):
        thread = existing_thread(store, name)
    dropped = store.reset(name) if thread is not None else 0
    kept = " (its system prompt is kept)" if thread is not None and thread.system else ""
    print(f"Forgot {count(dropped, 'turn')} of thread {name!r}{kept}.")
