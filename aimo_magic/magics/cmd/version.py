"""Show the aimo-magic version and the HTML sanitiser in use, for bug reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic._version import __version__
from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    return CommandParser("version", __doc__)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.rendering.sanitize import describe

    print(f"aimo-magic {__version__}")
    print(f"HTML sanitiser: {describe()}")
