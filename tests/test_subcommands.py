"""``%aimo`` subcommands in a real kernel against the emulator.

One kernel serves the module; each test names its own threads and aliases so the
tests do not depend on each other's order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle, provider_id

pytestmark = pytest.mark.kernel

TEST_KEY = "aimo-sk-v2-test-0000"
NEBULA = provider_id("nebula-gpu")

STATE_HELPER = """
def _aimo_state():
    import json
    from aimo_magic.magics.extension import magics_for
    m = magics_for(get_ipython())
    s = m.session
    return json.dumps({
        "model": m.model,
        "default": s.default_model,
        "aliases": s.aliases,
        "threads": s.conversations.to_dict(),
        "explicit_key": bool(s.explicit_key),
        "catalogue": id(s.cached_catalogue) if s.cached_catalogue is not None else None,
        "usage": s.usage.per_model,
    })
"""


def start_kernel(emulator: EmulatorHandle, **env: str) -> Kernel:
    kernel = Kernel(env={"AIMO_BASE_URL": emulator.base_url, "AIMO_API_KEY": TEST_KEY, **env})
    ok(kernel, "%load_ext aimo_magic\n" + STATE_HELPER)
    return kernel


def ok(kernel: Kernel, code: str, **kwargs: Any) -> CellRun:
    run = kernel.execute(code, **kwargs)
    assert run.status == "ok", (code, run.error)
    return run


def refused(kernel: Kernel, code: str) -> str:
    """Run a cell that must fail with one line; return that line."""
    run = kernel.execute(code)
    assert run.status == "error", (code, run.stdout)
    error = run.error
    assert error is not None
    assert error["ename"] in ("CellFailed", "UsageError"), error
    assert "\n" not in error["evalue"]
    assert len(error["traceback"]) == 1, error["traceback"]
    return str(error["evalue"])


def state(kernel: Kernel) -> dict[str, Any]:
    return dict(json.loads(ok(kernel, "print(_aimo_state())").stdout))


def last_body(emulator: EmulatorHandle) -> dict[str, Any]:
    return dict(json.loads(emulator.requests[-1]["body"]))


def complete(kernel: Kernel, code: str, cursor_pos: int | None = None) -> dict[str, Any]:
    """A frontend's tab press: the kernel's complete_reply."""
    pos = len(code) if cursor_pos is None else cursor_pos
    msg_id = kernel.client.complete(code, pos)
    while True:
        reply = kernel.client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            return dict(reply["content"])


def typed(code: str, replies: dict[str, Any]) -> list[str]:
    """The texts a completion would leave in the line, so ranges are checked too."""
    return [
        code[: replies["cursor_start"]] + match + code[replies["cursor_end"] :]
        for match in replies["matches"]
    ]


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle) -> Iterator[Kernel]:
    running = start_kernel(emulator)
    try:
        yield running
    finally:
        running.close()


# Help and version --------------------------------------------------------------


def test_help_lists_every_subcommand_with_a_summary(kernel: Kernel) -> None:
    from aimo_magic.magics.cmd import COMMANDS

    out = ok(kernel, "%aimo help").plain()  # the text form, as a terminal shows it
    assert "%%aimo?" in out
    for name in COMMANDS:
        line = next(x for x in out.splitlines() if x.strip().startswith(f"%aimo {name}"))
        if name != "select":  # written elsewhere; listed even before it exists
            assert len(line.split("  ")[-1].strip()) > 10, line
            assert line.rstrip().endswith("."), f"a whole sentence, not a cut line: {line}"
    assert ok(kernel, "%aimo").plain() == out


def test_help_in_a_notebook_is_a_table(kernel: Kernel) -> None:
    from aimo_magic.magics.cmd import COMMANDS

    shown = ok(kernel, "%aimo help")
    assert shown.stdout == "", "a display with both forms, not printed text"
    page = shown.html()
    assert '<table class="aimo-table"' in page and "<th" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    assert len(rows) == len(COMMANDS) + 1, "a header row, then one row per subcommand"
    for name in COMMANDS:
        row = next(r for r in rows if f"<code>%aimo {name}" in r)
        if name != "select":
            summary = re.findall(r"<td[^>]*>(.*?)</td>", row)[-1]
            assert len(summary) > 10, row
            assert summary.endswith("."), f"a whole sentence, not a cut line: {row}"


def test_help_for_one_subcommand_matches_its_dash_dash_help(kernel: Kernel) -> None:
    by_help = ok(kernel, "%aimo help use").stdout
    assert by_help.startswith("usage: %aimo use [--clear] [MODEL]")
    assert "checked against the catalogue" in by_help
    assert ok(kernel, "%aimo use --help").stdout == by_help
    assert "usage: %aimo reset [--all] [THREAD]" in ok(kernel, "%aimo reset -h").stdout
    assert "No subcommand 'nope'" in refused(kernel, "%aimo help nope")


def test_version(kernel: Kernel) -> None:
    from aimo_magic import __version__

    version, sanitiser = ok(kernel, "%aimo version").stdout.strip().splitlines()
    assert version == f"aimo-magic {__version__}"
    assert sanitiser.startswith("HTML sanitiser: nh3 "), sanitiser


# Models ------------------------------------------------------------------------


def test_models_shows_html_and_text_with_ids_prices_and_unit(kernel: Kernel) -> None:
    run = ok(kernel, "%aimo models")
    [output] = run.final_outputs()
    html, plain = output["data"]["text/html"], output["data"]["text/plain"]
    for text in (html, plain):
        assert "OpenAI: GPT-4o mini" in text and "openai/gpt-4o-mini" in text
        assert f"{NEBULA}:openai/gpt-4o" in text
        assert "nebula-gpu" in text and "128,000" in text
        assert "Price in US dollars per million tokens" in text
        assert "inferred: " in text, "the basis is named once, with how it was found"
        assert "text, image → text" in text
    assert "<table" in html and 'rowspan="2"' in html
    row = next(x for x in plain.splitlines() if f"{NEBULA}:openai/gpt-4o " in x)
    # Listed as 2.5 in and 10 out: no per-token price that large is plausible.
    assert re.search(r"\$2\.50\s+\$10\.00\b", row), row
    assert "14 of 14 models" in plain


def test_models_search_needs_every_word_in_any_case(kernel: Kernel) -> None:
    plain = ok(kernel, "%aimo models GPT mini").plain()
    assert "openai/gpt-4o-mini" in plain and "1 of 14 models" in plain
    assert "openai/gpt-4.1" not in plain
    by_provider = ok(kernel, "%aimo models AKASH free").plain()
    assert "DeepSeek-R1-Distill-Qwen-32B" in by_provider
    assert "DeepSeek-V3-1" not in by_provider and "3 of 14 models" in by_provider
    nothing = ok(kernel, "%aimo models zebra")
    assert nothing.final_outputs() == []
    assert "No model matches 'zebra' among 14 models" in nothing.stdout


def test_models_are_cached_until_refresh(kernel: Kernel) -> None:
    ok(kernel, "%aimo models")
    first = state(kernel)["catalogue"]
    ok(kernel, "%aimo models gpt")
    assert state(kernel)["catalogue"] == first
    ok(kernel, "%aimo models --refresh")
    assert state(kernel)["catalogue"] not in (first, None)


# Default model and aliases -----------------------------------------------------


def test_use_sets_the_default_everywhere_and_asks_with_it(
    kernel: Kernel, emulator: EmulatorHandle
) -> None:
    ok(
        kernel,
        "from aimo_magic.magics.extension import magics_for\n_seen = []\n"
        "_unsub = magics_for(get_ipython()).session.on_default_model(_seen.append)",
    )
    out = ok(kernel, "%aimo use openai/gpt-4o-mini").stdout
    assert "Default model: openai/gpt-4o-mini" in out
    assert ok(kernel, "print(_seen); _unsub()").stdout.strip() == "['openai/gpt-4o-mini']"
    now = state(kernel)
    assert now["model"] == now["default"] == "openai/gpt-4o-mini"
    assert "Default model: openai/gpt-4o-mini." in ok(kernel, "%aimo use").stdout
    ok(kernel, "%%aimo --no-history\n::echo which model")
    assert last_body(emulator)["model"] == "openai/gpt-4o-mini"

    pinned = f"{NEBULA}:openai/gpt-4o"
    assert "served by nebula-gpu" in ok(kernel, f"%aimo use {pinned}").stdout
    assert state(kernel)["default"] == pinned
    marked = ok(kernel, "%aimo models gpt-4o").plain()
    assert "★ OpenAI: GPT-4o " in marked and "★ OpenAI: GPT-4o mini" not in marked


def test_use_with_a_typo_suggests_and_changes_nothing(kernel: Kernel) -> None:
    ok(kernel, "%aimo use openai/gpt-4.1")
    before = state(kernel)
    message = refused(kernel, "%aimo use gpt-4.1")
    assert "Unknown model 'gpt-4.1'" in message and "openai/gpt-4.1" in message
    assert state(kernel) == before
    assert "MODEL or --clear" in refused(kernel, "%aimo use --clear openai/gpt-4o")
    assert state(kernel) == before
    ok(kernel, "%aimo use --clear")
    assert state(kernel)["default"] is None


def test_percent_config_sets_the_model_trait(kernel: Kernel) -> None:
    ok(kernel, '%config AimoMagics.model = "google/gemini-2.5-flash"')
    assert state(kernel)["default"] == "google/gemini-2.5-flash"
    assert "Default model: google/gemini-2.5-flash." in ok(kernel, "%aimo use").stdout
    ok(kernel, "%config AimoMagics.footer = False")
    assert re.search(r"AimoMagics\.footer\s+False\s", ok(kernel, "%aimo config").plain())
    ok(kernel, "%config AimoMagics.footer = True")


def test_alias_works_on_the_cell_line_and_in_use(kernel: Kernel, emulator: EmulatorHandle) -> None:
    out = ok(kernel, "%aimo alias quick openai/gpt-4o-mini").stdout
    assert "Alias quick → openai/gpt-4o-mini" in out
    listing = ok(kernel, "%aimo alias")
    assert "quick" in listing.plain() and "<td" in listing.html()
    assert ok(kernel, "%aimo alias quick").stdout.strip() == "quick → openai/gpt-4o-mini"

    ok(kernel, "%%aimo quick --no-history\n::echo via alias")
    assert last_body(emulator)["model"] == "openai/gpt-4o-mini"
    assert "(alias quick)" in ok(kernel, "%aimo use quick").stdout
    assert state(kernel)["default"] == "openai/gpt-4o-mini"

    ok(kernel, "%aimo unalias quick")
    assert "quick" not in state(kernel)["aliases"]
    assert "No alias 'quick'" in refused(kernel, "%aimo unalias quick")


def test_bad_aliases_change_nothing(kernel: Kernel) -> None:
    ok(kernel, "%aimo alias keep openai/gpt-4o")
    before = state(kernel)
    assert "not usable" in refused(kernel, "%aimo alias 9lives openai/gpt-4o")
    assert "not usable" in refused(kernel, "%aimo alias 'two words' openai/gpt-4o")
    assert "already a model id" in refused(kernel, "%aimo alias gpt-oss-120b openai/gpt-4o")
    assert "Unknown model 'opnai/gpt-4o'" in refused(kernel, "%aimo alias keep opnai/gpt-4o")
    assert "No alias 'nothere'" in refused(kernel, "%aimo alias nothere")
    assert state(kernel) == before


# Threads -----------------------------------------------------------------------


def test_history_chats_and_reset(kernel: Kernel) -> None:
    ok(kernel, "%%aimo openai/gpt-4o -c notes\n::echo first {x}", cell_id="h1")
    ok(kernel, "%%aimo openai/gpt-4o -c notes -s Terse.\n::echo second", cell_id="h2")
    history = ok(kernel, "%aimo history notes").stdout
    assert "Thread 'notes': 2 turns." in history
    assert "── system\nTerse." in history
    assert "── 1. user\n::echo first {x}" in history
    assert "── 2. assistant (" in history and '"message_count": 4' in history
    chats = ok(kernel, "%aimo chats").plain()
    assert re.search(r"^\s+notes\s+2\s+system prompt$", chats, re.M), chats
    assert re.search(r"^\*\s+default\s+\d+", chats, re.M), chats

    assert "No thread named 'nope'" in refused(kernel, "%aimo history nope")
    assert "No thread named 'nope'" in refused(kernel, "%aimo reset nope")
    assert "not both" in refused(kernel, "%aimo reset notes --all")
    assert state(kernel)["threads"]["threads"][-1]["name"] == "notes"
    assert len(state(kernel)["threads"]["threads"][-1]["turns"]) == 2

    out = ok(kernel, "%aimo reset notes").stdout
    assert "Forgot 2 turns of thread 'notes' (its system prompt is kept)." in out
    assert "Thread 'notes': 0 turns." in ok(kernel, "%aimo history notes").stdout
    ok(kernel, "%%aimo openai/gpt-4o -c other\n::echo x", cell_id="h3")
    assert "across" in ok(kernel, "%aimo reset --all").stdout
    threads = state(kernel)["threads"]["threads"]
    assert threads and all(not t["turns"] for t in threads)


def test_history_marks_an_interrupted_answer(kernel: Kernel, emulator: EmulatorHandle) -> None:
    def streaming_and_the_rest_held(run: CellRun) -> bool:
        return bool(run.of_type("update_display_data")) and emulator.held == 1

    emulator.hold()  # the answer stops after 30 chunks until the stop button has been pressed
    kernel.execute(
        "%%aimo openai/gpt-4o -c cut\n::words 400 ::fault hold_after=30",
        cell_id="p1",
        interrupt_when=streaming_and_the_rest_held,
    )
    emulator.release()
    history = ok(kernel, "%aimo history cut").stdout
    assert "[partial: the answer was interrupted]" in history, history


# Usage -------------------------------------------------------------------------


def test_usage_totals_match_the_ledger(kernel: Kernel) -> None:
    ok(kernel, "%%aimo openai/gpt-4o --no-history\n::words 12")
    ledger = state(kernel)["usage"]
    plain = ok(kernel, "%aimo usage").plain()
    prompt = sum(int(row["prompt_tokens"]) for row in ledger.values())
    completion = sum(int(row["completion_tokens"]) for row in ledger.values())
    total = next(x for x in plain.splitlines() if x.startswith("Total"))
    assert total.split()[2:5] == [f"{prompt:,}", f"{completion:,}", f"{prompt + completion:,}"]
    served = next(name for name in ledger if name.endswith(":openai/gpt-4o"))
    assert served in plain
    assert "US dollars, listed prices read as USD per 1,000,000 tokens, inferred" in plain
    cost = total.split()[5]
    assert cost.startswith("$"), total


def test_usage_names_rows_by_model_and_provider(kernel: Kernel) -> None:
    akash = provider_id("akash-ml")
    ok(kernel, f"%%aimo {akash}:DeepSeek-V3-1 --no-history\n::words 3")
    shown = ok(kernel, "%aimo usage")
    rows = shown.plain().splitlines()
    assert any(row.startswith("DeepSeek-V3-1 · akash-ml ") for row in rows), rows
    assert not any(row.startswith(akash) for row in rows), "no row named by a public key"
    assert f"DeepSeek-V3-1 · akash-ml = {akash}:DeepSeek-V3-1" in shown.plain()
    assert "DeepSeek-V3-1 · akash-ml</td>" in shown.html()


# Explain -----------------------------------------------------------------------


def test_explain_without_an_error_says_so(kernel: Kernel, emulator: EmulatorHandle) -> None:
    forget = "import sys\nfor _n in ('last_type', 'last_value', 'last_traceback'):\n"
    ok(kernel, forget + "    sys.__dict__.pop(_n, None)")
    sent = len(emulator.requests)
    out = ok(kernel, "%aimo explain").stdout
    assert out.startswith("No error to explain yet")
    assert len(emulator.requests) == sent


def test_explain_sends_the_plain_traceback_and_the_cell(
    kernel: Kernel, emulator: EmulatorHandle
) -> None:
    failing = "def lookup(table):\n    return table['{missing}']\n\nlookup({'a': 1})"
    run = kernel.execute(failing)
    assert run.error is not None and run.error["ename"] == "KeyError"
    before = state(kernel)["threads"]
    default_before = [t for t in before["threads"] if t["name"] == "default"]
    ok(kernel, "%aimo explain openai/gpt-4o")  # a second explain starts afresh
    out = ok(kernel, "%aimo explain google/gemini-2.5-pro").stdout
    assert "Explaining: KeyError: '{missing}'" in out
    body = last_body(emulator)
    assert body["model"] == "google/gemini-2.5-pro"
    [message] = body["messages"]  # a fresh thread: no history rides along
    prompt = message["content"]
    assert "table['{missing}']" in prompt  # braces left alone
    assert "Traceback (most recent call last)" in prompt and "KeyError" in prompt
    assert "In[" in prompt and "lookup({'a': 1})" in prompt
    assert "\x1b[" not in prompt
    assert "interactiveshell" not in prompt and "ipykernel_" not in prompt
    after = state(kernel)["threads"]["threads"]
    assert [t for t in after if t["name"] == "default"] == default_before
    assert [len(t["turns"]) for t in after if t["name"] == "explain"] == [1]


# Settings ----------------------------------------------------------------------


def test_config_shows_every_trait_and_only_a_masked_key(
    kernel: Kernel, emulator: EmulatorHandle
) -> None:
    run = ok(kernel, "%aimo config")
    plain = run.plain()
    for name in (
        "model",
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "history_turns",
        "history_tokens",
        "render_rate",
        "footer",
        "default_format",
        "stream",
    ):
        assert f"AimoMagics.{name} " in plain
    assert re.search(rf"effective base URL\s+{re.escape(emulator.base_url)}\s", plain)
    assert "the AIMO_API_KEY environment variable" in plain
    assert "aimo-sk-…0000" in plain
    assert re.search(r"HTML sanitiser\s+nh3 \S+ \(ammonia, Rust\)", plain)
    assert TEST_KEY not in json.dumps([m["content"] for m in run.messages])


def test_a_key_on_the_line_is_refused_and_not_echoed(kernel: Kernel) -> None:
    before = state(kernel)
    for line in (
        "%aimo login aimo-sk-v2-test-9999",
        "%aimo use aimo-sk-v2-test-9999",
        "%aimo login sneaky-key-text",
    ):
        message = refused(kernel, line)
        assert "would be saved in the notebook" in message
        assert "9999" not in message and "sneaky" not in message
    assert state(kernel) == before


# Bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("%aimo frobnicate", "Unknown subcommand 'frobnicate'"),
        ("%aimo use 'open", "check its quotes"),
        ("%aimo unalias", "the following arguments are required: NAME"),
        ("%aimo save", "the following arguments are required: FILE"),
        ("%aimo models --fast", "unrecognized arguments: --fast"),
        ("%aimo use nosuch/model", "Unknown model 'nosuch/model'"),
        ("%aimo load /nonexistent/chat.json", "cannot read /nonexistent/chat.json"),
        ("%aimo save /nonexistent/dir/chat.json", "cannot write"),
        ("%aimo history 'two words'", "spaces or control characters"),
        ("%aimo chats extra", "unrecognized arguments: extra"),
        ("%aimo models --refesh", "unrecognized arguments: --refesh; did you mean --refresh?"),
        ("%aimo reset --al", "did you mean --all?"),
    ],
)
def test_bad_input_fails_in_one_line_and_changes_nothing(
    kernel: Kernel, line: str, words: str
) -> None:
    ok(kernel, "%aimo models")  # fetched now, so a check against it changes nothing later
    before = state(kernel)
    assert words in refused(kernel, line)
    assert state(kernel) == before


def test_a_bad_file_loads_nothing(kernel: Kernel, tmp_path: Path) -> None:
    ok(kernel, "%%aimo openai/gpt-4o -c kept\n::echo keep me", cell_id="b1")
    before = state(kernel)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "aimo-magic-conversations", "version": 1, "threads": [{}]}')
    assert "threads[0]" in refused(kernel, f"%aimo load {broken}")
    bad_alias = tmp_path / "bad_alias.json"
    bad_alias.write_text(
        json.dumps(
            {
                "format": "aimo-magic-conversations",
                "version": 1,
                "threads": [],
                "aliases": {"two words": "openai/gpt-4o"},
            }
        )
    )
    assert "not usable" in refused(kernel, f"%aimo load {bad_alias}")
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello")
    assert "not valid JSON" in refused(kernel, f"%aimo load {not_json}")
    assert state(kernel) == before


# Save, restart, load -------------------------------------------------------------


def test_save_restart_load_carries_the_conversation(
    kernel: Kernel, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    ok(kernel, "%%aimo openai/gpt-4o -c trip\n::echo remember the number 41", cell_id="t1")
    ok(kernel, "%%aimo openai/gpt-4o -c trip\n::echo and 42", cell_id="t2")
    ok(kernel, "%%aimo openai/gpt-4o -c aside\n::words 2", cell_id="t0")
    ok(kernel, "%aimo alias trusty anthropic/claude-sonnet-4")
    ok(kernel, "%aimo use trusty")
    path = tmp_path / "chat.json"
    out = ok(kernel, f"%aimo save {path}").stdout
    assert "no API key in it" in out
    text = path.read_text()
    assert "aimo-sk-" not in text and "remember the number 41" in text
    saved = json.loads(text)
    assert saved["aliases"]["trusty"] == "anthropic/claude-sonnet-4"
    assert saved["default_model"] == "anthropic/claude-sonnet-4"

    fresh = start_kernel(emulator)
    try:
        assert state(fresh)["threads"]["threads"] == []
        loaded = ok(fresh, f"%aimo load {path}").stdout
        assert "trip (2 turns)" in loaded and "restored" in loaded
        assert "aside (1 turn)" in loaded, loaded
        restored = state(fresh)
        assert restored["aliases"]["trusty"] == "anthropic/claude-sonnet-4"
        assert restored["default"] == "anthropic/claude-sonnet-4"
        ok(fresh, "%%aimo -c trip\n::echo what were the numbers?", cell_id="t3")
        body = last_body(emulator)
        assert body["model"] == "anthropic/claude-sonnet-4"
        contents = [m["content"] for m in body["messages"]]
        assert contents[0] == "::echo remember the number 41"
        assert contents[2] == "::echo and 42"
        assert contents[-1] == "::echo what were the numbers?"
        assert len(contents) == 5
    finally:
        fresh.close()


# Tab completion ------------------------------------------------------------------


def test_tab_completes_subcommands_models_aliases_and_threads(kernel: Kernel) -> None:
    ok(kernel, "%aimo models")
    ok(kernel, "%aimo alias tabby openai/gpt-4.1")
    ok(kernel, "%%aimo openai/gpt-4o -c tabthread\n::echo t", cell_id="c1")

    assert typed("%aimo us", complete(kernel, "%aimo us")) == ["%aimo usage", "%aimo use"]
    assert "%aimo use openai/gpt-4o-mini" in typed(
        "%aimo use openai/gpt-4o-m", complete(kernel, "%aimo use openai/gpt-4o-m")
    )
    pinned = complete(kernel, f"%aimo use {NEBULA[:5]}")
    assert f"{NEBULA}:openai/gpt-4o" in pinned["matches"]
    assert typed(f"%aimo use {NEBULA[:5]}", pinned)[0].startswith(f"%aimo use {NEBULA}:")
    assert complete(kernel, "%aimo unalias tab")["matches"] == ["tabby"]
    assert "tabby" in complete(kernel, "%aimo use ta")["matches"]
    assert "tabthread" in complete(kernel, "%aimo history tab")["matches"]
    assert complete(kernel, "%aimo reset --a")["matches"] == ["--all"]

    cell = "%%aimo gpt-4.\nhello"
    models = complete(kernel, cell, cursor_pos=len("%%aimo gpt-4."))
    assert "openai/gpt-4.1" in models["matches"]
    assert typed(cell, models)[0].startswith("%%aimo openai/gpt-4.1")
    assert complete(kernel, "%%aimo -c tabt")["matches"] == ["tabthread"]
    assert complete(kernel, "%%aimo --new -c tabthread tab")["matches"] == ["tabby"]
    assert complete(kernel, "%%aimo -f ma")["matches"] == ["markdown", "math"]
    assert complete(kernel, "%%aimo openai/gpt-4o --no-h")["matches"] == ["--no-history"]
