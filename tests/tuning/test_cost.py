"""The billing formula and the one price rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gemini_qa_tuning.tuning import (
    ModelCatalog,
    default_catalog,
    estimate_training_cost,
    price_per_million_tokens,
    resolve_price,
    tuning_cost_usd,
)


def test_cost_is_tokens_times_epochs_times_price_per_million() -> None:
    assert estimate_training_cost(2_000_000, 3, 8.0) == pytest.approx(48.0)
    assert estimate_training_cost(0, 1, 8.0) == 0.0


@pytest.mark.parametrize(("tokens", "epochs", "price"), [(-1, 1, 1.0), (1, 0, 1.0), (1, 1, -1.0), (1, 1, float("nan"))])
def test_cost_inputs_are_checked(tokens: int, epochs: int, price: float) -> None:
    with pytest.raises(ValueError):
        estimate_training_cost(tokens, epochs, price)


def test_prices_and_cost() -> None:
    assert price_per_million_tokens("gemini-2.5-flash") == 5.0
    assert price_per_million_tokens("publishers/google/models/gemini-2.5-flash-lite") == 1.5
    assert price_per_million_tokens("gemini-2.5-flash-001") == 5.0
    assert price_per_million_tokens("gemini-9") is None
    assert tuning_cost_usd(2_000_000, 3, 5.0) == 30.0
    assert tuning_cost_usd(None, 3, 5.0) is None
    assert tuning_cost_usd(1, 3, None) is None


def test_resolve_price_explicit_else_list_price() -> None:
    assert resolve_price(2.5, "gemini-2.5-flash") == 2.5
    assert resolve_price(0, "gemini-2.5-flash") == 0.0  # free is a price, not "unknown"
    assert resolve_price(None, "gemini-2.5-flash") == 5.0
    assert resolve_price(None, "gemini-2.5-flash-lite-001") == 1.5
    assert resolve_price(None, "gemini-9") is None
    assert resolve_price(None, None) is None
    assert resolve_price(None, "") is None


def test_resolve_price_uses_the_catalog_it_is_given() -> None:
    packaged = default_catalog()
    without_prices = ModelCatalog(
        packaged.default_model,
        tuple(replace(model, price_per_million_training_tokens_usd=None) for model in packaged.models),
        packaged.retired_prefixes,
    )
    assert resolve_price(None, "gemini-2.5-flash", without_prices) is None
    assert resolve_price(7.0, "gemini-2.5-flash", without_prices) == 7.0


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_resolve_price_refuses_impossible_prices(bad: float) -> None:
    with pytest.raises(ValueError, match="price per million training tokens must be"):
        resolve_price(bad, "gemini-2.5-flash")
