"""Routes, price caps and fallbacks from notebook cells, in a real kernel: what the
emulator received, what the footer says, what the thread keeps, ``%aimo providers``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle, provider_id, start

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-routing-kernel-41c2"
ROUTED = "demo/routed"
FLAKY = "demo/flaky"
SECOND = "demo/second"
PROVIDERS = (
    "akash;prompt=0.1;completion=0.2",
    "nebula;prompt=0.3;completion=0.9",
    "broken;fault=status=503,message=provider down;prompt=0.01;completion=0.01",
    "cutting;fault=disconnect_after=6;prompt=0.02;completion=0.02",
)
SERVED = (f"{ROUTED}=nebula,akash", f"{FLAKY}=broken,cutting,akash", f"{SECOND}=nebula")


def pinned(name: str, model: str = ROUTED) -> str:
    return f"{provider_id(name)}:{model}"


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatorHandle]:
    with start(providers=PROVIDERS, serve=SERVED) as handle:
        yield handle


@pytest.fixture(scope="module")
def kernel(served: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    cache = tmp_path_factory.mktemp("routing-cache")
    running = Kernel(
        env={"AIMO_BASE_URL": served.base_url, "AIMO_API_KEY": KEY, "AIMO_CACHE_DIR": str(cache)}
    )
    try:
        ok(running, "%load_ext aimo_magic")
        yield running
    finally:
        running.close()


@pytest.fixture
def emu(served: EmulatorHandle) -> Iterator[EmulatorHandle]:
    served.clear_requests()
    served.clear_faults()
    yield served
    served.clear_faults()


def ok(kernel: Kernel, code: str) -> CellRun:
    run = kernel.execute(code, timeout=120)
    assert run.status == "ok", (code, run.error, run.stderr)
    return run


def sent_models(emu: EmulatorHandle) -> list[str]:
    return [json.loads(r["body"])["model"] for r in emu.requests]


def part(run: CellRun, output: str) -> str:
    """The final plain text of the outputs a cell marked as ``output`` (answer, footer)."""
    return "".join(
        o["data"].get("text/plain", "")
        for o in run.final_outputs()
        if o.get("metadata", {}).get("aimo", {}).get("output") == output
    )


def metadata(run: CellRun, output: str) -> dict[str, Any]:
    found = [
        o["metadata"]["aimo"]
        for o in run.final_outputs()
        if o.get("metadata", {}).get("aimo", {}).get("output") == output
    ]
    return found[-1]


def test_route_cheapest_pins_the_provider_and_the_footer_says_why(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = ok(kernel, f"%%aimo {ROUTED} --route cheapest --no-history\nhello")
    assert sent_models(emu) == [pinned("akash")]
    footer = part(run, "footer")
    assert "via akash" in footer and "cheapest for this request (≈$0.0" in footer


def test_the_configured_route_is_every_cell_s_and_auto_sends_the_id_as_asked(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, f"%%aimo {ROUTED} --no-history\nhello")
    ok(kernel, "%config AimoMagics.route = 'cheapest'")
    try:
        ok(kernel, f"%%aimo {ROUTED} --no-history\nhello")
        ok(kernel, f"%%aimo {ROUTED} --no-history --route auto\nhello")
    finally:
        ok(kernel, "%config AimoMagics.route = 'auto'")
    assert sent_models(emu) == [ROUTED, pinned("akash"), ROUTED]


def test_max_price_refuses_in_one_line_and_sends_nothing(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = kernel.execute(
        f"%%aimo {ROUTED} --max-price 0.000001 --max-tokens 50\nhello", timeout=120
    )
    assert run.status == "error"
    line = run.error["evalue"] if run.error else ""
    assert "max_price $0.000001: every provider of demo/routed costs more" in line
    assert "Traceback" not in run.stderr + run.stdout
    assert emu.requests == []


def test_fallback_restarts_visibly_names_who_answered_and_the_thread_keeps_it(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    """broken fails, cutting breaks after some text (which the display drops, saying
    why), each after its retries; akash answers; the footer and the thread name akash."""
    run = ok(
        kernel,
        f"%%aimo {FLAKY} --route cheapest --fallback {SECOND} -c fb\n::words 40",
    )
    tries = 1 + 2  # the default max_retries
    assert sent_models(emu) == [pinned("broken", FLAKY)] * tries + [
        pinned("cutting", FLAKY)
    ] * tries + [pinned("akash", FLAKY)]
    notices = [
        m["content"]["data"]["text/plain"]
        for m in run.of_type("display_data", "update_display_data")
        if "↪" in m["content"]["data"].get("text/plain", "")
    ]
    assert any("demo/flaky · broken failed (HTTP 503" in n for n in notices)
    assert any(
        "demo/flaky · cutting failed" in n and "asking demo/flaky · akash" in n for n in notices
    )
    answer = part(run, "answer")
    assert len(answer.split()) == 40  # only akash's answer: cutting's text is gone
    footer = part(run, "footer")
    assert "via akash" in footer and "after demo/flaky · broken failed (HTTP 503" in footer
    assert metadata(run, "footer")["model"] == pinned("akash", FLAKY)
    kept = ok(
        kernel,
        "from aimo_magic.session import current_session\n"
        "turn = current_session().conversations.thread('fb').turns[-1]\n"
        "print(turn.model, turn.provider)",
    )
    assert kept.stdout.split() == [pinned("akash", FLAKY), "akash"]


@pytest.mark.parametrize("stream", ["", " --no-stream"])
def test_a_tool_loop_falls_back_and_its_later_steps_stay_where_it_landed(
    kernel: Kernel, emu: EmulatorHandle, stream: str
) -> None:
    """--fallback with --tools: the first step moves past broken and cutting to akash
    (saying so), and the step after the call goes straight to akash, streamed or not."""
    ok(
        kernel,
        "import aimo_magic\n"
        "@aimo_magic.tool\n"
        "def column_stats(column: str) -> dict:\n"
        "    'Summary statistics of one column.'\n"
        "    return {'column': column, 'mean': 41.5}",
    )
    run = ok(
        kernel,
        f"%%aimo {FLAKY} --route cheapest --fallback {SECOND} --tools column_stats"
        f" --no-history{stream}\nWhat does column_stats say about price?",
    )
    tries = 1 + 2  # the default max_retries
    assert (
        sent_models(emu)
        == [pinned("broken", FLAKY)] * tries
        + [pinned("cutting", FLAKY)] * tries
        + [pinned("akash", FLAKY)] * 2
    )
    notices = [
        m["content"]["data"]["text/plain"]
        for m in run.of_type("display_data", "update_display_data")
        if "↪" in m["content"]["data"].get("text/plain", "")
    ]
    assert any("demo/flaky · broken failed (HTTP 503" in n for n in notices), notices
    assert any("asking demo/flaky · akash" in n for n in notices), notices
    last = json.loads(emu.requests[-1]["body"])["messages"]
    assert last[-1]["role"] == "tool" and "41.5" in last[-1]["content"]
    footer = part(run, "footer")
    assert "via akash" in footer and "1 call in 2 steps" in footer, footer
    assert "after demo/flaky · broken failed (HTTP 503" in footer, footer
    assert metadata(run, "footer")["model"] == pinned("akash", FLAKY)


def test_what_would_fail_anywhere_never_falls_back(kernel: Kernel, emu: EmulatorHandle) -> None:
    emu.queue_faults("status=402")
    run = kernel.execute(f"%%aimo {ROUTED} --route cheapest --fallback {SECOND}\nhello")
    assert run.status == "error"
    assert len(emu.requests) == 1


def test_providers_shows_prices_and_what_was_measured(kernel: Kernel, emu: EmulatorHandle) -> None:
    for _ in range(2):
        ok(kernel, f"%%aimo {pinned('akash')} --no-history\n::words 20")
    emu.queue_faults(*["status=503"] * 3)  # nebula fails after its retries: akash answers
    ok(kernel, f"%%aimo {pinned('nebula')} --no-history --fallback ''\n::words 20")
    run = ok(kernel, f"%aimo providers {ROUTED}")
    text = run.plain()
    assert "Providers of demo/routed" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    # Provider, prompt and completion prices, answers, failures, first token (n s), rate.
    assert rows["akash"][1:3] == ["$0.10", "$0.20"]  # dollars per million tokens
    assert int(rows["akash"][3]) >= 3 and rows["akash"][4] == "0"
    assert rows["nebula"][4] == "1"
    assert rows["akash"][6] == "s"  # a first-token time was measured ("0.01 s")
    assert "--route cheapest → akash" in text
    assert "<table" in run.html() and "akash" in run.html()


def test_each_over_every_provider_spreads_the_rows(kernel: Kernel, emu: EmulatorHandle) -> None:
    emu.reset_provider_counts()
    ok(kernel, "rows = [f'row {n} ::words 2' for n in range(12)]")
    run = ok(kernel, f"%%aimo {ROUTED}@* --each rows -o out --no-cache\n{{}}")
    assert "12 of 12 rows answered" in run.stdout
    counts = emu.provider_counts
    assert counts["akash"].answered + counts["nebula"].answered == 12
    assert counts["akash"].answered and counts["nebula"].answered
    answered = ok(kernel, "print(sum(v is not None for v in out))")
    assert answered.stdout.strip() == "12"
    refused = kernel.execute(f"%%aimo {ROUTED} --each rows --fallback {SECOND}\n{{}}")
    assert refused.status == "error"
    assert "--fallback does not go with --each" in (refused.error or {}).get("evalue", "")
