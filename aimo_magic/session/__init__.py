"""What one kernel session knows, in modules with one job each.

``notebook`` holds ``AimoSession`` (key, settings, default model, aliases, threads,
usage, the kept client and model list) and ``answer_store`` the session's answer cache.
The loaded shells are registered in ``core.notebooks``. None of them imports IPython.
"""

from __future__ import annotations

from aimo_magic.session.notebook import AimoSession

__all__ = ["AimoSession", "current_session"]


def current_session() -> AimoSession | None:
    """The loaded extension's session in the running IPython, if any (``core.notebooks``)."""
    from aimo_magic.core.notebooks import current_session as registered

    found = registered()
    return found if isinstance(found, AimoSession) else None
