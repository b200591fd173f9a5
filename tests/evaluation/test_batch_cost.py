"""Evaluation cost: tokens × list price, batch at half the online price."""

from __future__ import annotations

import pytest

from gemini_qa_tuning.evaluation.cost import (
    BATCH_DISCOUNT,
    EvaluationCost,
    InferencePrice,
    estimate_evaluation_cost,
    inference_price,
)


def test_batch_costs_half_the_online_price() -> None:
    cost = estimate_evaluation_cost(
        mode="batch",
        models=2,
        questions=10_000,
        input_tokens_per_model=2_000_000,
        output_tokens_per_answer=64,
        price=InferencePrice(0.30, 2.50, "test"),
    )
    # 4 M input tokens at $0.30/M + 2 × 10,000 × 64 output tokens at $2.50/M
    assert cost.online_usd == pytest.approx(4 * 0.30 + 1.28 * 2.50)
    assert cost.batch_usd == pytest.approx(cost.online_usd * (1 - BATCH_DISCOUNT)) and BATCH_DISCOUNT == 0.5
    assert cost.paid_usd == cost.batch_usd
    assert EvaluationCost.from_json(cost.to_json()) == cost
    assert "online $4.4000, batch $2.2000" in cost.describe()


def test_a_model_without_a_list_price_has_unknown_costs_but_counted_tokens() -> None:
    cost = estimate_evaluation_cost(
        mode="online", models=1, questions=3, input_tokens_per_model=30, output_tokens_per_answer=10, price=None
    )
    assert (cost.online_usd, cost.batch_usd, cost.input_tokens, cost.output_tokens) == (None, None, 30, 30)
    assert "unknown" in cost.describe()


def test_tuned_and_publisher_names_find_the_base_price() -> None:
    assert inference_price("gemini-3.5-flash-lite") == inference_price("publishers/google/models/gemini-3.5-flash-lite")
    assert inference_price("gemini-no-such") is None
