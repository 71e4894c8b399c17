"""``%aimo SUBCOMMAND``: each subcommand lives in its own module, imported on use."""

from __future__ import annotations

import importlib
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.magics.magics import AimoMagics

# name -> module under aimo_magic.magics.cmd; each module defines run(magics, argv).
COMMANDS: dict[str, str] = {
    "help": "help",
    "version": "version",
}


def dispatch(magics: AimoMagics, line: str) -> Any:
    from aimo_magic.magics.ask import fail

    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise fail(magics, f"Could not read `%aimo {line}` ({exc}); check its quotes.") from None
    if not argv:
        argv = ["help"]
    name, rest = argv[0], argv[1:]
    module = COMMANDS.get(name)
    if module is None:
        known = ", ".join(sorted(COMMANDS))
        raise fail(magics, f"Unknown subcommand {name!r}; try one of: {known} (`%aimo help`).")
    return importlib.import_module(f"aimo_magic.magics.cmd.{module}").run(magics, rest)
