"""Which session a widget works on, and how a choice reaches ``%%aimo``.

With magics, a choice goes through ``magics.model`` so the traitlet, ``%config`` and
the session all agree; with only a session, through the session itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aimo_magic.session import AimoSession

if TYPE_CHECKING:
    from aimo_magic.core.resolution import Choices
    from aimo_magic.magics.magics import AimoMagics


@dataclass
class Binding:
    session: AimoSession
    magics: AimoMagics | None = None
    fixed_options: Choices | None = None
    """Settings that win over the session's (else a changed ``%config AimoMagics.base_url``
    takes effect at the next load, through the session)."""

    def choose(self, model_id: str) -> None:
        if self.magics is not None:
            self.magics.model = model_id
        else:
            self.session.set_default_model(model_id)


def find_magics() -> AimoMagics | None:
    """The magics of the running IPython, loading the extension if it is not loaded yet."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return None
    from aimo_magic.magics.extension import load, magics_for

    return magics_for(shell) or load(shell)


def bind(
    session: AimoSession | None,
    magics: AimoMagics | None,
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
