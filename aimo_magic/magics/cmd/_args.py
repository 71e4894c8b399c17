"""Argument parsing for subcommands that ends in one line instead of SystemExit.

argparse prints and exits on bad input, which in a kernel means a traceback wall;
this parser raises instead, and ``--help`` anywhere prints the usage and stops.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


class _Refused(Exception):
    """argparse's complaint, carried out of the parser instead of exiting."""


def first_paragraph(doc: str | None) -> str:
    """A docstring's summary: its first paragraph joined into one line, since a summary
    wrapped over two source lines would otherwise be shown cut mid-sentence."""
    paragraph = (doc or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


class CommandParser(argparse.ArgumentParser):
    """A parser for ``%aimo NAME`` whose description is its module's docstring."""

    def __init__(self, name: str, doc: str | None) -> None:
        summary, _, details = (doc or "").strip().partition("\n")
        super().__init__(
            prog=f"%aimo {name}",
            description=f"{summary.strip()}\n{details.rstrip()}".strip(),
            add_help=False,
            allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.summary = first_paragraph(doc)
        self.add_argument("-h", "--help", action="store_true", help=argparse.SUPPRESS)

    def usage_line(self) -> str:
        return " ".join(self.format_usage().removeprefix("usage:").split())

    def option_strings(self) -> list[str]:
        """Every visible option, for tab completion."""
        from aimo_magic.magics.parse_errors import option_strings

        return option_strings(self)

    def error(self, message: str) -> NoReturn:
        raise _Refused(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Refused(message or f"exit status {status}")


def parse(magics: MagicsSurface, parser: CommandParser, argv: Sequence[str]) -> Any:
    """The parsed arguments, or None once the usage has been printed for ``--help``."""
    from aimo_magic.magics.failures import fail
    from aimo_magic.magics.parse_errors import parse_error_line

    if "-h" in argv or "--help" in argv:
        print(parser.format_help().rstrip())
        return None
    try:
        return parser.parse_args(list(argv))
    except _Refused as exc:
        message = parse_error_line(parser.prog, parser, str(exc))
        raise fail(magics, f"{message} Usage: {parser.usage_line()}") from None


def command(
    make_parser: Callable[[], CommandParser],
) -> Callable[[Callable[[MagicsSurface, Any], Any]], Callable[[MagicsSurface, list[str]], Any]]:
    """Turn ``body(magics, args)`` into the ``run(magics, argv)`` the dispatcher calls."""

    def wrap(
        body: Callable[[MagicsSurface, Any], Any],
    ) -> Callable[[MagicsSurface, list[str]], Any]:
        def run(magics: MagicsSurface, argv: list[str]) -> Any:
            args = parse(magics, make_parser(), argv)
            return None if args is None else body(magics, args)

        run.__doc__ = body.__doc__
        return run

    return wrap
