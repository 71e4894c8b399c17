"""Dollars and the budget in a real kernel against the emulator: footers, ``%aimo usage``,
``%aimo config``, ``%aimo budget``, and no request past the cap from a cell, an
``--each`` batch or a ``--compare`` (counted at the server)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle, provider_id

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-budget-kernel"
DEEPSEEK = f"{provider_id('akash-ml')}:DeepSeek-V3-1"
GPT = "openai/gpt-4o"

HELPERS = """
def _budget(**body):
    import json
    from aimo_magic.core.pricing import maximum_cost
    from aimo_magic.magics.extension import magics_for
    session = magics_for(get_ipython()).session
    basis = session.price_basis
    state = session.budget.state(basis)
    most = None
    if body:
        held = maximum_cost(session.cached_catalogue or [], body).cost
        most = held.amount(basis) if held is not None else None
    return json.dumps({"cap": state.cap, "spent": state.spent, "refused": state.refused,
                       "in_flight": state.requests_in_flight, "most": most,
                       "threads": session.conversations.to_dict()})
"""


@pytest.fixture(scope="module")
def kernel(emulator: EmulatorHandle) -> Iterator[Kernel]:
    running = Kernel(env={"AIMO_BASE_URL": emulator.base_url, "AIMO_API_KEY": KEY})
    try:
        setup = running.execute(f"%load_ext aimo_magic\n%aimo use {DEEPSEEK}\n{HELPERS}")
        assert setup.status == "ok", setup.error or setup.stderr
        yield running
    finally:
        running.close()


@pytest.fixture
def emu(emulator: EmulatorHandle, kernel: Kernel) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()
    kernel.execute("%aimo budget off")


def ok(kernel: Kernel, code: str) -> CellRun:
    run = kernel.execute(code)
    assert run.status == "ok", (code, run.error, run.stderr[-2000:])
    return run


def refused(kernel: Kernel, code: str) -> str:
    """A cell that must end in one line; that line."""
    run = kernel.execute(code)
    assert run.status == "error", (code, run.stdout)
    error = run.error
    assert error is not None and "\n" not in error["evalue"], error
    assert len(error["traceback"]) == 1, error["traceback"]
    return str(error["evalue"])


def budget(kernel: Kernel, prompt: str | None = None, **params: Any) -> dict[str, Any]:
    """The session's budget state; with ``prompt``, the most one request of it could cost."""
    body = ""
    if prompt is not None:
        messages = [{"role": "user", "content": prompt}]
        body = f"model={params.pop('model', DEEPSEEK)!r}, messages={messages!r}, " + ", ".join(
            f"{k}={v!r}" for k, v in params.items()
        )
    return dict(json.loads(ok(kernel, f"print(_budget({body}))").stdout))


# Dollars --------------------------------------------------------------------------------


def test_a_footer_usage_and_config_show_dollars_with_the_basis_named_once(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    run = ok(kernel, f"%%aimo {GPT} --no-history\n::words 12")
    footer = run.final_outputs()[-1]["data"]["text/plain"]
    assert re.search(r"≈\$0\.000\d+", footer), footer  # cents' fractions, not 6132.5
    assert "listed price units" not in footer
    usage = ok(kernel, "%aimo usage").plain()
    total = next(line for line in usage.splitlines() if line.startswith("Total"))
    assert "$" in total
    assert usage.count("listed prices read as USD per 1,000,000 tokens, inferred") == 1
    config = ok(kernel, "%aimo config").plain()
    assert "costs shown in" in config and "USD per 1,000,000 tokens" in config
    assert "AimoMagics.price_unit" in config and "AimoMagics.budget" in config


def test_price_unit_reads_every_cost_anew(kernel: Kernel, emu: EmulatorHandle) -> None:
    ok(kernel, f"%%aimo {DEEPSEEK} --no-history\n::words 8")

    def total() -> str:
        usage = ok(kernel, "%aimo usage").plain()
        return next(line for line in usage.splitlines() if line.startswith("Total")).split()[5]

    per_million = float(total().lstrip("$"))
    try:
        ok(kernel, "%config AimoMagics.price_unit = 'thousand'")
        per_thousand = float(total().lstrip("$").replace(",", ""))
        assert per_thousand == pytest.approx(per_million * 1000, rel=0.05)
        ok(kernel, "%config AimoMagics.price_unit = 'listed'")
        assert not total().startswith("$"), "no dollars: the listed figures"
        bad = kernel.execute("%config AimoMagics.price_unit = 'per hour'")
        assert "price_unit must be one of auto, token" in bad.stdout + bad.stderr + str(bad.error)
    finally:
        ok(kernel, "%config AimoMagics.price_unit = 'auto'")
    assert float(total().lstrip("$")) == per_million


# The budget ------------------------------------------------------------------------------


def test_budget_set_shown_in_usage_and_lifted(kernel: Kernel, emu: EmulatorHandle) -> None:
    said = ok(kernel, "%aimo budget 2.50").stdout
    assert re.search(r"Budget: \$[\d.]+ spent of \$2\.50; \$[\d.]+ left", said), said
    assert "Costs are in US dollars" in said
    assert budget(kernel)["cap"] == 2.5
    assert "2.5" in ok(kernel, "%config AimoMagics.budget").plain()
    usage = ok(kernel, "%aimo usage").plain()
    assert re.search(r"Budget: \$[\d.]+ spent of \$2\.50; \$[\d.]+ left\.", usage), usage
    assert "No budget now" in ok(kernel, "%aimo budget off").stdout
    assert budget(kernel)["cap"] is None
    line = refused(kernel, "%aimo budget lots")
    assert "A budget is an amount of 0 or more, or off" in line
    ok(kernel, "%config AimoMagics.budget = 1.25")
    assert budget(kernel)["cap"] == 1.25


def test_a_cell_past_the_cap_sends_nothing_and_loses_nothing(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, "%aimo budget 0.05")
    ok(kernel, f"%%aimo {GPT} -c capped --max-tokens 20\n::words 5")
    assert len(emu.requests) == 1
    before = budget(kernel)
    line = refused(kernel, f"%%aimo {GPT} -c capped\n::words 5 again")  # up to its context
    assert line.startswith("Not sent: the budget of $0.05 would be passed"), line
    assert "Set max_tokens (a cell's --max-tokens)" in line
    assert len(emu.requests) == 1, "nothing reached the server"
    after = budget(kernel)
    assert after["threads"] == before["threads"], "the answered turn is kept, no new one"
    assert after["refused"] == before["refused"] + 1 and after["spent"] == before["spent"]
    assert "1 refused" in ok(kernel, "%aimo usage").plain()


def test_each_stops_at_the_budget_with_no_row_sent_past_it(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    ok(kernel, "rows = [f'{n:02d} ::words 3' for n in range(30)]")
    state = budget(kernel, "Say 00 ::words 3", max_tokens=20)
    cap = state["spent"] + 6.5 * state["most"]
    ok(kernel, f"%aimo budget {cap!r}")
    run = ok(kernel, "%%aimo --each rows -o got --max-tokens 20 --concurrency 4\nSay {}")
    sent = len(emu.requests)
    assert 6 <= sent < 30, sent
    assert "stopped at the budget" in run.stdout and "run it again to resume" in run.stdout
    after = budget(kernel)
    assert after["spent"] <= cap and after["in_flight"] == 0
    got = ok(kernel, "print(sum(v is not None for v in got))").stdout.strip()
    assert int(got) == sent, "every sent row answered and kept; the rest wait"


def test_a_comparison_past_the_cap_sends_only_what_fits(
    kernel: Kernel, emu: EmulatorHandle
) -> None:
    prompt = "::words 4 both"
    small = budget(kernel, prompt, max_tokens=20)
    large = budget(kernel, prompt, model=GPT, max_tokens=20)
    assert large["most"] > 5 * small["most"]
    ok(kernel, f"%aimo budget {small['spent'] + 3 * small['most']!r}")
    run = kernel.execute(f"%%aimo --compare {DEEPSEEK},{GPT} --max-tokens 20\n{prompt}")
    assert run.status == "ok", run.error
    assert len(emu.requests) == 1
    assert json.loads(emu.requests[0]["body"])["model"] == DEEPSEEK
    assert "Not sent: the budget" in run.plain()
