"""The loaded shells of this process: each one's notebook session and the front end that owns it.

The one registry of them: the extension adds a shell on ``%load_ext`` and removes it on
unload; Python code in a notebook (``aimo_magic.batch``, ``aimo_magic.compare``, the
selector) finds its session here, with no callback into the magics. It lives in the core,
below everything that asks, and imports no IPython.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.resolution import NotebookSession


@dataclass(frozen=True)
class Loaded:
    """One shell's extension: its session, the front end that owns it, and its cell hook."""

    session: NotebookSession
    owner: Any = None
    hook: Any = None


_LOADED: dict[int, Loaded] = {}


def register(shell: Any, entry: Loaded) -> None:
    _LOADED[id(shell)] = entry


def unregister(shell: Any) -> Loaded | None:
    return _LOADED.pop(id(shell), None)


def loaded(shell: Any) -> Loaded | None:
    return _LOADED.get(id(shell))


def current_session() -> NotebookSession | None:
    """The loaded extension's session in the running IPython, if any.

    Never imports IPython: outside IPython (a script, a dask worker) there is none.
    """
    if not _LOADED or "IPython" not in sys.modules:
        return None
    shell = sys.modules["IPython"].get_ipython()
    entry = _LOADED.get(id(shell)) if shell is not None else None
    return entry.session if entry is not None else None
