"""Forget the key set with %aimo login (or the api_key setting) in this kernel.

Keys from the AIMO_API_KEY environment variable or Colab's secrets are not
touched; %aimo config shows which key is used next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    return CommandParser("logout", __doc__)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.secrets import mask

    session = magics.session
    had = bool(session.explicit_key)
    if magics.api_key:
        magics.api_key = None
    session.explicit_key = None
    session.close()
    key, source = session.find_key()
    next_key = f"now using {mask(key)} from {source}" if key else "no key is set now"
    done = "Forgot the key set in this kernel" if had else "No key was set in this kernel"
    print(f"{done}; {next_key}.")
