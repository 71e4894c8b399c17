"""Where a cell's request is built and run: the session, a snapshot of settings, the shell.

The ask path takes this instead of the magics object, so it depends on nothing
above it (the magics class and the subcommands import it, never the reverse), and
one cell sees one consistent set of settings even if it runs several requests.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.magics.figures import FigureMemory
    from aimo_magic.session import AimoSession


@dataclass(frozen=True)
class AskSettings:
    """How a cell shows and keeps its answers: the ``AimoMagics`` settings it reads,
    taken when the cell starts. Where its request goes is the session's to resolve."""

    default_format: str = "markdown"
    stream: bool = True
    render_rate: float = 10.0
    footer: bool = True
    history_turns: int = 50
    history_tokens: int = 0
    image_turns: int | None = None
    short_errors: bool = False
    cache: bool = False
    tools: str = ""
    """``--tools`` for cells that do not name their own (``%config AimoMagics.tools``)."""


@dataclass(frozen=True)
class AskContext:
    """What a request needs around it; ``shell`` is None outside IPython."""

    session: AimoSession
    settings: AskSettings
    shell: Any = None
    figures: FigureMemory | None = None
    """The last figure drawn, for ``{plt.gcf()}``; None outside IPython."""

    @property
    def code_language(self) -> str:
        """The kernel's language, whose code block ``-f code`` prefers ('python' in IPython)."""
        info = getattr(getattr(self.shell, "kernel", None), "language_info", None)
        name = info.get("name") if isinstance(info, dict) else None
        return name if isinstance(name, str) and name else "python"

    @property
    def namespace(self) -> MutableMapping[str, Any]:
        """The user's variables: placeholders read them and ``-o`` writes one."""
        return self.shell.user_ns if self.shell is not None else {}
