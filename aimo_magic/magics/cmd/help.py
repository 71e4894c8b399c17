"""``%aimo help``: what each subcommand does."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aimo_magic.magics.magics import AimoMagics


def run(magics: AimoMagics, argv: list[str]) -> None:
    from aimo_magic.magics.cmd import COMMANDS

    lines = ["%%aimo [MODEL] [options]  ask a model (see %%aimo? for every option)", ""]
    for name, module in sorted(COMMANDS.items()):
        doc = importlib.import_module(f"aimo_magic.magics.cmd.{module}").__doc__ or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        lines.append(f"  {summary}" if summary else f"  %aimo {name}")
    print("\n".join(lines))
