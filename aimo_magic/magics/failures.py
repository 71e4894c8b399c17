"""How a failed or interrupted cell ends: one clear line, no traceback wall.

The cell still ends in error (so Run All stops there, as for any failing cell);
only the presentation is short. ``--debug`` raises the original exception instead.
"""

from __future__ import annotations

import sys
from typing import Any


class CellFailed(Exception):
    """A problem the user can act on; its message is the whole story."""


class AnswerInterrupted(KeyboardInterrupt):
    """The user stopped an answer; the partial text stays visible above."""


SHORT_ERRORS: tuple[type[BaseException], ...] = (CellFailed, AnswerInterrupted)

_RED, _RESET = "\x1b[31m", "\x1b[0m"


def short_traceback(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """IPython custom-exception handler: show only the message, as UsageError does."""
    # As IPython does for any error, so `%aimo explain` knows this was the last one.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    label = "Interrupted" if issubclass(etype, KeyboardInterrupt) else "AiMo"
    stb = [f"{_RED}{label}:{_RESET} {value}"]
    shell._showtraceback(etype, value, stb)
    return stb


def install(shell: Any) -> bool:
    """Use IPython's single custom-exception slot unless another extension holds it."""
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if current and current != SHORT_ERRORS:
        return False
    shell.set_custom_exc(SHORT_ERRORS, short_traceback)
    return True


def uninstall(shell: Any) -> None:
    if tuple(getattr(shell, "custom_exceptions", ()) or ()) == SHORT_ERRORS:
        shell.set_custom_exc((), None)
