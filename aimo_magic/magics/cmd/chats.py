"""List the conversation threads of this kernel with their number of turns.

The thread marked * is the one %%aimo continues when no -c NAME is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.conversation import DEFAULT_THREAD
from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    return CommandParser("chats", __doc__)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.cmd._table import Table

    store = magics.session.conversations
    summary = dict(store.summary())
    summary.setdefault(DEFAULT_THREAD, 0)
    rows = []
    for name, turns in summary.items():
        thread = store.thread(name) if name in store else None
        partial = sum(turn.partial for turn in thread.turns) if thread else 0
        details = [f"{partial} partial"] if partial else []
        if thread is not None and thread.system:
            details.append("system prompt")
        mark = "*" if name == DEFAULT_THREAD else ""
        rows.append((mark, name, str(turns), ", ".join(details)))
    Table(
        headers=("", "Thread", "Turns", "Notes"),
        rows=rows,
        notes=[
            "* is the thread %%aimo uses without -c. "
            "`%%aimo -c NAME` starts or continues another; `%aimo history NAME` shows one."
        ],
    ).show()
