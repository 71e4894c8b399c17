"""What a subcommand may use of the ``%%aimo`` magics, named so the subcommands never
import the magics class (it imports them to dispatch ``%aimo NAME``).

``AimoMagics`` has all of this; mypy checks that it fits wherever it is handed on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from traitlets import TraitType

    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.session import AimoSession


class MagicsSurface(Protocol):
    """The magics' settings (their traitlets), session and shell, as subcommands see them."""

    model: str | None
    api_key: str | None
    base_url: str
    cache: bool
    budget: Any  # a Float trait (None: no cap); traitlets' stubs type it loosely
    check_models: bool
    short_errors: bool
    shell: Any

    @property
    def session(self) -> AimoSession: ...

    def ask_context(self) -> AskContext: ...

    def traits(self, **metadata: Any) -> dict[str, TraitType[Any, Any]]: ...
