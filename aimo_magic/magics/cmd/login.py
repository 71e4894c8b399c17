"""Enter your API key at a hidden prompt; it stays in this kernel only.

The key is never written to the notebook, its outputs or any file, and is gone
when the kernel stops. Other ways, in the order they are tried: this, the
AIMO_API_KEY environment variable, then Colab's secrets (name AIMO_API_KEY).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface

PROMPT = "AiMo API key (hidden; kept in this kernel only): "


def parser() -> CommandParser:
    p = CommandParser("login", __doc__)
    p.add_argument("key", nargs="*", help=argparse.SUPPRESS)  # only to refuse it
    return p


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    import getpass

    from aimo_magic.core.secrets import KEY_MARKER, mask
    from aimo_magic.magics.failures import KEY_ON_LINE, fail

    if args.key:
        raise fail(magics, KEY_ON_LINE)
    try:
        key = getpass.getpass(PROMPT).strip()
    except (EOFError, KeyboardInterrupt):
        raise fail(magics, "No key entered; nothing changed.") from None
    except Exception as exc:  # ipykernel's StdinNotImplementedError: no prompt possible
        raise fail(
            magics,
            f"This frontend cannot show a prompt ({type(exc).__name__}); set AIMO_API_KEY "
            "in the environment before starting the kernel instead.",
        ) from None
    if not key:
        raise fail(magics, "No key entered; nothing changed.")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise fail(magics, "That key contains spaces or control characters; nothing changed.")
    magics.session.explicit_key = key
    warning = "" if key.startswith(KEY_MARKER) else f" (AiMo keys usually start with {KEY_MARKER})"
    print(
        f"Key {mask(key)} set for this kernel only{warning}; it is not saved in the "
        "notebook. `%aimo logout` forgets it."
    )
