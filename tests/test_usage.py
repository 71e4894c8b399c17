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
