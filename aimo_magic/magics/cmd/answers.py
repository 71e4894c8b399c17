"""Save the answers this notebook used to a file beside it, or answer from such a file.

  %aimo answers                      what is recorded and replayed now
  %aimo answers save FILE            every answer used so far (cells, --compare, batches,
                                     tool steps; live or from the cache) to FILE
  %aimo answers use FILE [--strict]  answer each request found in FILE from it, free
  %aimo answers off                  stop answering from the file

FILE is JSON lines (e.g. lesson.answers.jsonl): readable, diffable, meant to be
committed with the notebook. It holds what each request asked and what came back,
images only as their hash and size, never an API key. A request not in the file goes
to AiMo when a key is set; without one, or with --strict even with one, its cell
stops with one line (so CI can prove nothing is sent). AIMO_ANSWERS=FILE (and
AIMO_ANSWERS_STRICT=1) replay from the first request; aimo_magic.use_answers(FILE)
and aimo_magic.save_answers(FILE) do the same from Python.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.core.answer_book import Replay
    from aimo_magic.magics.cmd._host import MagicsSurface

ACTIONS = ("save", "use", "off")


def parser() -> CommandParser:
    p = CommandParser("answers", __doc__)
    p.add_argument("action", nargs="?", choices=ACTIONS, metavar="save|use|off")
    p.add_argument("file", nargs="?", metavar="FILE", help="the answer file (save, use)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="use: a request not in the file stops even with a key (nothing is sent)",
    )
    return p


def replay_line(replay: Replay, has_key: bool) -> str:
    """What answering from the file means now, in one line."""
    if replay.strict:
        rest = "anything else stops its cell (--strict: nothing is sent)"
    elif has_key:
        rest = "anything else goes to AiMo with the key set"
    else:
        rest = "anything else stops its cell (no API key is set)"
    return f"Answering from {replay.describe()}: each request in it is free; {rest}."


def status(magics: MagicsSurface) -> None:
    from aimo_magic.core.answer_book import LOG, replay_in_use
    from aimo_magic.magics.cmd._table import count

    used = count(len(LOG.answers), "answer")
    print(f"Recording: {used} used so far (`%aimo answers save FILE` writes them).")
    replay = replay_in_use()
    if replay is None:
        print("Replaying: no answer file (`%aimo answers use FILE` answers from one).")
    else:
        print(replay_line(replay, bool(magics.session.find_key()[0])))


def save(magics: MagicsSurface, file: str) -> None:
    from aimo_magic.core.answer_book import save_answers
    from aimo_magic.magics.cmd._table import count
    from aimo_magic.magics.failures import user_errors

    with user_errors(magics):
        saved = save_answers(file, catalogue=magics.session.cached_catalogue)
    models = " and the model list" if saved.models else ""
    print(
        f"Saved {count(saved.answers, 'answer')}{models} to {saved.path} (no API key in it). "
        f"`%aimo answers use {file}` answers from it, with or without a key."
    )


def use(magics: MagicsSurface, file: str, strict: bool) -> None:
    from aimo_magic.core.answer_book import use_answers
    from aimo_magic.magics.failures import user_errors

    with user_errors(magics):  # a bad AIMO_ANSWERS_PACE
        replay = use_answers(file, strict=strict, quiet=True)
    for problem in replay.problems:
        print(f"⚠ {problem}", file=sys.stderr)
    if len(replay) or not replay.problems:
        print(replay_line(replay, bool(magics.session.find_key()[0])))


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.answer_book import stop_using_answers
    from aimo_magic.magics.failures import fail

    action = args.action
    if args.strict and action != "use":
        raise fail(magics, "--strict goes with `%aimo answers use FILE`.")
    if action in ("save", "use") and not args.file:
        raise fail(magics, f"Name the file: `%aimo answers {action} FILE`.")
    if action not in ("save", "use") and args.file:
        raise fail(magics, "A FILE goes with `%aimo answers save FILE` or `use FILE`.")
    if action == "save":
        save(magics, args.file)
    elif action == "use":
        use(magics, args.file, args.strict)
    elif action == "off":
        stopped = stop_using_answers()
        if stopped is None:
            print("No answer file was in use.")
        else:
            print(f"No longer answering from {stopped.name}; requests go to the server.")
    else:
        status(magics)
