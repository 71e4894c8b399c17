"""``%aimo usage``: costs without a listed price are unknown, never free."""

from __future__ import annotations

from aimo_magic.core.types import Usage
from aimo_magic.core.usage import UsageLedger
from aimo_magic.magics.cmd.usage import usage_table


def rows(ledger: UsageLedger) -> dict[str, list[str]]:
    table = usage_table(ledger)
    return {row[0]: list(row[1:]) for row in table.rows}


def test_an_answer_without_a_listed_price_costs_unknown_not_zero() -> None:
    ledger = UsageLedger()
    ledger.record("unlisted/model", Usage(100, 50, 150), None)
    shown = rows(ledger)
    assert shown["unlisted/model"][-1] == "unknown"
    assert shown["Total"][-1] == "unknown"
    assert "0" not in (shown["Total"][-1], shown["unlisted/model"][-1])


def test_a_total_mixing_known_and_unknown_costs_says_so() -> None:
    ledger = UsageLedger()
    ledger.record("priced", Usage(100, 50, 150), 0.0025)
    ledger.record("free", Usage(10, 5, 15), 0.0)
    ledger.record("unlisted", Usage(100, 50, 150), None)
    ledger.record("mixed", Usage(1, 1, 2), 0.5)
    ledger.record("mixed", Usage(1, 1, 2), None)
    shown = rows(ledger)
    assert shown["priced"][-1] == "0.0025"
    assert shown["free"][-1] == "0.0", "a listed price of zero is free"
    assert shown["mixed"][-1] == "0.5 + unknown"
    assert shown["Total"][-1] == "0.5025 + unknown"
    text = usage_table(ledger).to_text()
    assert "2 of 5 answers had no listed price" in text
    assert ledger.totals()["unpriced"] == 2


def test_answers_with_no_usage_reported_are_unknown_too() -> None:
    ledger = UsageLedger()
    ledger.record("m", None, None)
    assert rows(ledger)["m"][-1] == "unknown"


def test_rows_pinned_to_a_provider_are_named_by_model_and_provider() -> None:
    from aimo_magic.core.catalogue import parse_model

    key = "HwxND5Knitkkv1bVmosgsyBbbazWHya9xh3b17rHzLbx"
    unknown = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
    listed = parse_model({"name": "DeepSeek-V3-1", "providers": [{"id": key, "name": "akash-ml"}]})
    assert listed is not None
    ledger = UsageLedger()
    ledger.record(f"{key}:DeepSeek-V3-1", Usage(10, 5, 15), 0.25)
    ledger.record(f"{unknown}:openai/gpt-4o", Usage(10, 5, 15), 0.5)
    ledger.record("llama3:8b", Usage(1, 1, 2), 0.0)
    ledger.record("openai/gpt-4o", Usage(1, 1, 2), 0.0)
    table = usage_table(ledger, [listed])
    names = [row[0] for row in table.rows]
    assert names == [
        "DeepSeek-V3-1 · akash-ml",
        "llama3:8b",
        "openai/gpt-4o",
        "openai/gpt-4o · 9xQe…VFin",
        "Total",
    ]
    text = table.to_text()
    assert f"DeepSeek-V3-1 · akash-ml = {key}:DeepSeek-V3-1" in text, "the id is still there"
    assert f"{unknown}:openai/gpt-4o" in table.to_html()
    assert not any(line.startswith(key) for line in text.splitlines())
