"""Show a thread's messages: who said what, the functions the model called and what they
returned, with answers that were cut short marked.

THREAD defaults to the one %%aimo uses without -c. Text is shown as written, never
rendered, so nothing a model wrote can act on the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.conversation import DEFAULT_THREAD
from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.conversation import Thread
    from aimo_magic.magics.cmd._host import MagicsSurface

PARTIAL_MARK = "[partial: the answer was interrupted]"


def parser() -> CommandParser:
    p = CommandParser("history", __doc__)
    p.add_argument("thread", nargs="?", default=DEFAULT_THREAD, metavar="THREAD")
    return p


def history_lines(thread: Thread) -> list[str]:
    from aimo_magic.conversation import content_text
    from aimo_magic.magics.cmd._table import count

    lines = [f"Thread {thread.name!r}: {count(len(thread), 'turn')}."]
    if thread.system:
        lines += ["", "── system", thread.system]
    for number, turn in enumerate(thread.turns, start=1):
        mark = f" {PARTIAL_MARK}" if turn.partial else ""
        lines += ["", f"── {number}. user", content_text(turn.user)]
        for call in turn.tool_calls:
            function = call.get("function", {})
            lines += ["", f"── {number}. call {function.get('name')}({function.get('arguments')})"]
            lines.append(call["result"] if call["result"] is not None else "[no result]")
        lines += ["", f"── {number}. assistant ({turn.model}){mark}", turn.assistant]
    return lines


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.cmd._threads import existing_thread

    with user_errors(magics):
        thread = existing_thread(magics.session.conversations, args.thread)
    if thread is None or (not thread.turns and not thread.system):
        print(f"Thread {args.thread!r} has no messages yet.")
        return
    print("\n".join(history_lines(thread)))
