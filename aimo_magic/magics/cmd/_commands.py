"""The subcommand table: ``%aimo NAME`` -> the module under ``aimo_magic.magics.cmd``
that runs it.

A plain dict so that a reader (and ``tests/test_structure.py``) sees every module the
dispatcher may load; the modules themselves are imported only when used, so
``%load_ext aimo_magic`` pays for none of them.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "alias": "alias",
    "answers": "answers",
    "budget": "budget",
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
    "providers": "providers",
    "reset": "reset",
    "save": "save",
    "select": "select",
    "tools": "tools",
    "unalias": "unalias",
    "usage": "usage",
    "use": "use",
    "version": "version",
}
