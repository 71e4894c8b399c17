"""Ask a model to explain the last error and suggest a fix.

Sends the last traceback and the source of the cells it passed through (keys are
masked) to MODEL or the default model. The answer goes to the thread `explain`,
started afresh each time, so your main conversation stays as it was; follow up
with `%%aimo -c explain`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface

THREAD = "explain"


def parser() -> CommandParser:
    p = CommandParser("explain", __doc__)
    p.add_argument("model", nargs="?", metavar="MODEL", help="model id or alias")
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.secrets import redact
    from aimo_magic.magics.ask import ask
    from aimo_magic.magics.cell_options import CellOptions
    from aimo_magic.magics.cmd._traceback import explain_prompt, last_error
    from aimo_magic.magics.failures import SHORT_ERRORS

    if isinstance(getattr(sys, "last_value", None), SHORT_ERRORS):
        print(
            f"The last error came from %%aimo itself ({redact(str(sys.last_value))}); "
            "its message already says what to do. `%aimo explain` is for Python errors."
        )
        return
    error = last_error(magics.shell)
    if error is None:
        print("No error to explain yet: run the cell that fails, then `%aimo explain`.")
        return
    print(f"Explaining: {redact(error.summary)}")
    # A fresh thread of its own, so the main conversation stays as it was; the
    # traceback goes as written (no placeholders are filled in it).
    options = CellOptions(model=args.model, chat=THREAD, new=True)
    ask(magics.ask_context(), options, redact(explain_prompt(error)))
