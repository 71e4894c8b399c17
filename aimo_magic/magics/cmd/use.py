"""Set the default model for %%aimo cells, or show it.

MODEL is a routing name (openai/gpt-4o), a provider_pubkey:model_name id or an
alias, and is checked against the catalogue before anything changes. An alias is
stored as the id it stands for. Without MODEL, shows the current default.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command
from aimo_magic.magics.failures import user_errors

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    p = CommandParser("use", __doc__)
    p.add_argument("model", nargs="?", metavar="MODEL", help="model id or alias")
    p.add_argument("--clear", action="store_true", help="forget the default set here")
    return p


def describe_default(magics: MagicsSurface) -> str:
    from aimo_magic.core.config import ENV_MODEL

    session = magics.session
    current = session.default_model
    if not current:
        return (
            "No default model: pick one with `%aimo use MODEL` or `%aimo select`, "
            "or name it on the line (%%aimo MODEL)."
        )
    source = "" if magics.model else f" (from the {ENV_MODEL} environment variable)"
    resolved = session.default_model_id
    via = f" (alias for {resolved})" if resolved != current else ""
    return f"Default model: {current}{via}{source}."


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.magics.failures import fail

    if args.clear:
        if args.model:
            raise fail(magics, "Give MODEL or --clear, not both.")
        magics.model = None
        print("Cleared the default model. " + describe_default(magics))
        return
    if not args.model:
        print(describe_default(magics))
        return
    with user_errors(magics):
        check = magics.session.resolve(args.model)
    model_id = check.model_id or args.model
    magics.model = model_id
    alias = f" (alias {args.model})" if model_id != args.model else ""
    provider = f" served by {check.offer.name}" if check.offer else ""
    name = f": {check.model.display_name}" if check.model else " (not checked)"
    env = os.environ.get("AIMO_MODEL")
    note = f" It overrides AIMO_MODEL={env} for this kernel." if env and env != model_id else ""
    if check.note:
        print(check.note)
    print(f"Default model: {model_id}{alias}{name}{provider}.{note}")
