"""The model selector in a real kernel: shown as a widget, and a choice reaches ``%%aimo``."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle, provider_id

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-selector-0000"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
HELIOS_LLAMA = f"{provider_id('helios-compute')}:{LLAMA}"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle) -> Iterator[Kernel]:
    running = Kernel(env={"AIMO_BASE_URL": emulator.base_url, "AIMO_API_KEY": KEY})
    try:
        yield running
    finally:
        running.close()


def ok(kernel: Kernel, code: str) -> CellRun:
    run = kernel.execute(code)
    assert run.status == "ok", (code, run.error, run.stderr)
    return run


def widget_outputs(run: CellRun) -> list[dict[str, Any]]:
    return [o for o in run.final_outputs() if WIDGET_VIEW in o["data"]]


def first_filled_list(run: CellRun) -> int:
    """Where the first non-empty option list went to the frontend, in message order."""
    for position, message in enumerate(run.messages):
        if message["msg_type"] in ("comm_msg", "comm_open"):
            state = message["content"].get("data", {}).get("state", {})
            if state.get("_options_labels"):
                return position
    raise AssertionError("no widget ever received options")


def test_model_selector_from_python_loads_the_extension(kernel: Kernel) -> None:
    run = ok(kernel, "import aimo_magic\nfirst = aimo_magic.ModelSelector()\nfirst")
    assert len(widget_outputs(run)) == 1
    facts = ok(
        kernel,
        "print(first.loaded, len(first.models.options), "
        "'aimo' in get_ipython().magics_manager.magics['cell'])",
    )
    assert facts.stdout.split() == ["True", "14", "True"]


def test_aimo_select_shows_a_widget_and_its_choice_drives_the_next_cell(
    kernel: Kernel, emulator: EmulatorHandle
) -> None:
    shown = ok(kernel, "import aimo_magic\n%load_ext aimo_magic\n%aimo select llama")
    [output] = widget_outputs(shown)
    assert output["data"][WIDGET_VIEW]["model_id"]
    # The panel reaches the frontend before its list is filled: the wait shows inside it.
    displays = shown.of_type("display_data")
    assert displays and WIDGET_VIEW in displays[0]["content"]["data"]
    assert shown.messages.index(displays[0]) < first_filled_list(shown)
    # Its saved picture follows once the list is there, before the frontend hears of the
    # list, so a re-render for it never happens under the user's hands.
    [update] = shown.of_type("update_display_data")
    assert shown.messages.index(update) < first_filled_list(shown)
    assert LLAMA in output["data"]["text/html"]

    chosen = ok(
        kernel,
        "sel = _\n"
        "watcher = aimo_magic.ModelSelector()\n"
        f"sel.models.value = {LLAMA!r}\n"
        f"sel.providers.value = {HELIOS_LLAMA!r}\n"
        "sel.use_button.click()\n"
        "print(sel.search.value, '|', sel.selected_id)",
    )
    assert chosen.stdout.strip() == f"llama | {HELIOS_LLAMA}"

    emulator.clear_requests()
    asked = ok(kernel, "%%aimo\n::echo")
    answer = "".join(
        o["data"].get("text/plain", "")
        for o in asked.final_outputs()
        if o["metadata"].get("aimo", {}).get("output") == "answer"
    )
    assert json.loads(answer)["model_requested"] == HELIOS_LLAMA
    assert json.loads(emulator.requests[-1]["body"])["model"] == HELIOS_LLAMA

    label = ok(kernel, "print(watcher.default_label.value)")
    assert f"{LLAMA} via helios-compute" in label.stdout


def test_a_saved_selector_keeps_a_picture_of_its_list_for_viewers_without_widgets(
    hostile_server: str, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """nbconvert and GitHub's viewer have no widget state: they show the ``text/html``."""
    import nbformat
    from hostile_catalogue import HOSTILE_NAME
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext aimo_magic"),
        nbformat.v4.new_code_cell("%aimo select"),
        nbformat.v4.new_code_cell(
            f"%config AimoMagics.base_url = {emulator.base_url!r}\n%aimo select llama"
        ),
    ]
    kernel_env = {k: v for k, v in os.environ.items() if not k.startswith("AIMO_")}
    kernel_env.update(AIMO_BASE_URL=hostile_server, AIMO_API_KEY=KEY)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute(env=kernel_env)
    path = tmp_path / "selector.ipynb"
    nbformat.write(notebook, path)
    saved = nbformat.read(path, as_version=4)
    [hostile] = saved.cells[1].outputs
    assert WIDGET_VIEW in hostile.data
    picture = hostile.data["text/html"]
    assert html.escape(HOSTILE_NAME) in picture and HOSTILE_NAME not in picture
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in picture and "<script" not in picture
    assert "1 models." in picture
    [llamas] = saved.cells[2].outputs
    listed = llamas.data["text/html"]
    assert LLAMA in listed and "helios-compute" in listed and "USD per 1M tokens" in listed
    assert "in $0.12 / out $0.30 per 1M tokens" in listed
    assert "Loading" not in listed

    saved.metadata.pop("widgets", None)  # as a viewer without widget state sees it
    page, _ = HTMLExporter().from_notebook_node(saved)
    assert html.escape(HOSTILE_NAME) in page and HOSTILE_NAME not in page
    assert LLAMA in page and "helios-compute" in page
