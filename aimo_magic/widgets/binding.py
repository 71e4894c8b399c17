"""Which session a widget works on, and how a choice reaches ``%%aimo``.

With magics, a choice goes through ``magics.model`` so the traitlet, ``%config`` and
the session all agree; with only a session, through the session itself.

The magics stand above the widgets (``%aimo select`` shows this panel), so the
widgets never import them: they name what they need of them (``MagicsSettings``)
and find the loaded ones through IPython, the way ``%load_ext`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aimo_magic.session import AimoSession

if TYPE_CHECKING:
    from aimo_magic.core.resolution import Choices

EXTENSION = "aimo_magic"
MAGICS_CLASS = "AimoMagics"
"""The name IPython's magics registry keeps the extension's magics under."""


class MagicsSettings(Protocol):
    """What the panel reads and sets on the ``%%aimo`` magics."""

    model: str | None
    """The default model's trait (a model id or None); setting it tells the session."""

    @property
    def session(self) -> AimoSession: ...


@dataclass
class Binding:
    session: AimoSession
    magics: MagicsSettings | None = None
    fixed_options: Choices | None = None
    """Settings that win over the session's (else a changed ``%config AimoMagics.base_url``
    takes effect at the next load, through the session)."""

    def choose(self, model_id: str) -> None:
        if self.magics is not None:
            self.magics.model = model_id
        else:
            self.session.set_default_model(model_id)


def find_magics() -> MagicsSettings | None:
    """The magics of the running IPython, loading the extension if it is not loaded yet."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return None
    registry = shell.magics_manager.registry
    if MAGICS_CLASS not in registry:
        shell.extension_manager.load_extension(EXTENSION)
    found: MagicsSettings | None = registry.get(MAGICS_CLASS)
    return found


def bind(
    session: AimoSession | None,
    magics: MagicsSettings | None,
    options: Choices | None = None,
) -> Binding:
    """Outside IPython and without arguments, a fresh session configured from the environment."""
    if magics is not None:
        if session is not None and session is not magics.session:
            raise ValueError(
                "ModelSelector got a session and magics that do not belong together; "
                "pass only one of them."
            )
        return Binding(magics.session, magics, options)
    if session is not None:
        return Binding(session, None, options)
    found = find_magics()
    if found is not None:
        return Binding(found.session, found, options)
    return Binding(AimoSession(), None, options)
