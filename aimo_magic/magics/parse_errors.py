"""argparse's complaints as one line in our words, with a did-you-mean for typos.

Both the ``%%aimo`` line (IPython's parser) and the ``%aimo`` subcommands (ours)
end bad options here, so a typo reads the same everywhere:
``%%aimo: unrecognized arguments: --temprature 0.3; did you mean --temperature?``
"""

from __future__ import annotations

import argparse
import difflib
import re

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (?P<rest>.*)", re.DOTALL)


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """The options a user may type (``--help`` and hidden ones left out)."""
    return [
        option
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
    ]


def did_you_mean(parser: argparse.ArgumentParser, message: str) -> list[str]:
    """The known options closest to each unknown one that ``message`` names."""
    found = _UNRECOGNIZED.search(message)
    if found is None:
        return []
    known = option_strings(parser)
    suggestions: list[str] = []
    for word in found.group("rest").split():
        if not word.startswith("-"):
            continue
        typed = word.split("=", 1)[0]
        candidates = [typed, typed.replace("_", "-")]
        for candidate in candidates:
            close = difflib.get_close_matches(candidate, known, n=1, cutoff=0.6)
            if close:
                if close[0] not in suggestions:
                    suggestions.append(close[0])
                break
    return suggestions


def parse_error_line(prog: str, parser: argparse.ArgumentParser, message: str) -> str:
    """``prog: message.``, or ``prog: message; did you mean --x?`` for a recognisable typo."""
    line = f"{prog}: {message.strip().rstrip('.')}"
    close = did_you_mean(parser, message)
    return f"{line}; did you mean {' or '.join(close)}?" if close else f"{line}."
