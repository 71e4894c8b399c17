"""Aliases and the default model ride along in a conversation file, as extra keys.

The conversation reader ignores keys it does not know, so a file saved here still
loads with ``ConversationStore.load`` and a plain conversation file loads here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimo_magic.core.secrets import KEY_MARKER, looks_like_key

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface

ALIASES_KEY = "aliases"
MODEL_KEY = "default_model"


def session_dict(magics: MagicsSurface) -> dict[str, Any]:
    """Threads, aliases and the chosen default; refuses anything that looks like a key."""
    data = magics.session.conversations.to_dict()
    data[ALIASES_KEY] = dict(sorted(magics.session.aliases.items()))
    data[MODEL_KEY] = magics.model or None
    extras = json.dumps([data[ALIASES_KEY], data[MODEL_KEY]])
    if looks_like_key(extras):
        raise ValueError(
            f"Refusing to save: an alias or the default model looks like an API key "
            f"({KEY_MARKER}...); `%aimo unalias` it or `%aimo use` another model first."
        )
    return data


def write_session(magics: MagicsSurface, path: str | os.PathLike[str]) -> Path:
    from aimo_magic.conversation.persist import write_atomic

    text = json.dumps(session_dict(magics), ensure_ascii=False, indent=1, allow_nan=False)
    return write_atomic(path, text + "\n")


def read_extras(path: str | os.PathLike[str]) -> tuple[dict[str, str], str | None] | None:
    """Aliases and default model from a file, or None when the file cannot be read at all.

    An unreadable file is left to the conversation loader, whose message names the
    fault; a readable file with a malformed extra raises ValueError.
    """
    from aimo_magic.magics.cmd.alias import check_alias_name

    try:
        data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    aliases = data.get(ALIASES_KEY) or {}
    model = data.get(MODEL_KEY)
    where = f"{path}: "
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in aliases.items()
    ):
        raise ValueError(
            f'{where}"{ALIASES_KEY}" must map alias names to model ids; fix or remove it.'
        )
    for name in aliases:
        check_alias_name(name)
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ValueError(f'{where}"{MODEL_KEY}" must be a model id or null; fix or remove it.')
    if looks_like_key(json.dumps([aliases, model])):
        raise ValueError(f"{where}holds something that looks like an API key; not loaded.")
    return aliases, model
