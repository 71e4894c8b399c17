"""Approval in terminal IPython: the cell asks on the terminal and waits for the answer.

IPython runs in a pseudo-terminal (so stdin is a terminal, as for a person), against
the emulator; the test reads what it prints and types the answers.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-tools-terminal-11aa"
LINES = [
    "%load_ext aimo_magic",
    "import aimo_magic",
    "SAVED = []",
    "save_chart = aimo_magic.tool(approve=True, name='save_chart')("
    "lambda column, path: SAVED.append(path) or 'saved ' + path)",
]


class Terminal:
    """IPython on a pseudo-terminal: type lines, read until some text has appeared."""

    def __init__(self, env: dict[str, str]) -> None:
        self.fd, child = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "IPython", "--no-banner", "--simple-prompt", "--colors=nocolor"],
            stdin=child,
            stdout=child,
            stderr=child,
            env=env,
            close_fds=True,
        )
        os.close(child)
        self.seen = ""

    def type(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """Everything printed so far, once ``text`` is among it (what arrives decides)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.seen}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.seen

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
        os.close(self.fd)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_terminal_ipython_asks_before_a_call_and_runs_it_on_yes(emulator: EmulatorHandle) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMO_")}
    env.update(AIMO_BASE_URL=emulator.base_url, AIMO_API_KEY=KEY, TERM="dumb")
    terminal = Terminal(env)
    try:
        terminal.wait_for("In [1]:")
        for number, line in enumerate(LINES, start=2):
            terminal.type(line)
            terminal.wait_for(f"In [{number}]:")
        ask = "get_ipython().run_cell_magic('aimo', 'DeepSeek-V3-1 --tools save_chart', "
        terminal.type(ask + "'Please use save_chart.')")
        asked = terminal.wait_for("[a]ll for this cell: ")
        assert "Run save_chart({" in asked
        terminal.type("y")
        shown = terminal.wait_for("1 call in 2 steps")
        assert "⚙ save_chart(" in shown and "→ done" in shown
        terminal.type("print(len(SAVED), 'saved')")
        assert "1 saved" in terminal.wait_for("1 saved")
    finally:
        terminal.close()
