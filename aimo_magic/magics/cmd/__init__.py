"""``%aimo SUBCOMMAND``: each subcommand lives in its own module, imported on use.

A module defines ``run(magics, argv)``; its docstring's first line is the summary
``%aimo help`` lists, and an optional ``parser()`` gives its usage and options.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.magics.magics import AimoMagics

# name -> module under aimo_magic.magics.cmd; each module defines run(magics, argv).
COMMANDS: dict[str, str] = {
    "alias": "alias",
    "cache": "cache",
    "chats": "chats",
    "config": "config",
    "explain": "explain",
    "help": "help",
    "history": "history",
    "load": "load",
    "login": "login",
    "logout": "logout",
    "models": "models",
    "reset": "reset",
    "save": "save",
    "select": "select",
    "unalias": "unalias",
    "usage": "usage",
    "use": "use",
    "version": "version",
}


def command_module(name: str) -> ModuleType | None:
    """The module of a subcommand, or None if this installation lacks it."""
    module = COMMANDS.get(name)
    if module is None:
        return None
    qualified = f"{__name__}.{module}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name != qualified:
            raise
        return None


def dispatch(magics: AimoMagics, line: str) -> Any:
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
