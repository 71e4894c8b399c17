"""Keys and settings in a real kernel: login at a hidden prompt, the lookup order
(explicit, AIMO_API_KEY, Colab's secrets), a profile's ipython_config.py, and tab
completion that never fetches.

The kernel gets a stand-in ``google.colab.userdata`` on its PYTHONPATH that reads
the secret from the variable FAKE_COLAB_AIMO_API_KEY, and an IPYTHONDIR whose
profile sets one AimoMagics trait.
"""

from __future__ import annotations

import json
import queue
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel
from test_subcommands import TEST_KEY, complete, ok, refused, start_kernel, state

from aimo_magic.emulator import BROKE_KEY, EXPIRED_KEY, EmulatorHandle

pytestmark = pytest.mark.kernel

FAKE_USERDATA = '''
"""A stand-in for Colab's secrets API: the secret comes from an environment variable."""
import os


class SecretNotFoundError(Exception):
    pass


def get(name):
    value = os.environ.get("FAKE_COLAB_" + name)
    if value is None:
        raise SecretNotFoundError(name)
    return value
'''
ASK = "%%aimo openai/gpt-4o --no-history\n::echo which key"


def execute_with_input(kernel: Kernel, code: str, answer: str) -> tuple[CellRun, dict[str, Any]]:
    """Run a cell that prompts, answer the prompt as a frontend would, keep what it shows."""
    client = kernel.client
    msg_id = client.execute(code, allow_stdin=True, stop_on_error=True)
    request = client.get_stdin_msg(timeout=30)
    assert request["msg_type"] == "input_request"
    client.input(answer)
    run = CellRun(reply={})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        run.messages.append(msg)
    while not run.reply:
        reply = client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            run.reply = reply
    return run, dict(request["content"])


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    root = tmp_path_factory.mktemp("keys")
    colab = root / "site" / "google" / "colab"
    colab.mkdir(parents=True)
    (colab / "__init__.py").write_text("")
    (colab / "userdata.py").write_text(FAKE_USERDATA)
    profile = root / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text("c.AimoMagics.history_turns = 7\n")
    running = start_kernel(
        emulator, PYTHONPATH=str(root / "site"), IPYTHONDIR=str(root / "ipython")
    )
    try:
        yield running
    finally:
        running.close()


def everything_shown(run: CellRun) -> str:
    return json.dumps([m["content"] for m in run.messages])


def test_tab_completion_never_fetches_the_catalogue(kernel: Kernel) -> None:
    assert state(kernel)["catalogue"] is None, "this test needs a kernel that has not listed models"
    assert "openai/gpt-4o" not in complete(kernel, "%aimo use openai/")["matches"]
    assert state(kernel)["catalogue"] is None
    ok(kernel, "%aimo models")
    assert "openai/gpt-4o" in complete(kernel, "%aimo use openai/")["matches"]


def test_a_profile_config_file_sets_a_trait(kernel: Kernel) -> None:
    probe = "from aimo_magic.magics.extension import magics_for\n"
    probe += "print(magics_for(get_ipython()).history_turns)"
    assert ok(kernel, probe).stdout.strip() == "7"
    assert re.search(r"AimoMagics\.history_turns\s+7\s", ok(kernel, "%aimo config").plain())


def test_login_needs_a_frontend_that_can_prompt(kernel: Kernel) -> None:
    message = refused(kernel, "%aimo login")  # the harness sends allow_stdin=False
    assert "cannot show a prompt" in message and "AIMO_API_KEY" in message
    assert state(kernel)["explicit_key"] is False


def test_login_with_nothing_typed_changes_nothing(kernel: Kernel) -> None:
    run, _ = execute_with_input(kernel, "%aimo login", "   ")
    assert run.status == "error" and run.error is not None
    assert "No key entered; nothing changed." in run.error["evalue"]
    assert state(kernel)["explicit_key"] is False


def test_key_lookup_order_login_env_colab_none(kernel: Kernel) -> None:
    # 1. The environment's key is used when nothing else is set.
    ok(kernel, ASK)
    assert "the AIMO_API_KEY environment variable" in ok(kernel, "%aimo config").plain()

    # 2. A key entered at the hidden prompt wins over the environment.
    run, request = execute_with_input(kernel, "%aimo login", BROKE_KEY)
    assert request["password"] is True
    assert run.status == "ok", run.error
    assert "aimo-sk-…roke set for this kernel only" in run.stdout
    assert BROKE_KEY not in everything_shown(run) and BROKE_KEY not in request["prompt"]
    assert "Insufficient balance" in refused(kernel, ASK)
    config = ok(kernel, "%aimo config")
    assert "set in this kernel" in config.plain() and BROKE_KEY not in everything_shown(config)

    # 3. Logging out falls back to the environment.
    out = ok(kernel, "%aimo logout").stdout
    assert out.startswith("Forgot the key set in this kernel; now using aimo-sk-…0000")
    ok(kernel, ASK)

    # 4. In Colab, the environment still wins; without it, Colab's secret is used.
    setup = f"import os, google.colab\nos.environ['FAKE_COLAB_AIMO_API_KEY'] = {EXPIRED_KEY!r}"
    ok(kernel, setup)
    ok(kernel, ASK)
    ok(kernel, "del os.environ['AIMO_API_KEY']")
    assert "Expired" in refused(kernel, ASK)
    config = ok(kernel, "%aimo config")
    assert "Colab's secrets (AIMO_API_KEY)" in config.plain()
    assert EXPIRED_KEY not in everything_shown(config)

    # 5. With no key anywhere, the message says how to provide one.
    ok(kernel, "del os.environ['FAKE_COLAB_AIMO_API_KEY']")
    message = refused(kernel, ASK)
    assert "No AiMo API key is set" in message and "%aimo login" in message
    assert "AIMO_API_KEY" in message
    assert re.search(r"key source\s+not set\s", ok(kernel, "%aimo config").plain())
    ok(kernel, f"os.environ['AIMO_API_KEY'] = {TEST_KEY!r}")
    ok(kernel, ASK)


def test_saved_files_never_hold_the_login_key(kernel: Kernel, tmp_path: Path) -> None:
    run, _ = execute_with_input(kernel, "%aimo login", TEST_KEY.replace("0000", "7777"))
    assert run.status == "ok", run.error
    ok(kernel, "%%aimo openai/gpt-4o -c secretcheck\n::echo hello", cell_id="k1")
    path = tmp_path / "chat.json"
    ok(kernel, f"%aimo save {path}")
    assert "7777" not in path.read_text() and "aimo-sk-" not in path.read_text()
    ok(kernel, "%aimo logout")
