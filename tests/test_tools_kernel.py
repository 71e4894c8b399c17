"""``%%aimo --tools`` in a real kernel against the emulator: cards, approval in each mode,
refusals, the step limit, interrupt, history and the cache.

The kernel harness plays the front end: without ``answer_input`` the requests do not
allow stdin (as nbclient's), with it they do and it answers the prompt; ``on_message``
sees each message as it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-tools-kernel-5e1b"
MODEL = "DeepSeek-V3-1"
SETUP = f"""
%load_ext aimo_magic
%aimo use {MODEL}
import aimo_magic, time

@aimo_magic.tool
def column_stats(column: str) -> dict:
    '''Summary statistics of one column of the sales data.'''
    return {{"column": column, "mean": 41.5, "note": "<img src=x onerror=alert(1)>"}}

@aimo_magic.tool(approve=True)
def save_chart(column: str, path: str) -> str:
    '''Plot a column and save the figure to path.'''
    SAVED.append(path)
    return f"saved {{path}}"

def plain_lookup(column: str) -> str:
    '''A plain function: nobody said it is safe, so it asks first.'''
    return column.upper()

SAVED = []
"""


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator


@pytest.fixture
def kernel(emu: EmulatorHandle, tmp_path: Path) -> Iterator[Kernel]:
    running = Kernel(
        env={"AIMO_BASE_URL": emu.base_url, "AIMO_API_KEY": KEY, "AIMO_CACHE_DIR": str(tmp_path)}
    )
    try:
        ok(running, SETUP)
        yield running
    finally:
        running.close()


def ok(kernel: Kernel, code: str, **kwargs: Any) -> CellRun:
    run = kernel.execute(code, **kwargs)
    assert run.status == "ok", run.error or run.stderr
    return run


def bodies(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in emu.requests if r["path"].endswith("completions")]


def outputs_of(run: CellRun, kind: str) -> list[dict[str, Any]]:
    return [o for o in run.final_outputs() if o["metadata"].get("aimo", {}).get("output") == kind]


def cards_html(run: CellRun) -> str:
    (cards,) = outputs_of(run, "tools")
    return str(cards["data"]["text/html"])


def value(kernel: Kernel, expression: str) -> Any:
    run = ok(kernel, f"import json; print(json.dumps({expression}))")
    return json.loads(run.stdout)


def test_a_call_shows_a_card_above_the_answer_and_its_result_reaches_the_model(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = ok(kernel, "%%aimo --tools column_stats\nWhich column varies most? Use column_stats.")
    kinds = [o["metadata"].get("aimo", {}).get("output") for o in run.final_outputs()]
    assert kinds.index("tools") < kinds.index("answer") < kinds.index("footer")
    html = cards_html(run)
    assert "⚙ column_stats" in html and "done" in html and "<details" in html
    # the result is model-facing data shown inert: escaped, never an element
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    footer = outputs_of(run, "footer")[0]["data"]["text/plain"]
    assert "1 call in 2 steps" in footer
    # the card appeared while the model was still writing the call
    shown = [
        m["content"]["data"]["text/plain"]
        for m in run.of_type("display_data", "update_display_data")
        if m["content"]["metadata"].get("aimo", {}).get("output") == "tools"
    ]
    assert any("writing arguments…" in text for text in shown), shown
    assert shown[-1].count("→ done") == 1
    sent = bodies(emu)
    assert len(sent) == 2
    assert sent[0]["tools"][0]["function"]["name"] == "column_stats"
    tool_message = sent[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert json.loads(tool_message["content"])["mean"] == 41.5


def test_a_call_needing_approval_is_refused_where_nobody_can_answer(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = ok(kernel, "%%aimo --tools plain_lookup,save_chart\nPlease use save_chart.")
    assert "refused" in cards_html(run)
    hint = "save_chart needs approval and nobody can answer a prompt here: run the cell with"
    assert f"{hint} --approve all" in cards_html(run)
    assert value(kernel, "SAVED") == []
    refusal = bodies(emu)[1]["messages"][-1]["content"]
    assert refusal.startswith("Refused: save_chart needs the user's approval")
    ok(kernel, "%%aimo --tools save_chart --approve all\nPlease use save_chart.")
    assert len(value(kernel, "SAVED")) == 1


def test_the_stdin_prompt_approves_or_declines(kernel: Kernel, emu: EmulatorHandle) -> None:
    prompts: list[str] = []

    def answer(reply: str) -> Any:
        def respond(prompt: str) -> str:
            prompts.append(prompt)
            return reply

        return respond

    declined = ok(
        kernel, "%%aimo --tools save_chart\nPlease use save_chart.", answer_input=answer("n")
    )
    assert "declined" in cards_html(declined)
    assert prompts and prompts[0].startswith("Run save_chart({") and "[y]es" in prompts[0]
    assert bodies(emu)[1]["messages"][-1]["content"] == (
        "Declined by the user: the function was not run."
    )
    ran = ok(kernel, "%%aimo --tools save_chart\nPlease use save_chart.", answer_input=answer("y"))
    assert "done" in cards_html(ran)
    assert len(value(kernel, "SAVED")) == 1


def test_all_for_this_cell_stops_asking(kernel: Kernel) -> None:
    forced = '{"type":"function","function":{"name":"save_chart"}}'
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return "a"

    run = ok(
        kernel,
        f"%%aimo --tools save_chart --max-steps 3 -p 'tool_choice={forced}'\nGo.",
        answer_input=answer,
    )
    assert len(prompts) == 1
    assert len(value(kernel, "SAVED")) == 2  # two steps ran it; the third hit the limit
    html = cards_html(run)
    assert html.count("done") == 2 and "not run" in html
    footer = outputs_of(run, "footer")[0]["data"]["text/plain"]
    assert "stopped at the step limit (3)" in footer


def test_bad_lines_are_refused_in_one_line(kernel: Kernel, emu: EmulatorHandle) -> None:
    for line, words in [
        (
            "--tools column_stats --compare DeepSeek-V3-1,openai/gpt-4o",
            "does not go with --compare",
        ),
        ("--tools column_stats --each SAVED", "does not go with --each"),
        (
            "--tools column_stats --each SAVED --compare DeepSeek-V3-1,openai/gpt-4o",
            "with --compare",
        ),
        ("--tools nowhere", "--tools nowhere: no function of that name"),
        ("--max-steps 3", "--max-steps goes with --tools"),
        ("--tools column_stats --max-steps 0", "--max-steps 0: give 1 or more"),
        ("--tools SAVED", "SAVED is a list, not a function"),
    ]:
        run = kernel.execute(f"%%aimo {line}\nHello")
        text = (run.error or {}).get("evalue", "") + run.stderr + run.stdout
        assert words in text, (line, text)
        assert "Traceback" not in run.stdout
    assert bodies(emu) == []


def test_history_records_calls_and_round_trips_through_save_and_load(
    kernel: Kernel, emu: EmulatorHandle, tmp_path: Path
) -> None:
    ok(kernel, "%%aimo --tools column_stats\nUse column_stats.", cell_id="cell-a")
    ok(kernel, "%%aimo --tools column_stats\nUse column_stats.", cell_id="cell-a")  # re-run
    history = ok(kernel, "%aimo history").stdout
    assert history.count("── 1. call column_stats(") == 1 and "── 2." not in history
    assert '"mean": 41.5' in history
    path = tmp_path / "chat.json"
    ok(kernel, f"%aimo save {path}")
    saved = json.loads(path.read_text())
    (turn,) = saved["threads"][0]["turns"]
    assert [m["role"] for m in turn["steps"]] == ["assistant", "tool"]
    ok(kernel, "%aimo reset")
    ok(kernel, f"%aimo load {path}")
    assert ok(kernel, "%aimo history").stdout == history
    emu.clear_requests()
    ok(kernel, "%%aimo\nAnd what did it say?")
    roles = [m["role"] for m in bodies(emu)[0]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]


def test_a_rerun_with_the_same_results_is_free(kernel: Kernel, emu: EmulatorHandle) -> None:
    ok(kernel, "%aimo cache on")
    cell = "%%aimo --tools column_stats\nUse column_stats."
    first = ok(kernel, cell, cell_id="cell-1")
    assert len(bodies(emu)) == 2
    again = ok(kernel, cell, cell_id="cell-1")  # the same cell run again
    assert len(bodies(emu)) == 2  # nothing sent: both steps came from the cache
    assert cards_html(again).count("done") == cards_html(first).count("done") == 1
    assert "no tokens charged" in outputs_of(again, "footer")[0]["data"]["text/plain"]


def test_interrupt_stops_the_loop_and_keeps_what_arrived(kernel: Kernel) -> None:
    ok(
        kernel,
        "@aimo_magic.tool\ndef wait_for_data(column: str) -> str:\n"
        "    '''Waits for data that never comes.'''\n    time.sleep(120)\n    return column",
    )

    def running(run: CellRun) -> bool:
        return any("running…" in o["data"].get("text/html", "") for o in run.final_outputs())

    run = kernel.execute("%%aimo --tools wait_for_data\nUse wait_for_data.", interrupt_when=running)
    text = (run.error or {}).get("evalue", "") + run.stderr + run.stdout
    assert "stopped" in text and "Traceback" not in run.stdout
    assert "not run" in cards_html(run)
    history = ok(kernel, "%aimo history").stdout
    assert "call wait_for_data(" in history and "Not run: the user interrupted." in history


def test_tools_subcommand_lists_schemas(kernel: Kernel) -> None:
    listing = ok(kernel, "%aimo tools")
    plain = listing.plain()
    assert "column_stats" in plain and "asks first" in plain
    assert '"required": ["column", "path"]' in plain


WRAPPED_DOC = '''
@aimo_magic.tool
def wrapped_doc(column: str) -> str:
    """Summary statistics of one column of the sales table, a summary that is long
    enough to wrap onto a second line.

    Details that the list leaves out.
    """
    return column
'''


def test_tools_subcommand_shows_a_wrapped_summary_whole(kernel: Kernel) -> None:
    ok(kernel, WRAPPED_DOC)
    try:
        plain = ok(kernel, "%aimo tools").plain()
        row = next(line for line in plain.splitlines() if "wrapped_doc" in line)
        assert "wrap onto a second line." in row, row
        assert "Details that the list leaves out" not in plain
    finally:
        ok(kernel, "aimo_magic.core.tools.REGISTRY.remove('wrapped_doc')")


def test_config_sets_default_tools(kernel: Kernel, emu: EmulatorHandle) -> None:
    ok(kernel, "%config AimoMagics.tools = 'column_stats'")
    run = ok(kernel, "%%aimo\nUse column_stats.")
    assert "⚙ column_stats" in cards_html(run)
    assert bodies(emu)[0]["tools"][0]["function"]["name"] == "column_stats"


def test_ask_from_python_uses_the_notebooks_session(kernel: Kernel, emu: EmulatorHandle) -> None:
    """``aimo_magic.ask`` resolves as a cell does: the session's key and alias apply."""
    ok(kernel, "%aimo alias stats-model DeepSeek-V3-1")
    ok(kernel, "import os; os.environ.pop('AIMO_API_KEY')")
    failed = kernel.execute("aimo_magic.ask('Use column_stats.', tools=[column_stats])")
    assert failed.status == "error" and "No AiMo API key" in str(failed.error)
    assert not bodies(emu)
    ok(kernel, f"aimo_magic.core.notebooks.current_session().explicit_key = {KEY!r}")
    run = ok(
        kernel,
        "result = aimo_magic.ask('Use column_stats.', model='stats-model', tools=[column_stats])\n"
        "print(len(result.calls), result.text[:10] != '')",
    )
    assert run.stdout.split() == ["1", "True"]
    sent = bodies(emu)
    assert sent[0]["model"] == "DeepSeek-V3-1"
    assert sent[0]["tools"][0]["function"]["name"] == "column_stats"
