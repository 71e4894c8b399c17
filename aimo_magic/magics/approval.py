"""Who approves a call that needs it: the user at a prompt, or nobody (refused).

- ``--approve all``: every call runs, nobody is asked;
- a Jupyter front end that can answer (its request allows stdin, as JupyterLab's,
  Notebook 7's, VS Code's and JupyterLite's do): the stdin prompt, which the cell
  waits on, showing the function and its arguments;
- terminal IPython: the same prompt;
- nobody can answer (nbclient, ``aimo-magic demo``, CI: stdin not allowed, or not a
  terminal): the call is refused and the model is told it was not run.

Why not buttons: a running cell receives no widget messages, and the package that
polled for them (jupyter-ui-poll) relies on ``Kernel.do_one_iteration``, which
ipykernel 7 no longer has; the stdin prompt is the front ends' own way to wait on the
user, and it says when nobody is there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from aimo_magic.core.tool_loop import Approval
    from aimo_magic.core.tools import Tool
    from aimo_magic.core.types import ToolCall

Mode = Literal["prompt", "nobody"]
ANSWERS = {"y": "run", "yes": "run", "n": "skip", "no": "skip", "a": "all", "all": "all"}


def approval_mode(shell: Any) -> Mode:
    """How this kernel or terminal can ask the user, if at all."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:  # terminal IPython, or plain Python
        stdin = getattr(sys, "stdin", None)
        interactive = shell is not None and stdin is not None and stdin.isatty()
        return "prompt" if interactive else "nobody"
    if sys.platform == "emscripten":
        return "prompt"  # Pyodide's kernel: input() tells (None) when it cannot ask
    # nbclient and other headless runs say in their request that nobody can answer
    return "prompt" if getattr(kernel, "_allow_stdin", False) else "nobody"


def ask_on_prompt(call: ToolCall, tool: Tool, arguments: Mapping[str, Any]) -> str | None:
    """Ask with ``input()`` until the answer is y, n or a; None if nobody can answer."""
    from aimo_magic.core.tool_loop import NobodyToAsk

    shown = json.dumps(dict(arguments), ensure_ascii=False, default=str)
    question = f"Run {tool.name}({shown})? [y]es, [n]o, [a]ll for this cell: "
    for _ in range(5):
        try:
            answer = input(question)
        except (EOFError, OSError, RuntimeError, NotImplementedError) as exc:
            # IPython's StdinNotImplementedError is a NotImplementedError
            raise NobodyToAsk(str(exc)) from None
        if not isinstance(answer, str):
            # The JupyterLite site's kernel asks through the site's service worker; where
            # the browser runs none (not https or localhost, a private window...) its
            # input() gives None at once, without showing the question.
            raise NobodyToAsk("this page cannot show the question (no service worker)")
        decision = ANSWERS.get(answer.strip().lower())
        if decision is not None:
            return decision
    return "skip"


def approver(shell: Any, approve_all: bool) -> Approval:
    """The loop's ``approve`` argument for a cell."""
    if approve_all:
        return True
    return ask_on_prompt if approval_mode(shell) == "prompt" else None
