"""How a failed or interrupted cell ends: one clear line, no traceback wall.

The cell still ends in error (so Run All stops there, as for any failing cell);
only the presentation is short. ``--debug`` raises the original exception instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from IPython.core.error import UsageError

KEY_ON_LINE = (
    "Refused: an API key on the magic line would be saved in the notebook. "
    "Run `%aimo login` (hidden prompt) or set AIMO_API_KEY instead."
)


class CellFailed(Exception):
    """A problem the user can act on; its message is the whole story."""


class AnswerInterrupted(KeyboardInterrupt):
    """The user stopped an answer; the partial text stays visible above."""


class ShowsErrors(Protocol):
    """Whatever knows how this shell shows errors: the magics, or a cell's settings."""

    @property
    def short_errors(self) -> bool: ...


SHORT_ERRORS: tuple[type[BaseException], ...] = (CellFailed, AnswerInterrupted)

_RED, _RESET = "\x1b[31m", "\x1b[0m"


def fail(host: ShowsErrors, message: str) -> CellFailed | UsageError:
    """The exception that ends a cell with one line, whichever way errors are shown.

    Without our short-error handler (another extension holds IPython's one slot),
    IPython's UsageError is the nearest thing: it too prints only its message.
    """
    return CellFailed(message) if host.short_errors else UsageError(message)


def line_words(host: ShowsErrors, line: str, shown: str) -> list[str]:
    """The words of a magic line, split as a shell would (IPython keeps the quotes).

    A key on the line is refused before anything else, since the line is saved in
    the notebook; ``shown`` names the line in the message about unbalanced quotes.
    """
    import shlex

    from aimo_magic.core.secrets import looks_like_key

    if looks_like_key(line):
        raise fail(host, KEY_ON_LINE)
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise fail(host, f"Could not read {shown} ({exc}); check its quotes.") from None


@contextmanager
def user_errors(host: ShowsErrors, *, debug: bool = False) -> Iterator[None]:
    """Turn the errors a user can act on into the one-line failure of a magic.

    AimoError covers the network and catalogue, ValueError bad options, prompts,
    conversation files, thread names and settings, OSError the file system.
    ``debug`` lets the original exception through, traceback and all.
    """
    from aimo_magic.core.errors import AimoError

    try:
        yield
    except (AimoError, ValueError, OSError) as exc:
        if debug:
            raise
        raise fail(host, str(exc)) from None


@contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """Ctrl-C pressed again while a stop is under way is counted instead of raised.

    Stopping (cancelling the streams, their grace to finish, the last render and
    keeping what arrived) is short, and a second press in the middle of it would
    otherwise end the cell with a traceback from wherever it landed, and lose what
    the first press kept. Outside the main thread signals cannot be held: nothing
    changes there.
    """
    import signal
    import threading

    presses: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield presses
        return

    def count(signum: int, frame: Any) -> None:
        presses.append(signum)

    signal.signal(signal.SIGINT, count)
    try:
        yield presses
    finally:
        signal.signal(signal.SIGINT, previous)


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
