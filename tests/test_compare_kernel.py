"""``%%aimo --compare`` in a real kernel against the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel
from test_cell_magic import assert_inert
from test_subcommands import complete, typed
from waiting import count_in_flight_afresh

from aimo_magic.emulator import EmulatorHandle, provider_id

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-compare-0000"
GPT = "openai/gpt-4o"
DEEPSEEK = "DeepSeek-V3-1"
MINI = "openai/gpt-4o-mini"
GPT_PROVIDERS = [f"{provider_id(name)}:{GPT}" for name in ("nebula-gpu", "solstice-labs")]
WORDS = "Tell me about rivers ::words 60"


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle) -> Iterator[Kernel]:
    running = Kernel(env={"AIMO_BASE_URL": emulator.base_url, "AIMO_API_KEY": KEY})
    try:
        setup = running.execute(f"%load_ext aimo_magic\n%aimo use {DEEPSEEK}")
        assert setup.status == "ok", setup.error or setup.stderr
        yield running
    finally:
        running.close()


@pytest.fixture
def emu(emulator: EmulatorHandle, kernel: Kernel) -> Iterator[EmulatorHandle]:
    kernel.execute("%aimo reset --all")
    emulator.clear_faults()
    emulator.clear_requests()
    count_in_flight_afresh(emulator)
    yield emulator
    emulator.clear_faults()


def grid(run: CellRun) -> dict[str, Any]:
    """The comparison's one display output, as the frontend ends up showing it."""
    found = [
        o for o in run.final_outputs() if o["metadata"].get("aimo", {}).get("output") == "compare"
    ]
    assert len(found) == 1, [o["metadata"] for o in run.final_outputs()]
    return found[0]


def value(kernel: Kernel, expression: str) -> Any:
    run = kernel.execute(f"import json as _json\nprint(_json.dumps({expression}))")
    assert run.status == "ok", run.error
    return json.loads(run.stdout)


def sent_models(emu: EmulatorHandle) -> list[str]:
    return [json.loads(r["body"])["model"] for r in emu.requests]


def text_in_every_pane(run: CellRun) -> bool:
    """The comparison's last update shows some answer in every pane."""
    updates = run.of_type("update_display_data")
    return bool(updates) and "waiting for the first token" not in plain_of(updates[-1])


def plain_of(message: dict[str, Any]) -> str:
    return str(message["content"]["data"]["text/plain"])


def test_the_models_are_asked_at_once_and_shown_side_by_side(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    # Every answer stops after a few words until all three panes show some: the requests
    # must be at the server together, and the display must grow before the answers end.
    shown_while_held: list[str] = []

    def release_once_every_pane_has_text(run: CellRun) -> None:
        if not shown_while_held and emu.held == 3 and text_in_every_pane(run):
            shown_while_held.append(plain_of(run.of_type("update_display_data")[-1]))
            emu.release()

    emu.hold()
    run = kernel.execute(
        f"%%aimo --compare {GPT},{DEEPSEEK},{MINI}\n{WORDS} ::fault hold_after=10",
        while_running=release_once_every_pane_has_text,
    )
    assert run.status == "ok", run.error
    assert shown_while_held, "the panes showed text while the answers were on their way"
    assert emu.max_in_flight == 3, "the three requests were being served at the same time"
    assert sorted(sent_models(emu)) == sorted([GPT, DEEPSEEK, MINI])
    shown = grid(run)
    html, plain = shown["data"]["text/html"], shown["data"]["text/plain"]
    assert html.count('class="aimo-pane"') == 3 and "calc(100% / 3" in html
    assert [p["status"] for p in shown["metadata"]["aimo"]["panes"]] == ["complete"] * 3
    assert plain.index(f"── {GPT} ──") < plain.index(f"── {DEEPSEEK} ──")
    assert html.count("tokens") == 3 and html.count("first token") == 3
    assert "Cheapest:" in html and "Fastest:" in html
    # The display was updated in place while the answers arrived, not only at the end.
    assert len(run.of_type("display_data")) == 1
    assert shown_while_held[0] != plain and "Cheapest:" not in shown_while_held[0]
    assert_inert(html)


def test_every_provider_of_a_model_and_dash_o(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute(f"%%aimo --compare {GPT}@* -o answers\n::echo")
    assert run.status == "ok", run.error
    assert sorted(sent_models(emu)) == sorted(GPT_PROVIDERS)
    plain = grid(run)["data"]["text/plain"]
    assert f"── {GPT} @ nebula-gpu ──" in plain and f"── {GPT} @ solstice-labs ──" in plain
    asked = value(kernel, "{k: _json.loads(v)['model_requested'] for k, v in answers.items()}")
    assert asked == {model: model for model in GPT_PROVIDERS}


def test_a_failing_model_shows_its_error_and_the_others_carry_on(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    emu.queue_faults("status=402")  # the first request to arrive gets it, whichever it is
    run = kernel.execute(f"%%aimo --compare {GPT},{DEEPSEEK},{MINI} -o answers\n::words 40")
    assert run.status == "ok", run.error
    panes = grid(run)["metadata"]["aimo"]["panes"]
    assert sorted(p["status"] for p in panes) == ["complete", "complete", "error"]
    html = grid(run)["data"]["text/html"]
    assert html.count("✖ Error") == 1 and "HTTP 402" in html
    assert "Not ranked (no complete answer)" in html
    lengths = value(kernel, "{k: len(v.split()) for k, v in answers.items()}")
    assert sorted(lengths.values()) == [0, 40, 40]


def test_the_history_is_sent_and_nothing_is_recorded_without_keep(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    assert kernel.execute("%%aimo\n::words 5").status == "ok"
    run = kernel.execute(f"%%aimo --compare {GPT},{DEEPSEEK} -o answers\n::echo")
    assert run.status == "ok", run.error
    counts = value(kernel, "[_json.loads(v)['message_count'] for v in answers.values()]")
    assert counts == [3, 3], "both models got the earlier exchange"
    kernel.execute("from aimo_magic.magics.extension import magics_for as _magics_for")
    turns = value(kernel, "len(_magics_for(get_ipython()).session.conversations.thread('default'))")
    assert turns == 1, "the comparison added no turn"
    fresh = kernel.execute(f"%%aimo --compare {GPT},{DEEPSEEK} -c fresh\n::words 3")
    assert fresh.status == "ok", fresh.error
    names = value(kernel, "_magics_for(get_ipython()).session.conversations.names()")
    assert "fresh" not in names, "a comparison that keeps nothing makes no thread"


def test_keep_records_the_named_answer_as_the_turn(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute(f"%%aimo --compare {GPT},{DEEPSEEK} --keep {GPT}\n::echo")
    assert run.status == "ok", run.error
    follow_up = kernel.execute("%%aimo\n::echo")
    facts = json.loads(
        "".join(
            o["data"].get("text/plain", "")
            for o in follow_up.final_outputs()
            if o["metadata"].get("aimo", {}).get("output") == "answer"
        )
    )
    roles = [m["role"] for m in facts["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert json.loads(facts["messages"][1]["content"])["model_requested"] == GPT
    history = kernel.execute("%aimo history").stdout
    assert GPT in history


def test_interrupt_stops_them_all_and_keeps_what_arrived(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    emu.hold()  # both answers stop after 30 chunks until the stop button has been pressed
    run = kernel.execute(
        f"%%aimo --compare {GPT},{DEEPSEEK} --keep {DEEPSEEK} -o partial\n"
        "Tell me about rivers ::words 400 ::fault hold_after=30",
        interrupt_when=lambda run: emu.held == 2 and text_in_every_pane(run),
        timeout=60,
    )
    emu.release()
    assert run.status == "error"
    assert run.error is not None and "Interrupted" in run.error["traceback"][0]
    shown = grid(run)
    assert [p["status"] for p in shown["metadata"]["aimo"]["panes"]] == ["interrupted"] * 2
    assert shown["data"]["text/html"].count("■ Interrupted — partial answer") == 2
    lengths = value(kernel, "[len(v.split()) for v in partial.values()]")
    assert all(0 < n < 400 for n in lengths), lengths
    history = kernel.execute("%aimo history").stdout
    assert "partial" in history.lower() or "interrupted" in history.lower()
    after = kernel.execute("%%aimo --no-history\n::words 3")
    assert after.status == "ok", after.error


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (f"--compare {GPT},no/such-model", "Unknown model 'no/such-model'"),
        (f"--compare {GPT},{DEEPSEEK} --keep {MINI}", "none of the compared models"),
        (f"--compare {GPT},{DEEPSEEK} -f json", "-f markdown or -f text"),
        (f"{GPT} --compare {DEEPSEEK},{MINI}", "--compare names the models"),
        (f"--keep {GPT}", "--keep goes with --compare"),
        (f"--compare {GPT},{DEEPSEEK} --keep {GPT} --no-history", "--keep"),
        (f"--compare {GPT},{DEEPSEEK} -f code --insert", "--insert"),
    ],
)
def test_refused_before_anything_is_sent(
    kernel: Kernel, emu: EmulatorHandle, line: str, words: str
) -> None:
    run = kernel.execute(f"%%aimo {line}\nhello")
    assert run.status == "error" and run.error is not None
    assert len(run.error["traceback"]) == 1 and words in run.error["traceback"][0]
    assert emu.requests == []


def test_terminal_ipython_prints_the_answers_one_after_the_other(
    emulator: EmulatorHandle,
) -> None:
    code = (
        "get_ipython().run_line_magic('load_ext', 'aimo_magic')\n"
        f"get_ipython().run_cell_magic('aimo', '--compare {GPT},{DEEPSEEK}', "
        "'::words 12 ::pace 100')\n"
    )
    env = {"AIMO_BASE_URL": emulator.base_url, "AIMO_API_KEY": KEY, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "<div" not in out and "</" not in out, "no HTML in a terminal"
    first, second = out.index(f"── {GPT} ──"), out.index(f"── {DEEPSEEK} ──")
    assert first < second
    for block in (out[first:second], out[second:]):
        lines = block.strip().splitlines()
        assert len(lines[1].split()) == 12 and "tokens" in lines[2], block
    assert "Cheapest:" in out and "Fastest:" in out


def test_tab_completes_the_compared_models(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("%aimo models")
    line = f"%%aimo --compare {GPT},DeepSeek-V3"
    found = typed(line, complete(kernel, line))
    assert found[0] == f"%%aimo --compare {GPT},{DEEPSEEK}"
    assert f"%%aimo --compare {GPT},{DEEPSEEK}@*" in found
    wildcard = complete(kernel, "%%aimo --compare openai/gpt-4o@")["matches"]
    assert wildcard == [f"{GPT}@*"]
    keep = complete(kernel, f"%%aimo --compare {GPT},{DEEPSEEK} --keep DeepSeek-V")["matches"]
    assert keep == [DEEPSEEK]


def test_tab_after_keep_offers_only_the_compared_models(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo models\n%aimo alias mini " + MINI)
    offered = complete(kernel, f"%%aimo --compare {GPT},{DEEPSEEK} --keep ")["matches"]
    assert offered == [GPT, DEEPSEEK]
    aliased = complete(kernel, f"%%aimo -t 0.2 --compare=mini,{DEEPSEEK} --keep ")["matches"]
    assert aliased == ["mini", DEEPSEEK]
    every_provider = complete(kernel, f"%%aimo --compare {DEEPSEEK},{GPT}@* --keep ")
    assert every_provider["matches"] == [DEEPSEEK, "nebula-gpu", "solstice-labs", *GPT_PROVIDERS]
    by_provider = complete(kernel, f"%%aimo --compare {GPT}@* --keep sol")["matches"]
    assert by_provider == ["solstice-labs"]
    kernel.execute("%aimo unalias mini")


def test_without_threads_the_models_answer_one_after_another(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    """Pyodide (JupyterLite) has no threads: a comparison there still answers every model,
    in turn, stores -o and keeps --keep (marked here by the flag the browser sets)."""
    kernel.execute("import aimo_magic.core.base as _base\n_base.IN_BROWSER = True")
    try:
        run = kernel.execute(
            f"%%aimo --compare {GPT},{DEEPSEEK} --keep {GPT} -o both\nTell me about rivers"
        )
        assert run.status == "ok", run.error
        assert "one after another" in run.stdout
        assert f"── {GPT}" in run.stdout and f"── {DEEPSEEK}" in run.stdout
        assert sorted(sent_models(emu)) == sorted([GPT, DEEPSEEK])
        answers = [
            o
            for o in run.final_outputs()
            if o["metadata"].get("aimo", {}).get("output") == "answer"
        ]
        assert len(answers) >= 2
        assert sorted(value(kernel, "sorted(both)")) == sorted([GPT, DEEPSEEK])
        assert all(value(kernel, "[bool(v) for v in both.values()]"))
        history = kernel.execute("%aimo history").stdout
        assert "1 turn" in history and GPT in history
    finally:
        kernel.execute("_base.IN_BROWSER = False")
