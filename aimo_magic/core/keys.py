"""Where the API key comes from: the call or the kernel, then the environment, then Colab.

One lookup for every front end, so ``%aimo config``, a cell, a batch and a comparison
agree on which key is used and can say where it was found. The key itself is never
returned in a form meant for printing: callers mask it (``core.secrets.mask``).
"""

from __future__ import annotations

import os
import sys

from aimo_magic.core.config import ENV_API_KEY

NO_KEY_HINT = (
    "Run `%aimo login` (hidden prompt), or set the AIMO_API_KEY environment variable "
    "before starting Jupyter; to try things offline, start the emulator with "
    "`import aimo_magic.emulator as e; e.start().configure()` or `aimo-magic emulator`."
)
SET_HERE = "set in this kernel (%aimo login or configuration)"


def colab_secret(name: str) -> str | None:
    """Colab keeps secrets in ``google.colab.userdata``; only asked for inside Colab."""
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata

        value = userdata.get(name)
    except Exception:  # not granted, not defined: both mean "no key from Colab"
        return None
    return str(value) if value else None


def find_key(explicit: str | None = None) -> tuple[str | None, str]:
    """The key and where it came from, in the documented order of precedence."""
    if explicit:
        return explicit, SET_HERE
    if os.environ.get(ENV_API_KEY):
        return os.environ[ENV_API_KEY], f"the {ENV_API_KEY} environment variable"
    from_colab = colab_secret(ENV_API_KEY)
    if from_colab:
        return from_colab, f"Colab's secrets ({ENV_API_KEY})"
    return None, "not set"


def require_key(key: str | None) -> str:
    """``key`` when there is one; else the one-line error that says how to set one."""
    if not key:
        from aimo_magic.core.errors import MissingKeyError

        raise MissingKeyError("No AiMo API key is set", hint=NO_KEY_HINT)
    return key
