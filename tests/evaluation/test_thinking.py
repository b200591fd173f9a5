"""The evaluation's thinking per model: off where allowed, else the minimum; overrides; the output-cap rule."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from gemini_qa_tuning.evaluation import (
    EvaluationSettings,
    ThinkingChoice,
    ThinkingSettingError,
    choose_thinking,
    thinking_for_model,
)
from gemini_qa_tuning.tuning.catalog import ModelCatalog, ThinkingBehaviour, load_catalog

LEVELS = ThinkingBehaviour(
    default_on=True,
    can_disable=False,
    min_budget=None,
    max_budget=24576,
    levels=("MINIMAL", "LOW", "MEDIUM", "HIGH"),
    default_level="MINIMAL",
    expected_level_tokens=MappingProxyType({"MINIMAL": 256, "LOW": 1024, "MEDIUM": 4096, "HIGH": 16384}),
)
SWITCHABLE = ThinkingBehaviour(default_on=True, can_disable=True, min_budget=1, max_budget=24576)
ALWAYS_ON_BUDGET = ThinkingBehaviour(default_on=True, can_disable=False, min_budget=128, max_budget=32768)


def test_auto_turns_thinking_off_where_the_model_allows_it() -> None:
    choice = choose_thinking("gemini-2.5-flash", SWITCHABLE)
    assert (choice.level, choice.budget, choice.reserved_tokens) == (None, 0, 0)
    assert "can turn thinking off" in choice.reason


def test_auto_takes_the_lowest_level_of_a_level_based_model_and_reserves_its_expected_tokens() -> None:
    choice = choose_thinking("gemini-3.5-flash", LEVELS, "auto")
    assert (choice.level, choice.budget, choice.reserved_tokens) == ("MINIMAL", None, 256)
    assert choice.output_cap(64) == 64 + 256


def test_auto_takes_the_smallest_budget_of_a_budget_model_that_cannot_turn_thinking_off() -> None:
    choice = choose_thinking("gemini-2.5-pro", ALWAYS_ON_BUDGET, None)
    assert (choice.level, choice.budget, choice.reserved_tokens) == (None, 128, 128)
    assert choice.output_cap(64) == 192


def test_a_model_that_does_not_think_gets_no_thinking_configuration() -> None:
    choice = choose_thinking("gemini-2.0-flash-001", None, "")
    assert (choice.level, choice.budget, choice.reserved_tokens) == (None, None, 0)
    with pytest.raises(ThinkingSettingError, match="does not think"):
        choose_thinking("gemini-2.0-flash-001", None, "LOW")


@pytest.mark.parametrize(
    ("override", "expected"),
    [("low", ("LOW", None, 1024)), (" HIGH ", ("HIGH", None, 16384))],
)
def test_a_level_override_is_sent_with_its_expected_tokens(override: str, expected: tuple[Any, ...]) -> None:
    choice = choose_thinking("gemini-3.5-flash", LEVELS, override)
    assert (choice.level, choice.budget, choice.reserved_tokens) == expected


def test_a_budget_override_reserves_the_budget() -> None:
    assert choose_thinking("gemini-2.5-flash", SWITCHABLE, "512").budget == 512
    assert choose_thinking("gemini-2.5-flash", SWITCHABLE, "512").reserved_tokens == 512
    assert choose_thinking("gemini-2.5-flash", SWITCHABLE, 0).budget == 0


@pytest.mark.parametrize(
    ("thinking", "override", "message"),
    [
        (LEVELS, "0", r"cannot turn thinking off \(Vertex answers 400 to a zero budget\); use its minimum 'MINIMAL'"),
        (ALWAYS_ON_BUDGET, "0", r"use its minimum 128"),
        (ALWAYS_ON_BUDGET, "64", r"Thinking budget 64 is out of range for m: use 128..32768 or 'auto'"),
        (SWITCHABLE, "99999", r"out of range for m: use 1..24576, 0 \(off\)"),
        (SWITCHABLE, "LOW", r"does not accept thinking_level LOW; use a budget in tokens"),
        (SWITCHABLE, "-1", r"dynamic budget \(-1\) would leave the output cap unbounded"),
        (LEVELS, "none", r"Unknown thinking setting 'none': use 'auto', one of \['MINIMAL'"),
    ],
)
def test_an_override_the_model_refuses_says_what_to_use(
    thinking: ThinkingBehaviour, override: str, message: str
) -> None:
    with pytest.raises(ThinkingSettingError, match=message):
        choose_thinking("m", thinking, override)


def a_catalog(tmp_path: Path) -> ModelCatalog:
    """The packaged catalog plus a level-based model, written as a catalog file (the override path)."""
    data = load_catalog().to_json()
    models = data["models"]
    assert isinstance(models, list)
    entry = dict(load_catalog().models[0].to_json(), name="gemini-test-levels", thinking=LEVELS.to_json())
    models.append(entry)
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_catalog(path)


def test_thinking_for_model_reads_the_catalog_facts(tmp_path: Path) -> None:
    catalog = a_catalog(tmp_path)
    choice = thinking_for_model("publishers/google/models/gemini-test-levels", "auto", catalog)
    assert (choice.level, choice.reserved_tokens) == ("MINIMAL", 256)
    flash = thinking_for_model("gemini-2.5-flash", None, catalog)
    assert (flash.budget, flash.reserved_tokens) == (0, 0)


def test_a_model_the_catalog_does_not_know_keeps_its_default_or_takes_a_budget(tmp_path: Path) -> None:
    catalog = a_catalog(tmp_path)
    auto = thinking_for_model("gemini-7-unknown", "auto", catalog)
    assert (auto.level, auto.budget, auto.reserved_tokens) == (None, None, 0)
    assert "not in the model catalog" in auto.reason
    assert thinking_for_model("gemini-7-unknown", "300", catalog).reserved_tokens == 300
    with pytest.raises(ThinkingSettingError, match="set a budget in tokens instead"):
        thinking_for_model("gemini-7-unknown", "MINIMAL", catalog)


def test_the_request_cap_is_the_answer_cap_plus_the_reserve() -> None:
    choice = ThinkingChoice(level="LOW", budget=None, reserved_tokens=1024, reason="test")
    assert EvaluationSettings(max_output_tokens=64, thinking=choice).output_cap == 1088
    assert EvaluationSettings(max_output_tokens=64).output_cap == 64
    with pytest.raises(ValueError, match="not both"):
        ThinkingChoice(level="LOW", budget=5, reserved_tokens=0, reason="test")
    with pytest.raises(ValueError, match="empty_share_limit must lie in"):
        EvaluationSettings(empty_share_limit=1.5)


def test_a_level_without_expected_tokens_in_the_catalog_reserves_the_fallback() -> None:
    from dataclasses import replace

    from gemini_qa_tuning.evaluation.thinking import FALLBACK_LEVEL_TOKENS

    bare = replace(LEVELS, expected_level_tokens=MappingProxyType({}))
    assert choose_thinking("m", bare).reserved_tokens == FALLBACK_LEVEL_TOKENS["MINIMAL"]
    assert choose_thinking("m", bare, "HIGH").reserved_tokens == FALLBACK_LEVEL_TOKENS["HIGH"]
