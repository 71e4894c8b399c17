"""Loading and unloading the extension: register magics, hooks and short errors."""

from __future__ import annotations

from typing import Any

from aimo_magic.core import notebooks
from aimo_magic.core.answer_log import LOG as ANSWERS_USED
from aimo_magic.magics import completion, failures
from aimo_magic.magics.aimo_magics import AimoMagics


def load(shell: Any) -> AimoMagics:
    """Register once per shell; loading again keeps the same session."""
    loaded = magics_for(shell)
    if loaded is not None:
        return loaded
    magics = AimoMagics(shell=shell)
    shell.register_magics(magics)

    def remember_cell_id(info: Any) -> None:
        magics.session.current_cell_id = getattr(info, "cell_id", None) or None

    shell.events.register("pre_run_cell", remember_cell_id)
    magics.figures.install(shell)
    magics.short_errors = failures.install(shell)
    completion.install(shell, magics)
    notebooks.register(shell, notebooks.Loaded(magics.session, magics, remember_cell_id))
    # Every answer the notebook uses is kept from now on, for `%aimo answers save`.
    ANSWERS_USED.start()
    return magics


def unload(shell: Any) -> None:
    entry = notebooks.unregister(shell)
    if entry is None:
        return
    magics: AimoMagics = entry.owner
    shell.events.unregister("pre_run_cell", entry.hook)
    magics.figures.uninstall(shell)
    failures.uninstall(shell)
    completion.uninstall(shell)
    magics.close()
    registry = shell.magics_manager.magics
    for kind in ("line", "cell"):
        registry[kind].pop("aimo", None)
    # Magics() put itself in shell.configurables and register_magics in the
    # registry; left there, `%config AimoMagics` would show (and set) this
    # unloaded object instead of the one a later %load_ext makes.
    configurables = getattr(shell, "configurables", None)
    if isinstance(configurables, list):
        configurables[:] = [c for c in configurables if c is not magics]
    if shell.magics_manager.registry.get(type(magics).__name__) is magics:
        del shell.magics_manager.registry[type(magics).__name__]


def magics_for(shell: Any) -> AimoMagics | None:
    """The loaded magics of a shell, for the widget and the Python API."""
    entry = notebooks.loaded(shell)
    owner = entry.owner if entry is not None else None
    return owner if isinstance(owner, AimoMagics) else None
