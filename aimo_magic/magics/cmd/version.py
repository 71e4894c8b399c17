"""``%aimo version``: the package version, for bug reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aimo_magic._version import __version__

if TYPE_CHECKING:
    from aimo_magic.magics.magics import AimoMagics


def run(magics: AimoMagics, argv: list[str]) -> None:
    print(f"aimo-magic {__version__}")
