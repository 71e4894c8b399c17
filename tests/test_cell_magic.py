"""``%%aimo`` in a real kernel against the emulator: streaming, history, options, faults."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from kernel_harness import AIMO_THREADS_LEFT, CellRun, Kernel, aimo_kernel

from aimo_magic.emulator import EmulatorHandle
from aimo_magic.emulator.tokens import split_tokens

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-cell-magic-0000"
MODEL = "DeepSeek-V3-1"
STALL_AFTER = 20  # chunks: the role chunk, then 19 tokens arrive before the pause


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle) -> Iterator[Kernel]:
    with aimo_kernel(emulator.base_url, KEY, f"%load_ext aimo_magic\n%aimo use {MODEL}") as running:
        yield running


def echo(run: CellRun) -> dict:
    """The emulator's ``::echo`` answer, read back from the cell's plain-text output."""
    assert run.status == "ok", run.error
    return json.loads(answer_text(run))


def answer_text(run: CellRun) -> str:
    """The answer's text, which long answers spread over several consecutive outputs."""
    return "".join(
        o["data"].get("text/plain", "")
        for o in run.final_outputs()
        if o["metadata"].get("aimo", {}).get("output") == "answer"
    )


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No element a browser would build from this HTML can run script or restyle the page."""
    parser = _Elements()
    parser.feed(html)
    assert parser.found, "there should be some HTML"
    for tag, attrs in parser.found:
        assert tag not in {"script", "iframe", "style", "object", "embed", "form", "meta"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith(("javascript:", "data:")), value
            if name == "style":
                assert "url(" not in (value or "") and "expression" not in (value or "")


def roles_and_texts(facts: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in facts["messages"]]


def one_line_error(run: CellRun) -> str:
    assert run.status == "error"
    assert run.error is not None
    assert len(run.error["traceback"]) == 1, run.error["traceback"]
    return str(run.error["evalue"])


def test_answer_streams_into_one_place_and_ends_with_a_footer(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    # The server holds the answer after 40 chunks until the cell has shown some of it.
    shown_while_held: list[str] = []

    def release_once_text_is_shown(run: CellRun) -> None:
        states = answer_states(run)
        if not shown_while_held and emu.held == 1 and states and states[-1]:
            shown_while_held.append(states[-1])
            emu.release()

    emu.hold()
    run = kernel.execute(
        "%%aimo\nTell me about rivers ::pace 600 ::long 6 ::fault hold_after=40",
        cell_id="stream-1",
        while_running=release_once_text_is_shown,
    )
    assert run.status == "ok", run.error
    updates = run.of_type("update_display_data")
    assert len(updates) >= 3, "the display should update several times before the end"
    assert shown_while_held, "part of the answer was shown while the rest was on its way"
    assert answer_text(run).startswith(shown_while_held[0])
    assert len(shown_while_held[0]) < len(answer_text(run))
    outputs = run.final_outputs()
    *answer, footer = outputs
    html = "".join(o["data"].get("text/html", "") for o in answer)
    plain = "".join(o["data"]["text/plain"] for o in answer)
    assert "<h1>" in html and "<table>" in html and "<pre" in html
    assert plain.startswith("# ") and "Tell me about rivers" in plain.splitlines()[0]
    assert plain.rstrip().endswith("```")
    assert all("text/markdown" in o["data"] for o in answer if o["data"]["text/plain"])
    footer_text = footer["data"]["text/plain"]
    assert MODEL in footer_text and "tokens" in footer_text and "via" in footer_text
    meta = answer[-1]["metadata"]["aimo"]
    assert meta["requested_model"] == MODEL
    assert meta["usage"]["completion_tokens"] > 0
    assert meta["provider"]


def test_history_continues_across_cells_and_threads(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("%aimo reset --all")
    first = kernel.execute("%%aimo\nRemember the word kiwi", cell_id="h-1")
    assert first.status == "ok", first.error
    facts = echo(kernel.execute("%%aimo\n::echo", cell_id="h-2"))
    turns = roles_and_texts(facts)
    assert turns[0] == ("user", "Remember the word kiwi")
    assert turns[1][0] == "assistant" and turns[1][1]
    assert turns[-1] == ("user", "::echo")

    other = echo(kernel.execute("%%aimo -c side\n::echo", cell_id="h-3"))
    assert roles_and_texts(other) == [("user", "::echo")]

    lonely = echo(kernel.execute("%%aimo --no-history\n::echo", cell_id="h-4"))
    assert roles_and_texts(lonely) == [("user", "::echo")]
    after = echo(kernel.execute("%%aimo\n::echo", cell_id="h-5"))
    assert [t for t in roles_and_texts(after) if t[0] == "user"] == [
        ("user", "Remember the word kiwi"),
        ("user", "::echo"),
        ("user", "::echo"),
    ], "--no-history records nothing"

    emu.queue_faults("status=500", "status=500", "status=500")
    one_line_error(kernel.execute("%%aimo --new\n::echo", cell_id="h-6"))
    kept = echo(kernel.execute("%%aimo\n::echo", cell_id="h-7"))
    assert len(kept["messages"]) > 1, "a failed --new leaves the thread as it was"

    fresh = echo(kernel.execute("%%aimo --new\n::echo", cell_id="h-8"))
    assert roles_and_texts(fresh) == [("user", "::echo")]
    after_new = echo(kernel.execute("%%aimo\n::echo", cell_id="h-9"))
    assert [t[0] for t in roles_and_texts(after_new)] == ["user", "assistant", "user"]


def test_rerunning_a_cell_replaces_its_exchange(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("%aimo reset --all")
    for _ in range(3):
        assert kernel.execute("%%aimo\nFirst question", cell_id="r-1").status == "ok"
    kernel.execute("%%aimo\nSecond question", cell_id="r-2")
    rerun_first = echo(kernel.execute("%%aimo\n::echo", cell_id="r-1"))
    assert roles_and_texts(rerun_first) == [("user", "::echo")], "a re-run sees what came before it"
    facts = echo(kernel.execute("%%aimo\n::echo", cell_id="r-3"))
    users = [t[1] for t in roles_and_texts(facts) if t[0] == "user"]
    assert users == ["::echo", "Second question", "::echo"]


def test_history_is_trimmed_to_the_budget_keeping_the_system_prompt(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo reset --all")
    kernel.execute("%%aimo -s 'Answer briefly.'\nOne", cell_id="t-1")
    kernel.execute("%%aimo\nTwo", cell_id="t-2")
    kernel.execute("%%aimo\nThree", cell_id="t-3")
    kernel.execute("%config AimoMagics.history_turns = 1")
    try:
        facts = echo(kernel.execute("%%aimo\n::echo", cell_id="t-4"))
    finally:
        kernel.execute("%config AimoMagics.history_turns = 50")
    turns = roles_and_texts(facts)
    assert turns[0] == ("system", "Answer briefly.")
    assert [t for t in turns if t[0] == "user"] == [("user", "Three"), ("user", "::echo")]


def test_options_reach_the_request(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute(
        "%%aimo --no-history -t 0.3 --max-tokens 900 -p top_p=0.9 -p 'stop=[\"END\"]' "
        '-p mode=fast -p \'response_format={"type": "text"}\'\n::echo',
        cell_id="o-1",
    )
    facts = echo(run)
    body = json.loads(emu.requests[-1]["body"])
    assert body["temperature"] == 0.3 and body["max_tokens"] == 900
    assert body["top_p"] == 0.9 and body["stop"] == ["END"] and body["mode"] == "fast"
    assert body["response_format"] == {"type": "text"}
    assert facts["messages"][-1]["content"] == "::echo"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("-p 'x={broken'", "starts like JSON"),
        ("-p novalue", "KEY=VALUE"),
        ("--bogus", "unrecognized"),
        ("nope/not-a-model", "Unknown model"),
        ("-t hot", "invalid float"),
        ("--insert", "-f code"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(
    kernel: Kernel, emu: EmulatorHandle, line: str, words: str
) -> None:
    before = kernel.execute("%aimo chats").stdout
    run = kernel.execute(f"%%aimo {line}\nhello", cell_id="bad")
    assert run.status == "error"
    message = run.error["evalue"] if run.error else run.stderr
    assert words in message or words in run.stderr, (message, run.stderr)
    assert emu.requests == []
    assert kernel.execute("%aimo chats").stdout == before


@pytest.mark.parametrize("name", ["1bad", "my-var", "class", "a.b", "x[0]"])
def test_an_out_name_code_cannot_reach_is_refused_before_sending(
    kernel: Kernel, emu: EmulatorHandle, name: str
) -> None:
    kernel.execute("rows_for_out = ['a', 'b']")
    for line in (
        f"--no-history -o {name}",
        f"--each rows_for_out -o {name}",
        f"--compare {MODEL},openai/gpt-4o -o {name}",
    ):
        run = kernel.execute(f"%%aimo {line}\nhello {{undefined_for_out}}")
        message = one_line_error(run)
        assert message.startswith(f"-o {name}: "), message
        assert "keyword" in message if name == "class" else "not a Python variable" in message
        assert "e.g. -o answer" in message
    assert emu.requests == []
    assert kernel.execute("%%aimo --no-history -o _ok2\n::words 2").status == "ok"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (
            "--temprature 0.3",
            "unrecognized arguments: --temprature; did you mean --temperature?",
        ),
        ("--no-histroy", "did you mean --no-history?"),
        ("--max_tokens=5", "did you mean --max-tokens?"),
    ],
)
def test_a_mistyped_option_is_one_line_in_our_style_with_a_suggestion(
    kernel: Kernel, emu: EmulatorHandle, line: str, words: str
) -> None:
    run = kernel.execute(f"%%aimo {line}\nhello")
    message = one_line_error(run)
    assert words in message, message
    assert message.startswith("%%aimo: ")
    assert run.error is not None and run.error["ename"] == "CellFailed"
    assert "UsageError" not in run.stderr
    assert emu.requests == []


def test_empty_prompt_and_key_on_line_are_refused(kernel: Kernel, emu: EmulatorHandle) -> None:
    assert "no prompt" in one_line_error(kernel.execute("%%aimo\n   \n"))
    refused = one_line_error(kernel.execute("%%aimo --param key=aimo-sk-v2-oops\nhi"))
    assert "saved in the notebook" in refused and "aimo-sk-v2-oops" not in refused
    in_prompt = one_line_error(kernel.execute("%%aimo\nIs aimo-sk-v2-secretsecret valid?"))
    assert "looks like an AiMo API key" in in_prompt and "secretsecret" not in in_prompt
    assert emu.requests == []


def test_interpolation_keeps_code_and_json_literal(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("name = 'Ada'\nrows = [1, 2, 3]")
    prompt = (
        "Hello {name}, {len(rows)} rows; {{name}} stays;"
        ' json {"a": {"b": 1}}; code def f(): return {undefined_thing}\n::echo'
    )
    facts = echo(kernel.execute(f"%%aimo --no-history\n{prompt}"))
    sent = facts["messages"][-1]["content"]
    assert sent.startswith("Hello Ada, 3 rows; {name} stays;")
    assert '{"a": {"b": 1}}' in sent and "{undefined_thing}" in sent

    raw = echo(kernel.execute("%%aimo --no-history --no-interpolate\n{name} ::echo"))
    assert raw["messages"][-1]["content"] == "{name} ::echo"

    failing = one_line_error(kernel.execute("%%aimo --no-history\n{rows[10]} ::echo"))
    assert "IndexError" in failing and "--no-interpolate" in failing


def test_pasted_code_is_sent_as_written(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("name = 'Alice'\nd = {'a': 1}\ndf = list(range(200))")
    code = (
        "def greet(name):\n"
        '    return f"Hello {name}!"\n\n'
        "print(f\"{d['a']} rows={len(df)}\")\n"
        'print("{} of {name}".format(1, name=name))'
    )
    facts = echo(kernel.execute(f"%%aimo --no-history\nWhy, {{name}}?\n{code}\n::echo"))
    assert facts["messages"][-1]["content"] == f"Why, Alice?\n{code}\n::echo"


def test_the_output_says_what_each_placeholder_became(kernel: Kernel, emu: EmulatorHandle) -> None:
    kernel.execute("%aimo reset --all")
    setup = kernel.execute(
        "import numpy as np, pandas as pd\n"
        "big = pd.DataFrame(np.zeros((200_000, 5)), columns=list('abcde'))\n"
        "who = 'Ada'"
    )
    assert setup.status == "ok", setup.error
    run = kernel.execute("%%aimo\nHi {who}, look: {big} ::echo", cell_id="fill-1")
    assert run.status == "ok", run.error
    first, *rest = run.final_outputs()
    assert first["metadata"]["aimo"]["output"] == "preface", "above the answer"
    plain = first["data"]["text/plain"]
    assert plain.splitlines()[0] == "{who} → str (3 chars)"
    assert "{big} → DataFrame 200,000×5, sent as 10 rows (" in plain
    assert "⚠ {big} was shortened by pandas: the model sees 10 of 200,000 rows" in plain
    assert "<div" in first["data"]["text/html"] and "200,000" in first["data"]["text/html"]
    sent = json.loads(answer_text(run))["messages"][-1]["content"]
    assert sent.startswith("Hi Ada, look: ") and "→" not in sent and "shortened" not in sent
    history = kernel.execute("%aimo history").stdout
    assert "→" not in history and "shortened" not in history
    assert any(o["metadata"]["aimo"].get("output") == "answer" for o in rest)

    plain_prompt = kernel.execute("%%aimo --no-history\n::words 2")
    assert all(
        o["metadata"]["aimo"].get("output") != "preface" for o in plain_prompt.final_outputs()
    )


def test_the_output_says_which_placeholders_were_left_as_written(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = kernel.execute("%%aimo --no-history\nWhat is {undefined_var} or {1/0}? ::echo")
    assert run.status == "ok", run.error
    first = run.final_outputs()[0]
    assert first["metadata"]["aimo"]["output"] == "preface", "above the answer"
    lines = first["data"]["text/plain"].splitlines()
    assert lines[0] == "{undefined_var} left as written: undefined_var is not defined"
    assert lines[1].startswith("{1/0} left as written: it uses none of your variables")
    assert "left as written" in first["data"]["text/html"]
    sent = json.loads(answer_text(run))["messages"][-1]["content"]
    assert sent == "What is {undefined_var} or {1/0}? ::echo", "sent exactly as typed"


def test_a_prompt_far_larger_than_the_context_is_refused_before_sending(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo reset --all\nhuge = 'word ' * 160_000")  # about 200,000 tokens
    alone = one_line_error(kernel.execute(f"%%aimo {MODEL} --no-history\nSummarise {{huge}}"))
    assert alone.startswith("The prompt is about 200,0"), alone
    assert "but DeepSeek-V3-1's context holds 163,840, so nothing was sent" in alone
    assert "{df.head()}" in alone and "a model with a larger context (" in alone
    assert "openai/gpt-4.1 holds 1,047,576" in alone
    assert emu.requests == []

    assert kernel.execute("%%aimo --no-history openai/gpt-4.1\n{huge} ::words 2").status == "ok"

    # History counts too, when a budget the user set lets it go with the prompt.
    kernel.execute("half = 'word ' * 80_000")  # about 100,000 tokens
    first = kernel.execute("%%aimo openai/gpt-4.1\n{half} ::words 2", cell_id="ctx-1")
    assert first.status == "ok", first.error
    kernel.execute("%config AimoMagics.history_tokens = 1_000_000")
    emu.clear_requests()
    try:
        followed = one_line_error(kernel.execute(f"%%aimo {MODEL}\nAnd {{half}}"))
    finally:
        kernel.execute("%config AimoMagics.history_tokens = 0")
    assert followed.startswith("The prompt, with the history that would go with it, is about 2")
    assert emu.requests == []
    kernel.execute("%aimo reset --all\ndel huge, half")


def test_each_refuses_a_row_larger_than_the_context_before_sending(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("notes = ['short', 'word ' * 160_000, 'short too']")
    message = one_line_error(kernel.execute("%%aimo --each notes -o got\nSummarise: {}"))
    assert message.startswith("Row 1's prompt is about 200,0"), message
    assert "DeepSeek-V3-1's context holds 163,840, so nothing was sent" in message
    assert emu.requests == []
    assert (
        kernel.execute("'got' in dir()").of_type("execute_result")[0]["content"]["data"][
            "text/plain"
        ]
        == "False"
    ), "nothing stored under -o"
    kernel.execute("del notes")


def test_a_comparison_checks_the_prompt_against_every_models_context(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("big_text = 'word ' * 160_000")
    line = "%%aimo --compare openai/gpt-4.1,DeepSeek-V3-1,openai/gpt-4o --no-history"
    message = one_line_error(kernel.execute(f"{line}\n{{big_text}}"))
    assert (
        "but the contexts of DeepSeek-V3-1 (163,840) and openai/gpt-4o (128,000) hold fewer, "
        "so nothing was sent" in message
    ), message
    assert "gpt-4.1's" not in message
    assert emu.requests == []
    kernel.execute("del big_text")


def test_formats(kernel: Kernel, emu: EmulatorHandle) -> None:
    as_json = kernel.execute("%%aimo --no-history -f json\nGive me data ::echo")
    assert as_json.status == "ok", as_json.error
    assert "application/json" in as_json.final_outputs()[0]["data"]
    assert json.loads(emu.requests[-1]["body"])["response_format"] == {"type": "json_object"}

    code = kernel.execute("%%aimo --no-history -f code --insert\n::code python", cell_id="f-1")
    assert code.status == "ok", code.error
    payloads = code.reply["content"].get("payload", [])
    inserted = [p for p in payloads if p.get("source") == "set_next_input"]
    assert inserted and "```" not in inserted[0]["text"] and inserted[0]["text"].strip()
    shown = code.final_outputs()[0]["data"]
    assert "```" not in shown["text/plain"] and "<pre" in shown["text/html"]

    text = kernel.execute("%%aimo --no-history -f text\nTell me about rivers")
    assert "<h1>" not in text.html() and "# Tell me about rivers" in text.plain()

    math = kernel.execute("%%aimo --no-history -f math\n::words 3")
    assert "text/latex" in math.final_outputs()[0]["data"]

    html = kernel.execute("%%aimo --no-history -f html\n::hostile")
    assert html.status == "ok", html.error
    assert_inert(html.html())


def test_json_out_stores_the_parsed_object(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute("%%aimo --no-history -f json -o facts\nGive me data ::echo")
    assert run.status == "ok", run.error
    check = kernel.execute("print(type(facts).__name__, sorted(facts)[:2])")
    assert check.stdout.startswith("dict ["), check.stdout


def test_code_insert_takes_the_block_in_the_kernels_language(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    """The emulator's rich answers hold bash, python, javascript and sql blocks."""
    for topic in ("rivers", "tides", "maps", "bread", "knots", "owls"):
        answer = kernel.execute(f"%%aimo --no-history -f text\nTell me about {topic}").plain()
        first = re.search(r"^```(\w+)", answer, re.MULTILINE)
        if first and first.group(1) != "python":
            break
    else:
        pytest.fail("no emulator answer starts with a non-Python block")
    python_block = re.search(r"^```python\n(.*?)\n```", answer, re.MULTILINE | re.DOTALL)
    assert python_block is not None
    run = kernel.execute(f"%%aimo --no-history -f code --insert\nTell me about {topic}")
    assert run.status == "ok", run.error
    payloads = run.reply["content"].get("payload", [])
    (inserted,) = [p["text"] for p in payloads if p.get("source") == "set_next_input"]
    assert inserted == python_block.group(1)
    assert run.final_outputs()[0]["data"]["text/plain"] == inserted, "shown = inserted"


def test_out_variable_and_no_stream(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute("%%aimo --no-history --no-stream -o answer\n::words 5")
    assert run.status == "ok", run.error
    check = kernel.execute("print(len(answer.split()))")
    assert check.stdout.strip() == "5"
    body = json.loads(emu.requests[-1]["body"])
    assert body["stream"] is False


@pytest.mark.parametrize("backend", ["nh3", "justhtml"])
def test_hostile_html_is_inert(kernel: Kernel, emu: EmulatorHandle, backend: str) -> None:
    """On nh3 and on justhtml (Pyodide's sanitiser, forced here in the kernel)."""
    use = f"from aimo_magic.rendering import sanitize; sanitize.use_backend({backend!r}).name"
    assert kernel.execute(use).plain().strip() == repr(backend)
    try:
        assert f"HTML sanitiser: {backend} " in kernel.execute("%aimo version").stdout
        for options in ("", " -f html"):
            run = kernel.execute(f"%%aimo --no-history{options}\n::hostile")
            assert run.status == "ok", run.error
            html = run.html()
            assert_inert(html)
            assert "&lt;script&gt;" in html or options, "the hostile text stays visible, as text"
    finally:
        kernel.execute("sanitize.use_backend(None)")


def test_server_errors_are_one_line_and_leave_history_alone(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo reset --all")
    kernel.execute("%%aimo\nKeep me", cell_id="e-1")
    before = kernel.execute("%aimo chats").stdout
    emu.queue_faults("status=402;message=Insufficient balance for estimated cost: 0.001 USDC")
    message = one_line_error(kernel.execute("%%aimo\nThis fails", cell_id="e-2"))
    assert "Insufficient balance" in message and "HTTP 402" in message and "Top up" in message
    assert kernel.execute("%aimo chats").stdout == before
    assert KEY not in message
    emu.clear_requests()
    explained = kernel.execute("%aimo explain")
    assert (
        "came from %%aimo itself" in explained.stdout and "Insufficient balance" in explained.stdout
    )
    assert emu.requests == [], "an aimo error is not sent to a model to be explained"


def test_a_broken_stream_resets_the_display_and_says_it_retries(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    prompt = "%%aimo --no-history\nTell me about rivers ::pace 2000"
    whole = answer_states(kernel.execute(prompt))[-1]
    emu.queue_faults("disconnect_after=40")
    run = kernel.execute(prompt)
    assert run.status == "ok", run.error
    shown = [
        m["content"]["data"].get("text/plain", "")
        for m in run.of_type("display_data", "update_display_data")
    ]
    assert any("retrying" in text for text in shown)
    assert run.plain().startswith("# Tell me about rivers")
    assert "retrying" not in run.plain()
    assert answer_states(run)[-1] == whole, "the answer starts over: shown once, not twice"


def test_retries_running_out_keep_the_partial_text(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute("%%aimo --no-history\nTell me about rivers ::fault disconnect_after=30")
    message = one_line_error(run)
    assert "cut off" in message or "broke off" in message
    assert "Tell me about rivers" in run.plain()


def test_a_finished_stream_without_done_is_one_paid_request_noted_under_debug(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    before = len(emu.requests)
    quiet = kernel.execute("%%aimo --no-history\nTides ::fault eof_no_done")
    assert quiet.status == "ok", quiet.error
    assert "accepted as complete" not in quiet.plain()
    loud = kernel.execute("%%aimo --no-history --debug\nTides again ::fault eof_no_done")
    assert loud.status == "ok", loud.error
    assert "accepted as complete" in loud.plain()
    assert len(emu.requests) - before == 2  # neither answer was asked for twice


def test_debug_shows_the_full_traceback(kernel: Kernel, emu: EmulatorHandle) -> None:
    run = kernel.execute("%%aimo --no-history --debug\nx ::fault status=400;message=bad thing")
    assert run.status == "error"
    assert run.error is not None and len(run.error["traceback"]) > 1
    assert run.error["ename"] == "InvalidRequestError"


def test_interrupting_keeps_the_partial_answer_and_the_next_cell_works(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    kernel.execute("%aimo reset --all")

    def all_that_came_is_shown_and_the_rest_held(run: CellRun) -> bool:
        states = answer_states(run)
        return emu.held == 1 and bool(states) and len(split_tokens(states[-1])) == 39

    emu.hold()  # the answer stops after 40 chunks (39 tokens) until the stop button is pressed
    run = kernel.execute(
        "%%aimo\nTell me about rivers ::long 40 ::fault hold_after=40",
        cell_id="i-1",
        interrupt_when=all_that_came_is_shown_and_the_rest_held,
        timeout=60,
    )
    emu.release()
    assert run.status == "error"
    assert run.error is not None and len(run.error["traceback"]) == 1
    assert "Interrupted" in run.error["traceback"][0]
    plain = run.plain()
    assert plain.startswith("# A long answer about Tell me about rivers")
    assert "interrupted" in plain.lower()
    history = kernel.execute("%aimo history")
    assert "interrupted" in history.stdout.lower() or "partial" in history.stdout.lower()
    after = kernel.execute("%%aimo --no-history\n::words 3")
    assert after.status == "ok", after.error


def test_no_key_says_how_to_provide_one(emulator: EmulatorHandle) -> None:
    bare = Kernel(env={"AIMO_BASE_URL": emulator.base_url})
    try:
        bare.execute("%load_ext aimo_magic")
        message = one_line_error(bare.execute(f"%%aimo {MODEL}\nhello"))
        assert "%aimo login" in message and "AIMO_API_KEY" in message
        listing = bare.execute("%aimo models deepseek")
        assert listing.status == "ok", listing.error
        assert MODEL in listing.plain(), "the catalogue needs no key"
    finally:
        bare.close()


# Held-back text ----------------------------------------------------------------------
def answer_states(run: CellRun) -> list[str]:
    """Every text the answer's output showed, in the order the frontend was sent them."""
    states = []
    for message in run.of_type("display_data", "update_display_data"):
        content = message["content"]
        if content["metadata"].get("aimo", {}).get("output") == "answer":
            states.append(content["data"]["text/plain"])
    return states


def test_a_pause_mid_answer_shows_the_held_text_before_the_answer_resumes(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    """The first tokens come at once, then the server holds the rest: the tokens the render
    rate held back must be shown, from the timer thread and in this cell, before it resumes.
    The server lets the answer go on only once they are on screen, so nothing is timed."""

    def resume_once_all_is_shown(run: CellRun) -> None:
        states = answer_states(run)
        if emu.held == 1 and states and len(split_tokens(states[-1])) == STALL_AFTER - 1:
            emu.release()

    emu.hold()
    run = kernel.execute(
        f"%%aimo --no-history\n::words 80 ::pace 0 ::fault hold_after={STALL_AFTER}",
        while_running=resume_once_all_is_shown,
    )
    assert run.status == "ok", run.error or run.stderr
    states = answer_states(run)
    final = states[-1]
    assert len(final.split()) == 80, "always a final render of the whole answer"
    before_pause = "".join(split_tokens(final)[: STALL_AFTER - 1])
    assert before_pause in states, (
        f"what arrived before the pause was never shown on its own: {[s[-20:] for s in states]}"
    )
    shown_at = states.index(before_pause)
    assert all(before_pause.startswith(s) for s in states[:shown_at])
    assert shown_at < len(states) - 1, "the answer resumed after the pause"

    # No timer outlives the answer: once the package's threads have ended, nothing more
    # was shown, neither in this cell nor in the one before.
    later = kernel.execute(AIMO_THREADS_LEFT)
    assert later.stdout.strip() == "0"
    assert later.of_type("display_data", "update_display_data") == []
    displays = ("display_data", "update_display_data", "clear_output")
    assert [m for m in later.others if m["msg_type"] in displays] == []


def test_a_headless_nbclient_run_saves_the_final_render(
    emulator: EmulatorHandle, tmp_path, monkeypatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("AIMO_BASE_URL", emulator.base_url)
    monkeypatch.setenv("AIMO_API_KEY", KEY)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext aimo_magic"),
        nbformat.v4.new_code_cell(f"%%aimo {MODEL}\nTell me about rivers ::pace 2000"),
        nbformat.v4.new_code_cell(f"%%aimo {MODEL}\n::echo"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    path = tmp_path / "run.ipynb"
    nbformat.write(notebook, path)
    saved = nbformat.read(path, as_version=4)
    outputs = saved.cells[1].outputs
    answer = "".join(o.data.get("text/plain", "") for o in outputs[:-1])
    assert answer.startswith("# Tell me about rivers") and answer.rstrip().endswith("```")
    html = "".join(o.data.get("text/html", "") for o in outputs[:-1])
    assert "<table>" in html and "<h1>" in html
    assert "tokens" in outputs[-1].data["text/plain"]
    echoed = json.loads("".join(o.data.get("text/plain", "") for o in saved.cells[2].outputs[:-1]))
    assert echoed["message_count"] == 3, "the second cell continued the conversation"
    assert KEY not in path.read_text()


def test_terminal_ipython_streams_plain_text(emulator: EmulatorHandle) -> None:
    import subprocess
    import sys

    code = (
        "get_ipython().run_line_magic('load_ext', 'aimo_magic')\n"
        f"get_ipython().run_cell_magic('aimo', '{MODEL}', '::words 12')\n"
        "who = 'Ada'\n"
        f"get_ipython().run_cell_magic('aimo', '{MODEL}', 'Hi {{who}} ::words 3')\n"
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
    assert "<" not in done.stdout, "no HTML in a terminal"
    lines = done.stdout.strip().splitlines()
    assert len(lines[0].split()) == 12
    assert "tokens" in done.stdout
    filled = lines.index("{who} → str (3 chars)")
    assert len(lines[filled + 1].split()) == 3, "the note is a plain line above the answer"
