"""The ``aimo-magic`` command: the emulator, headless example runs, the version.

Subcommands import their modules only when chosen, so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys

from aimo_magic._version import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aimo-magic",
        description="Jupyter magics for the AiMo Network. In a notebook: %load_ext aimo_magic",
    )
    parser.add_argument("--version", action="version", version=f"aimo-magic {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "emulator",
        help="run the local AiMo emulator on loopback (see `aimo-magic emulator --help`)",
        add_help=False,
    )
    demo = commands.add_parser(
        "demo",
        help="run an example notebook headlessly against the emulator and save the result",
    )
    demo.add_argument(
        "notebook", nargs="?", default="examples/quickstart.ipynb", help="notebook to run"
    )
    demo.add_argument("-o", "--output", help="where to write the executed notebook")
    demo.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    source = demo.add_mutually_exclusive_group()
    source.add_argument(
        "--answers",
        metavar="FILE",
        help="answer from this answer file only, strictly: nothing is sent (for CI)",
    )
    source.add_argument(
        "--record",
        metavar="FILE",
        help="run without any answer file, then save every answer used to FILE",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "emulator":
        from aimo_magic.emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from aimo_magic.demo import run_demo

        return run_demo(
            args.notebook,
            output=args.output,
            timeout=args.timeout,
            answers=args.answers,
            record=args.record,
        )
    _build_parser().print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
