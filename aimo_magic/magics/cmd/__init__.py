"""``%aimo SUBCOMMAND``: each subcommand lives in its own module, imported on use.

A module defines ``run(magics, argv)``; its docstring's first line is the summary
``%aimo help`` lists, and an optional ``parser()`` gives its usage and options. The
table of names is ``_commands.COMMANDS``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._commands import COMMANDS

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def command_module(name: str) -> ModuleType | None:
    """The module of a subcommand, or None if this installation lacks it."""
    module = COMMANDS.get(name)
    if module is None:
        return None
    try:
        return importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{module}":
            raise
        return None


def dispatch(magics: MagicsSurface, line: str) -> Any:
    from aimo_magic.magics.failures import fail, line_words

    argv = line_words(magics, line, f"`%aimo {line}`")
    if not argv:
        argv = ["help"]
    name, rest = argv[0], argv[1:]
    if name in ("-h", "--help"):
        name = "help"
    if name not in COMMANDS:
        known = ", ".join(sorted(COMMANDS))
        raise fail(magics, f"Unknown subcommand {name!r}; try one of: {known} (`%aimo help`).")
    module = command_module(name)
    if module is None:
        raise fail(magics, f"`%aimo {name}` is not available in this installation.")
    return module.run(magics, rest)
