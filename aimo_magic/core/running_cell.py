"""Which cell is running, as its prompt numbers it: for lines that name the cell.

Apart from ``core.notebooks`` (the registry of sessions) so that the client's answer
hook can name the cell without depending on the resolution of requests.
"""

from __future__ import annotations

import sys


def current_cell() -> str | None:
    """``cell [7]``: the running cell as its prompt numbers it, inside IPython; else None.

    Never imports IPython. Read from any thread (a batch's, a comparison's): the shell
    is the process's one. IPython counts the running cell before running it, so its
    prompt number (what ipykernel replies, and the front end shows) is one less.
    """
    if "IPython" not in sys.modules:
        return None
    shell = sys.modules["IPython"].get_ipython()
    count = getattr(shell, "execution_count", None) if shell is not None else None
    return f"cell [{count - 1}]" if isinstance(count, int) and count > 1 else None
