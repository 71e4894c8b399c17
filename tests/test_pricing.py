"""Prices a person can read: the price unit, inferred from the whole catalogue or set, and
costs in dollars (``core.pricing``); against real listings served on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from fixture_servers import serve_models

from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.client import Client
from aimo_magic.core.pricing import (
    Listed,
    PriceBasis,
    PriceUnitError,
    answer_pricing,
    check_price_unit,
    infer_basis,
    maximum_cost,
    money,
    price_basis,
    price_per_million,
)
from aimo_magic.core.types import Model
from aimo_magic.emulator import EmulatorHandle, provider_id
from aimo_magic.emulator.served_models import DEFAULT_CATALOGUE

KEY = "aimo-sk-v2-test-pricing"
NEBULA_GPT4O = f"{provider_id('nebula-gpu')}:openai/gpt-4o"


def listing(scale: float, *, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The emulator's own catalogue with every token price multiplied by ``scale``:
    the same models, listed per token (1e-6), per thousand (1e-3) or per million (1)."""
    data = []
    for model in DEFAULT_CATALOGUE:
        entry = model.to_aimo()
        for provider in entry["providers"]:
            pricing = provider["pricing"]
            pricing["prompt"] *= scale
            pricing["completion"] *= scale
        data.append(entry)
    return {"data": data + (extra or [])}


def models_of(payload: dict[str, Any]) -> list[Model]:
    return parse_catalogue(payload)


# Inference on several catalogues ------------------------------------------------------


def test_aimo_figures_above_a_thousandth_are_read_per_million_tokens() -> None:
    basis = infer_basis(models_of(listing(1.0)))
    assert (basis.unit, basis.inferred, basis.dollars) == ("million", True, True)
    assert "median" in basis.reason
    assert "USD per 1,000,000 tokens, inferred" in basis.describe()


def test_the_same_catalogue_listed_per_token_or_per_thousand_reads_the_same_dollars() -> None:
    readings = {}
    for scale, unit in ((1e-6, "token"), (1e-3, "thousand"), (1.0, "million")):
        models = models_of(listing(scale))
        basis = infer_basis(models)
        assert basis.unit == unit, scale
        offer = next(o for m in models for o in m.providers if o.id == NEBULA_GPT4O)
        assert offer.pricing is not None
        readings[unit] = (
            basis.per_million(offer.pricing.prompt or 0),
            basis.per_million(offer.pricing.completion or 0),
        )
    for prompt, completion in readings.values():
        assert prompt == pytest.approx(2.5) and completion == pytest.approx(10.0)


def test_one_listed_price_in_another_unit_makes_the_unit_unknown() -> None:
    """Per-million figures with one provider listing per token: no single unit fits."""
    odd = {
        "name": "odd/model",
        "providers": [
            {"id": "Odd1", "name": "odd", "pricing": {"prompt": 3e-7, "completion": 1e-6}}
        ],
        "context_length": 8192,
    }
    basis = infer_basis(models_of(listing(1.0, extra=[odd])))
    assert not basis.dollars and not basis.inferred
    assert "more than one unit fits" in basis.reason
    assert basis.describe().startswith("listed price units: the prices' unit is not known")


def test_a_catalogue_without_prices_above_zero_keeps_listed_units() -> None:
    free = {"data": [{"name": "free/m", "providers": [{"id": "F", "pricing": {"prompt": 0}}]}]}
    assert infer_basis(models_of(free)) == PriceBasis(
        "listed", reason="no model lists a price above zero"
    )
    openai_shape = {"object": "list", "data": [{"id": "gpt-x", "object": "model"}]}
    assert not infer_basis(models_of(openai_shape)).dollars
    assert not price_basis("auto", None).dollars, "no catalogue: nothing to infer from"


def test_a_price_unit_that_is_set_wins_over_inference() -> None:
    models = models_of(listing(1.0))
    assert price_basis("token", models).unit == "token"
    assert price_basis("per thousand", models).unit == "thousand"
    assert price_basis("1M", models).unit == "million"
    assert not price_basis("listed", models).dollars
    assert price_basis("million", models).inferred is False
    with pytest.raises(PriceUnitError, match="price_unit must be one of auto, token"):
        check_price_unit("per hour")


# Dollars ------------------------------------------------------------------------------


def test_money_is_written_in_dollars_or_with_its_listed_units_named() -> None:
    dollars = PriceBasis("million")
    assert money(0.0012, dollars) == "$0.0012"
    assert money(2.5, dollars) == "$2.50"
    assert money(0.6, dollars) == "$0.60"
    assert money(0.000034, dollars) == "$0.000034"
    assert money(1234.5, dollars) == "$1,234.50"
    assert money(0, dollars) == "$0"
    assert money(6132.5, PriceBasis("listed")) == "6,132.50 listed price units"
    assert price_per_million(0.15, dollars) == "$0.15"
    assert price_per_million(2.5e-6, PriceBasis("token")) == "$2.50"
    assert price_per_million(None, dollars) == "not listed"


def test_an_answer_from_gpt_4o_costs_cents_not_thousands() -> None:
    """The issue's example: 1,000 prompt and 500 answer tokens at 2.5 in, 10 out."""
    cost = Listed(1000 * 2.5 + 500 * 10.0)
    assert cost.amount(PriceBasis("listed")) == 7500.0
    assert cost.amount(infer_basis(models_of(listing(1.0)))) == pytest.approx(0.0075)
    with_images = Listed(1000 * 2.5, 2 * 0.003613)
    assert with_images.amount(PriceBasis("million")) == pytest.approx(0.0025 + 0.007226)


def test_an_answer_is_priced_at_the_provider_that_served_it_else_the_dearest() -> None:
    models = models_of(listing(1.0))
    served = answer_pricing(models, "openai/gpt-4o", NEBULA_GPT4O)
    assert served is not None and (served.prompt, served.completion) == (2.5, 10.0)
    unknown_provider = answer_pricing(models, "openai/gpt-4o", "openai/gpt-4o")
    assert unknown_provider is not None, "a routing name's answer errs high, never unknown"
    assert (unknown_provider.prompt, unknown_provider.completion) == (2.75, 11.0)
    assert answer_pricing(models, "nosuch/model", "nosuch/model") is None


def test_the_most_a_request_can_cost_is_bounded_by_max_tokens_else_the_context() -> None:
    models = models_of(listing(1.0))
    body = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x" * 400}]}
    bounded = maximum_cost(models, {**body, "max_tokens": 100})
    assert bounded.cost is not None and not bounded.by_context
    assert bounded.answer_tokens == 100 and bounded.prompt_tokens == 104
    assert bounded.cost.amount(PriceBasis("million")) == pytest.approx(
        (104 * 2.75 + 100 * 11.0) / 1e6
    )
    open_ended = maximum_cost(models, body)
    assert open_ended.by_context and open_ended.answer_tokens == 128_000 - 104
    unpriced = maximum_cost(models, {**body, "model": "nosuch/model"})
    assert unpriced.cost is None and "not in the model list" in unpriced.why


# Against a server -----------------------------------------------------------------------


def test_a_client_reads_a_per_token_catalogue_in_the_same_dollars(emulator: EmulatorHandle) -> None:
    costs = {}
    for scale in (1e-6, 1.0):
        with serve_models(listing(scale)) as server, Client(KEY, base_url=server.base_url) as c:
            c.models()
            result = c.chat("::words 20", model=NEBULA_GPT4O, max_tokens=50)
            cost = c.cost_of(result, {"model": NEBULA_GPT4O, "messages": []})
            assert cost is not None
            costs[scale] = (cost.amount(c.price_basis), result.usage)
    (per_token, usage), (per_million, same_usage) = costs[1e-6], costs[1.0]
    assert usage == same_usage and usage is not None
    expected = (usage.prompt_tokens * 2.5 + usage.completion_tokens * 10.0) / 1e6
    assert per_token == pytest.approx(expected) and per_million == pytest.approx(expected)


def test_price_unit_given_to_a_client_overrides_inference(emulator: EmulatorHandle) -> None:
    with Client(KEY, base_url=emulator.base_url, price_unit="thousand") as c:
        c.models()
        assert c.price_basis == PriceBasis("thousand")
    with pytest.raises(ValueError, match="price_unit must be one of"):
        Client(KEY, base_url=emulator.base_url, price_unit="bananas")
