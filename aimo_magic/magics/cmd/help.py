"""List the subcommands, or show one's usage: %aimo help SUBCOMMAND.

`%aimo SUBCOMMAND --help` shows the same; `%%aimo?` lists the cell magic's options.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command, first_paragraph
from aimo_magic.magics.cmd._commands import COMMANDS

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface
    from aimo_magic.magics.cmd._table import Table

INTRO = (
    "%%aimo [MODEL] [options]: ask a model; the cell is the prompt. `%%aimo?` lists every option."
)
OUTRO = "`%aimo help SUBCOMMAND` or `%aimo SUBCOMMAND --help` shows one in full."


def parser() -> CommandParser:
    p = CommandParser("help", __doc__)
    p.add_argument("subcommand", nargs="?", metavar="SUBCOMMAND")
    return p


def subcommand_module(name: str) -> ModuleType | None:
    """A subcommand's module, or None if this installation lacks it.

    Loaded here rather than through the dispatcher, which loads this module: a
    subcommand never imports what dispatches it.
    """
    module = COMMANDS[name]
    try:
        return importlib.import_module(f"aimo_magic.magics.cmd.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"aimo_magic.magics.cmd.{module}":
            raise
        return None


def usage_and_summary(name: str, module: ModuleType | None) -> tuple[str, str]:
    if module is None:
        return f"%aimo {name}", "(not available in this installation)"
    summary = first_paragraph(module.__doc__)
    make_parser = getattr(module, "parser", None)
    usage = make_parser().usage_line() if make_parser else f"%aimo {name}"
    return usage.replace(" [-h]", ""), summary


def overview_rows() -> list[tuple[str, str]]:
    """Each subcommand's usage line and summary, by name."""
    return [usage_and_summary(name, subcommand_module(name)) for name in sorted(COMMANDS)]


def overview() -> str:
    """The subcommands as aligned text, for terminals."""
    rows = overview_rows()
    width = max(len(usage) for usage, _ in rows)
    lines = [
        INTRO,
        "",
        "Subcommands:",
        *(f"  {usage.ljust(width)}  {summary}" for usage, summary in rows),
        "",
        OUTRO,
    ]
    return "\n".join(lines)


def overview_table() -> Table:
    """The subcommands as a table, for notebooks: fixed-width columns wrap there
    into lines no one can read, while a table's cells wrap within themselves."""
    from aimo_magic.magics.cmd._table import Table

    return Table(
        headers=("Subcommand", "What it does"),
        rows=overview_rows(),
        title=INTRO,
        notes=[OUTRO],
        code_columns=frozenset({0}),
    )


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.cmd._table import show_bundle
    from aimo_magic.magics.failures import fail

    if args.subcommand is None:
        show_bundle(overview_table().to_html(), overview())
        return
    if args.subcommand not in COMMANDS:
        known = ", ".join(sorted(COMMANDS))
        raise fail(magics, f"No subcommand {args.subcommand!r}; the subcommands are: {known}.")
    module = subcommand_module(args.subcommand)
    make_parser = getattr(module, "parser", None)
    if make_parser is not None:
        print(make_parser().format_help().rstrip())
    else:
        usage, summary = usage_and_summary(args.subcommand, module)
        print(f"{usage}\n\n{(module.__doc__ if module else None) or summary}".rstrip())
