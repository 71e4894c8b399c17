"""A real IPython kernel driven over jupyter_client, with every iopub message kept.

Tests see exactly what a frontend would: display_data, update_display_data,
stream and error messages, and the execute reply, in order.
"""

from __future__ import annotations

import os
import queue
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import KernelManager

AIMO_THREADS_LEFT = """
import threading
for _thread in threading.enumerate():
    if _thread.name.startswith("aimo"):
        _thread.join(60)
print(sum(t.name.startswith("aimo") and t.is_alive() for t in threading.enumerate()))
"""
"""A cell that waits for the package's threads (``aimo-batch``, ``aimo-render-flush``...) to
end, then prints how many are left: once none is, nothing can send or show anything more."""


@dataclass
class CellRun:
    """What one execution sent to the frontend."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    """Messages that arrived meanwhile on behalf of other cells (e.g. a late timer's)."""

    @property
    def status(self) -> str:
        return str(self.reply["content"]["status"])

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stdout"
        )

    @property
    def stderr(self) -> str:
        return "".join(
            m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == "stderr"
        )

    @property
    def error(self) -> dict[str, Any] | None:
        errors = self.of_type("error")
        return errors[-1]["content"] if errors else None

    def final_outputs(self) -> list[dict[str, Any]]:
        """The displays as a frontend ends up showing them: each id at its last update."""
        outputs: list[dict[str, Any]] = []
        by_id: dict[str, dict[str, Any]] = {}
        for message in self.messages:
            kind, content = message["msg_type"], message["content"]
            if kind in ("display_data", "execute_result"):
                output = {"data": content["data"], "metadata": content.get("metadata", {})}
                outputs.append(output)
                display_id = content.get("transient", {}).get("display_id")
                if display_id:
                    by_id[display_id] = output
            elif kind == "update_display_data":
                target = by_id.get(content["transient"]["display_id"])
                if target is not None:
                    target["data"] = content["data"]
                    target["metadata"] = content.get("metadata", {})
            elif kind == "clear_output":
                outputs.clear()
                by_id.clear()
        return outputs

    def html(self) -> str:
        return "".join(o["data"].get("text/html", "") for o in self.final_outputs())

    def plain(self) -> str:
        return "".join(o["data"].get("text/plain", "") for o in self.final_outputs())


class Kernel:
    """One ipykernel process with its own environment."""

    def __init__(self, env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        kernel_env = {k: v for k, v in os.environ.items() if not k.startswith("AIMO_")}
        kernel_env.update(env or {})
        kernel_env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        self.manager = KernelManager(kernel_name="python3")
        self.manager.kernel_cmd = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ]
        self.manager.start_kernel(env=kernel_env, cwd=cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(
        self,
        code: str,
        *,
        cell_id: str | None = None,
        timeout: float = 60,
        interrupt_when: Callable[[CellRun], bool] | None = None,
        while_running: Callable[[CellRun], None] | None = None,
        answer_input: Any = None,
        on_message: Any = None,
    ) -> CellRun:
        """Run code and collect what it sends until the kernel is idle again.

        Tests synchronise on events, never on time: ``interrupt_when(run)`` is asked after
        every message and every empty poll (a few times a second at least), and the kernel
        is interrupted once it says True; it can look at what the cell has shown so far and
        at what a server has received. ``while_running(run)`` is called at the same moments,
        e.g. to release an answer a server holds once the cell has shown what it must.
        ``timeout`` only bounds a failure.

        ``answer_input(prompt) -> str`` answers ``input()`` as a front end's stdin box
        would (the request then allows stdin, as JupyterLab's do; without it stdin is
        not allowed, as in nbclient). ``on_message(kernel, run, message)`` sees each
        message of the cell as it arrives, to act as a front end would (click a button).
        """
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": answer_input is not None,
            "stop_on_error": True,
        }
        message = self.client.session.msg("execute_request", content)
        if cell_id is not None:
            message["metadata"]["cellId"] = cell_id
        self.client.shell_channel.send(message)
        msg_id = message["header"]["msg_id"]
        run = CellRun(reply={})
        deadline = time.monotonic() + timeout
        interrupted = False
        idle = False
        while not idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"cell did not finish within {timeout} s: {code[:60]!r}")
            if answer_input is not None:
                self._answer_stdin(answer_input)
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                msg = None
            if msg is not None and msg["parent_header"].get("msg_id") != msg_id:
                run.others.append(msg)
            elif msg is not None and msg["msg_type"] == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif msg is not None:
                msg["received"] = time.monotonic()  # for benchmarks' figures; tests never time
                run.messages.append(msg)
                if on_message is not None:
                    on_message(self, run, msg)
            if idle:
                break
            if while_running is not None:
                while_running(run)
            if not interrupted and interrupt_when is not None and interrupt_when(run):
                self.manager.interrupt_kernel()
                interrupted = True
        while True:
            reply = self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                run.reply = reply
                return run

    def _answer_stdin(self, answer_input: Any) -> None:
        try:
            request = self.client.get_stdin_msg(timeout=0.01)
        except queue.Empty:
            return
        if request["msg_type"] == "input_request":
            self.client.input(answer_input(request["content"]["prompt"]))

    def send_comm_message(self, comm_id: str, data: dict[str, Any]) -> None:
        """A front end's message to a widget (a button's click, say)."""
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(message)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@contextmanager
def aimo_kernel(
    base_url: str, key: str, setup: str, cache_dir: str | None = None
) -> Iterator[Kernel]:
    """A kernel pointed at an emulator that has run ``setup`` (which must succeed);
    ``cache_dir`` is its AIMO_CACHE_DIR (else the default place)."""
    env = {"AIMO_BASE_URL": base_url, "AIMO_API_KEY": key}
    if cache_dir is not None:
        env["AIMO_CACHE_DIR"] = cache_dir
    running = Kernel(env=env)
    try:
        done = running.execute(setup)
        assert done.status == "ok", done.error or done.stderr
        yield running
    finally:
        running.close()


def run_ok(kernel: Kernel, code: str, **options: Any) -> CellRun:
    """Run ``code`` and check it ended without an error (the error is the failure's message)."""
    run = kernel.execute(code, **options)
    assert run.status == "ok", (code, run.error, run.stderr[-2000:])
    return run
